"""Materialise a pod's volumes as host folders; the shim bind-mounts them at their mountPaths."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from localkube.kubeclient import ApiError, KubeClient

from .fieldpaths import field_value


class VolumeNotReady(Exception):
    """A referenced ConfigMap, Secret or claim does not exist (yet): the kubelet retries."""


def _write_items(folder: Path, data: dict[str, bytes], items: list[dict[str, Any]] | None, mode: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [(i["key"], i["path"], i.get("mode", mode)) for i in items] if items else [(k, k, mode) for k in data]
    for key, rel, file_mode in chosen:
        if key not in data:
            raise VolumeNotReady(f"key {key!r} not found")
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key])
        path.chmod(file_mode)


def _configmap_data(client: KubeClient, ns: str, name: str, optional: bool) -> dict[str, bytes] | None:
    cm = client.get_or_none(f"/api/v1/namespaces/{ns}/configmaps/{name}")
    if cm is None:
        if optional:
            return None
        raise VolumeNotReady(f'configmap "{name}" not found')
    data = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return data


def _secret_data(client: KubeClient, ns: str, name: str, optional: bool) -> dict[str, bytes] | None:
    secret = client.get_or_none(f"/api/v1/namespaces/{ns}/secrets/{name}")
    if secret is None:
        if optional:
            return None
        raise VolumeNotReady(f'secret "{name}" not found')
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def _token(client: KubeClient, pod: dict[str, Any], audience: str | None, seconds: int) -> bytes:
    meta = pod["metadata"]
    sa = pod["spec"].get("serviceAccountName") or "default"
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": [audience] if audience else [],
            "expirationSeconds": seconds,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": meta["name"], "uid": meta["uid"]},
        },
    }
    try:
        result = client.request("POST", f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{sa}/token", body)
    except ApiError as exc:
        if exc.status == 404:
            raise VolumeNotReady(f'serviceaccount "{sa}" not found') from exc
        raise
    return str(result["status"]["token"]).encode()


def _projected(client: KubeClient, pod: dict[str, Any], folder: Path, spec: dict[str, Any]) -> None:
    ns = pod["metadata"]["namespace"]
    mode = spec.get("defaultMode", 0o644)
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, bytes] | None
    for source in spec.get("sources", []):
        if "serviceAccountToken" in source:
            tok = source["serviceAccountToken"]
            data = {"token": _token(client, pod, tok.get("audience"), tok.get("expirationSeconds", 3607))}
            _write_items(folder, data, [{"key": "token", "path": tok["path"]}], 0o600)
        elif "configMap" in source:
            ref = source["configMap"]
            data = _configmap_data(client, ns, ref["name"], ref.get("optional", False))
            if data is not None:
                _write_items(folder, data, ref.get("items"), mode)
        elif "secret" in source:
            ref = source["secret"]
            data = _secret_data(client, ns, ref["name"], ref.get("optional", False))
            if data is not None:
                _write_items(folder, data, ref.get("items"), mode)
        elif "downwardAPI" in source:
            _downward(pod, folder, source["downwardAPI"].get("items", []), mode)


def _downward(pod: dict[str, Any], folder: Path, items: list[dict[str, Any]], mode: int) -> None:
    data: dict[str, bytes] = {}
    chosen = []
    for item in items:
        if "fieldRef" in item:
            data[item["path"]] = field_value(pod, item["fieldRef"]["fieldPath"]).encode()
            chosen.append({"key": item["path"], "path": item["path"], "mode": item.get("mode", mode)})
    _write_items(folder, data, chosen, mode)


def _claim_path(client: KubeClient, ns: str, claim: str) -> Path:
    pvc = client.get_or_none(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
    if pvc is None:
        raise VolumeNotReady(f'persistentvolumeclaim "{claim}" not found')
    volume = (pvc.get("spec") or {}).get("volumeName")
    if not volume or (pvc.get("status") or {}).get("phase") != "Bound":
        raise VolumeNotReady(f'persistentvolumeclaim "{claim}" is not bound yet')
    pv = client.get(f"/api/v1/persistentvolumes/{volume}")
    source = pv["spec"].get("hostPath") or pv["spec"].get("local")
    if not source:
        raise VolumeNotReady(f"persistentvolume {volume} is neither hostPath nor local; this node cannot mount it")
    path = Path(source["path"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare(client: KubeClient, pod: dict[str, Any], pod_dir: Path) -> dict[str, Path]:
    """Return volume name -> host folder for every volume of the pod."""
    ns = pod["metadata"]["namespace"]
    paths: dict[str, Path] = {}
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        folder = pod_dir / "volumes" / name
        if "emptyDir" in volume:
            folder.mkdir(parents=True, exist_ok=True)
        elif "configMap" in volume:
            ref = volume["configMap"]
            data = _configmap_data(client, ns, ref["name"], ref.get("optional", False))
            _write_items(folder, data or {}, ref.get("items") if data else None, ref.get("defaultMode", 0o644))
        elif "secret" in volume:
            ref = volume["secret"]
            data = _secret_data(client, ns, ref["secretName"], ref.get("optional", False))
            _write_items(folder, data or {}, ref.get("items") if data else None, ref.get("defaultMode", 0o644))
        elif "projected" in volume:
            _projected(client, pod, folder, volume["projected"])
        elif "downwardAPI" in volume:
            spec = volume["downwardAPI"]
            _downward(pod, folder, spec.get("items", []), spec.get("defaultMode", 0o644))
        elif "persistentVolumeClaim" in volume:
            folder = _claim_path(client, ns, volume["persistentVolumeClaim"]["claimName"])
        elif "hostPath" in volume:
            folder = Path(volume["hostPath"]["path"])
            if volume["hostPath"].get("type") in ("DirectoryOrCreate", None, ""):
                folder.mkdir(parents=True, exist_ok=True)
        else:
            raise VolumeNotReady(
                f"volume {name!r}: this node supports emptyDir, configMap, secret, projected, "
                "downwardAPI, persistentVolumeClaim and hostPath volumes"
            )
        paths[name] = folder
    return paths
