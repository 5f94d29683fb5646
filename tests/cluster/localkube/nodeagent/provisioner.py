"""A default StorageClass whose claims become hostPath volumes under the node's folder.

Without a provisioner a PersistentVolumeClaim stays Pending and pods that use it are never
scheduled. This one creates a hostPath PersistentVolume for each claim of its class (the
PV controller in kube-controller-manager then binds them) and deletes the volume and its
folder once the claim is gone.

As a real node-local volume, a ReadWriteOnce (or ReadWriteOncePod) volume is pinned to the
provisioning node by node affinity, so the scheduler keeps pods of other nodes off it
("volume node affinity conflict"). A ReadWriteMany one is not: every node agent runs on the
same machine and sees the folder, as every node of a real cluster reaches a shared file system.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from localkube.kubeclient import ApiError, KubeClient

log = logging.getLogger("localkube.provisioner")

CLASS_NAME = "standard"
PROVISIONER = "localkube.taipod.io/hostpath"


def ensure_storage_class(client: KubeClient) -> None:
    body = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": CLASS_NAME, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }
    try:
        client.request("POST", "/apis/storage.k8s.io/v1/storageclasses", body)
    except ApiError as exc:
        if exc.status != 409:
            raise


def _provision(client: KubeClient, pvc: dict[str, Any], root: Path, node: str) -> None:
    meta, spec = pvc["metadata"], pvc.get("spec") or {}
    if spec.get("volumeName") or spec.get("storageClassName", CLASS_NAME) != CLASS_NAME:
        return
    name = f"pvc-{meta['uid']}"
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)  # any pod user may write, as with a fresh volume
    modes = spec.get("accessModes") or ["ReadWriteOnce"]
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")},
            "accessModes": modes,
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": CLASS_NAME,
            "hostPath": {"path": str(folder), "type": "DirectoryOrCreate"},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            "volumeMode": spec.get("volumeMode", "Filesystem"),
        },
    }
    if "ReadWriteMany" not in modes and "ReadOnlyMany" not in modes:
        term = {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}
        body["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [term]}}
    try:
        client.request("POST", "/api/v1/persistentvolumes", body)
    except ApiError as exc:
        if exc.status != 409:
            raise


def _reclaim(client: KubeClient, pv: dict[str, Any], root: Path, node: str) -> None:
    annotations = pv["metadata"].get("annotations") or {}
    if annotations.get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
        return
    if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
        return
    shutil.rmtree(root / pv["metadata"]["name"], ignore_errors=True)
    try:
        client.request("DELETE", f"/api/v1/persistentvolumes/{pv['metadata']['name']}")
    except ApiError as exc:
        if exc.status != 404:
            raise


def _loop(client: KubeClient, collection: str, handle: Any, root: Path, stop: threading.Event, node: str) -> None:
    while not stop.is_set():
        try:
            listing = client.get(collection)
            for item in listing["items"]:
                handle(client, item, root, node)
            for event in client.watch(collection, listing["metadata"]["resourceVersion"]):
                if stop.is_set():
                    return
                if event["type"] in ("ADDED", "MODIFIED"):
                    handle(client, event["object"], root, node)
                elif event["type"] == "ERROR":
                    break
        except Exception:
            log.exception("provisioner watch on %s failed; relisting", collection)
            stop.wait(1)


def start(client: KubeClient, root: Path, stop: threading.Event, node: str) -> None:
    ensure_storage_class(client)
    for collection, handle in (("/api/v1/persistentvolumeclaims", _provision), ("/api/v1/persistentvolumes", _reclaim)):
        threading.Thread(
            target=_loop,
            args=(client, collection, handle, root, stop, node),
            daemon=True,
            name=f"provisioner{collection}",
        ).start()
