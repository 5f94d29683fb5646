"""The node agent: a Ready Node whose pods run as local processes (see podworker)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import yaml

from localkube.kubeclient import SMP, ApiError, KubeClient

from . import logserver, provisioner
from .mountpoints import MountPoints
from .podworker import PodWorker, now_iso

log = logging.getLogger("localkube.agent")

LEASE_SECONDS = 40
RENEW_SECONDS = 10
KUBELET_VERSION = "v1.36.3"


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Agent:
    def __init__(
        self,
        kubeconfig: Path,
        node_name: str,
        state_dir: Path,
        port: int,
        cert: Path,
        key: Path,
        images: dict[str, dict[str, Any]],
        provisions: bool = True,
    ) -> None:
        self.client = KubeClient(kubeconfig)
        self.provisions = provisions
        self.api_port = self.client.port
        self.node_name = node_name
        self.state_dir = state_dir
        self.pods_dir = state_dir / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.port, self.cert, self.key = port, cert, key
        self.images = images
        self.mountpoints = MountPoints()
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.lock = threading.Lock()
        self.stop = threading.Event()

    # -- node ------------------------------------------------------------------------------
    def _node_status(self) -> dict[str, Any]:
        now = now_iso()
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        capacity = {
            "cpu": str(os.cpu_count() or 1),
            "memory": f"{mem // 1024}Ki",
            "pods": "110",
            "ephemeral-storage": f"{shutil.disk_usage(self.state_dir).total // 1024}Ki",
        }
        conditions = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID"),
            ("Ready", "True", "KubeletReady"),
        ]
        return {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "reason": r,
                    "message": "localkube node agent",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
                for t, s, r in conditions
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": self.node_name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": KUBELET_VERSION,
                "containerRuntimeVersion": "localkube://processes",
                "kernelVersion": os.uname().release,
                "osImage": "localkube",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },
        }

    def register(self) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "localkube",
                },
            },
        }
        try:
            self.client.request("POST", "/api/v1/nodes", body)
        except ApiError as exc:
            if exc.status != 409:
                raise
        self.client.request("PATCH", f"/api/v1/nodes/{self.node_name}/status", {"status": self._node_status()}, SMP)

    def _heartbeat(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.node_name}"
        while not self.stop.is_set():
            try:
                lease = self.client.get_or_none(path)
                spec = {
                    "holderIdentity": self.node_name,
                    "leaseDurationSeconds": LEASE_SECONDS,
                    "renewTime": _micro_now(),
                }
                if lease is None:
                    self.client.request(
                        "POST",
                        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                        {
                            "apiVersion": "coordination.k8s.io/v1",
                            "kind": "Lease",
                            "metadata": {"name": self.node_name, "ownerReferences": [self._node_owner()]},
                            "spec": spec,
                        },
                    )
                else:
                    self.client.request("PATCH", path, {"spec": spec}, SMP)
                self.client.request(
                    "PATCH", f"/api/v1/nodes/{self.node_name}/status", {"status": self._node_status()}, SMP
                )
            except Exception:
                log.exception("heartbeat failed")
            self.stop.wait(RENEW_SECONDS)

    def _node_owner(self) -> dict[str, Any]:
        node = self.client.get(f"/api/v1/nodes/{self.node_name}")
        return {"apiVersion": "v1", "kind": "Node", "name": self.node_name, "uid": node["metadata"]["uid"]}

    # -- pods ------------------------------------------------------------------------------
    def worker_for(self, ns: str, name: str) -> PodWorker | None:
        with self.lock:
            matches = [w for w in self.workers.values() if w.ns == ns and w.pod_name == name]
        return matches[-1] if matches else None

    def find_pod_dir(self, ns: str, name: str) -> Path | None:
        found = sorted(self.pods_dir.glob(f"{ns}_{name}_*"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    def finalize_delete(self, pod: dict[str, Any]) -> None:
        """The kubelet's last word on a deleted pod: remove the object (grace 0, same uid)."""
        meta = pod["metadata"]
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": meta["uid"]},
        }
        try:
            self.client.request("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", body)
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise

    def forget(self, uid: str) -> None:
        """The pod object is gone and its worker done: drop it and its folder (logs included)."""
        with self.lock:
            worker = self.workers.pop(uid, None)
        if worker is not None:
            worker.cleanup_files()

    def _handle(self, kind: str, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        with self.lock:
            worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                worker.object_deleted = True
                worker.update(pod)
                if worker.done:
                    self.forget(uid)
            return
        if worker is not None:
            worker.update(pod)
            if worker.done and pod["metadata"].get("deletionTimestamp"):
                self.finalize_delete(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            if pod["metadata"].get("deletionTimestamp"):
                self.finalize_delete(pod)
            return
        worker = PodWorker(self, pod)
        with self.lock:
            self.workers[uid] = worker
        worker.start()

    def _watch_pods(self) -> None:
        path = f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.node_name}"
        while not self.stop.is_set():
            try:
                listing = self.client.get(path)
                for pod in listing["items"]:
                    self._handle("ADDED", pod)
                for event in self.client.watch(path, listing["metadata"]["resourceVersion"]):
                    if self.stop.is_set():
                        return
                    if event["type"] == "ERROR":
                        break
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self._handle(event["type"], event["object"])
            except Exception:
                if not self.stop.is_set():
                    log.exception("pod watch failed; relisting")
                    self.stop.wait(0.5)

    def run(self) -> None:
        self.register()
        logserver.serve(self, self.port, self.cert, self.key)
        if self.provisions:
            provisioner.start(self.client, self.state_dir / "volumes", self.stop, self.node_name)
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        self._watch_pods()

    def shutdown(self) -> None:
        """Kill every container at once; the cluster is going away, so nothing is reported."""
        self.stop.set()
        with self.lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.stopping = True
            worker.wake.set()
        for worker in workers:
            worker.join(timeout=10)


def load_images(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return {str(k): dict(v) for k, v in (data.get("images") or {}).items()}
