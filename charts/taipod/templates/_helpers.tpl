{{/*
The chart name, or nameOverride.
*/}}
{{- define "taipod.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name when it already contains the chart
name, else "<release>-<chart>". At most 63 characters (a DNS label).
*/}}
{{- define "taipod.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "taipod.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the release.
*/}}
{{- define "taipod.labels" -}}
helm.sh/chart: {{ include "taipod.chart" . }}
{{ include "taipod.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: taipod
{{- end }}

{{/*
Labels that select the operator pod.
*/}}
{{- define "taipod.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taipod.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The operator's ServiceAccount name.
*/}}
{{- define "taipod.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taipod.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}: the tag defaults to the chart's appVersion; a digest pins it.
*/}}
{{- define "taipod.image" -}}
{{- $ref := printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- if .image.digest }}
{{- printf "%s@%s" $ref .image.digest }}
{{- else }}
{{- $ref }}
{{- end }}
{{- end }}

{{/*
The served namespaces, comma-separated (TAIPOD_NAMESPACES); empty in cluster-wide mode.
*/}}
{{- define "taipod.namespaces" -}}
{{- join "," .Values.watch.namespaces }}
{{- end }}

{{/*
The fsspec root URL of the data (TAIPOD_STORAGE_URL).
*/}}
{{- define "taipod.storageUrl" -}}
{{- if eq .Values.storage.type "s3" }}
{{- .Values.storage.s3.url }}
{{- else if eq .Values.storage.type "objectStore" }}
{{- printf "s3://%s/data" .Values.storage.objectStore.bucket }}
{{- else }}
{{- print "file:///var/lib/taipod/data" }}
{{- end }}
{{- end }}

{{- define "taipod.objectStoreName" -}}
{{- printf "%s-objectstore" (include "taipod.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- /* The S3 endpoint the operator and task pods use. */}}
{{- define "taipod.storageEndpoint" -}}
{{- $s := .Values.storage }}
{{- if eq $s.type "s3" }}
{{- $s.s3.endpoint }}
{{- else if eq $s.type "objectStore" }}
{{- $s.objectStore.endpoint | default (printf "http://%s.%s.svc:%d" (include "taipod.objectStoreName" .) .Release.Namespace (int $s.objectStore.port)) }}
{{- end }}
{{- end }}

{{- /* The Secret (release namespace) with the store's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */}}
{{- define "taipod.storageCredentials" -}}
{{- if eq .Values.storage.type "s3" }}
{{- .Values.storage.s3.secretName }}
{{- else if eq .Values.storage.type "objectStore" }}
{{- include "taipod.objectStoreName" . }}
{{- end }}
{{- end }}

{{/*
Labels that select the job selector page's pod (never the operator's: another name).
*/}}
{{- define "taipod.uiSelectorLabels" -}}
app.kubernetes.io/name: {{ include "taipod.name" . }}-ui
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
