"""Argo Workflows, the benchmark's peer: its workflow-controller built from the Go module (``gomod/argo``, never
shipped), its minimal CRDs from that module's ``manifests/``, the controller as a local process, and workflows shaped
like taipod's runs (one step, a DAG of independent tasks, a chain)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.harness import (
    ARGO_NS,
    KWOK_NODE_SELECTOR,
    KWOK_TOLERATIONS,
    Api,
    Pinning,
    Usage,
    _die_with_parent,
    log,
    process_usage,
    wait_until,
)

from localkube import build, procs
from localkube.cluster import LocalCluster
from localkube.kubeclient import ApiError

ARGO_VERSION = "v4.0.5"
MODULE = "github.com/argoproj/argo-workflows/v4"
GOMOD = Path(__file__).resolve().parent / "gomod" / "argo"
# Pods name this image; kwok never pulls it (the benchmark's pods run on kwok nodes only).
EXECUTOR_IMAGE = f"quay.io/argoproj/argoexec:{ARGO_VERSION}"
MAIN_IMAGE = "ghcr.io/taipod/runner:bench"  # the plain Jobs' image: kwok ignores it too


@dataclass(frozen=True)
class Setting:
    """How the controller runs: its client limits (--qps, --burst) and DEFAULT_REQUEUE_TIME, the delay before a
    workflow is processed again after a pod or task-result event (10 s by default)."""

    name: str
    qps: int
    burst: int
    requeue: str | None = None


SETTINGS = {
    "defaults": Setting("Argo (defaults)", 20, 30),  # the controller's documented flags
    # As the tuned kube-controller-manager and kube-scheduler (harness.TUNED_FLAGS).
    "raised": Setting("Argo (raised limits)", 300, 600),
    # Argo's documented knob for workflows of short steps ("some users may wish to have this as low as 2s"); 1 s is
    # the lowest its code comments call safe.
    "fast": Setting("Argo (raised limits, 1 s requeue)", 300, 600, "1s"),
}
FINISHED_PHASES = frozenset({"Succeeded", "Failed", "Error"})


def _module_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(GOMOD.iterdir()):
        if path.suffix in {".mod", ".sum", ".go"}:
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    return build.cache_root() / f"argo-workflows-{ARGO_VERSION}-{_module_hash()}"


def ensure_built() -> Path:
    """The cached folder with ``workflow-controller`` and ``crds/`` (the module's minimal CRDs), built first if
    missing: about 3 minutes on 2 cores, and the module download."""
    target = cache_dir()
    if (target / build.STAMP).is_file():
        return target
    go = build._check_go()
    build.cache_root().mkdir(parents=True, exist_ok=True)
    with (build.cache_root() / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / build.STAMP).is_file():
            return target
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "crds").mkdir(parents=True)
        build_log = build.cache_root() / "build-argo.log"
        build_log.write_text("")
        started = time.monotonic()
        log(f"building Argo Workflows' workflow-controller {ARGO_VERSION} (first time only; log: {build_log})")
        cmd = [go, "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", str(staging) + "/"]
        with build_log.open("ab") as sink:
            proc = subprocess.run(
                [*cmd, f"{MODULE}/cmd/workflow-controller"],
                cwd=GOMOD,
                env=build._go_env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if proc.returncode != 0:
            tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"building workflow-controller failed (log {build_log}):\n{tail}")
        listed = subprocess.run(
            [go, "list", "-m", "-json", MODULE],
            check=True,
            cwd=GOMOD,
            env=build._go_env(),
            capture_output=True,
            text=True,
        )
        crds = Path(json.loads(listed.stdout)["Dir"]) / "manifests" / "base" / "crds" / "minimal"
        for path in sorted(crds.glob("argoproj.io_*.yaml")):
            shutil.copyfile(path, staging / "crds" / path.name)
        (staging / build.STAMP).write_text(f"{ARGO_VERSION}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        log(f"built workflow-controller in {time.monotonic() - started:.0f} s")
    return target


def install(cluster: LocalCluster, api: Api, folder: Path) -> None:
    """Argo's minimal CRDs, applied server-side file by file (one is 640 KB, over the client-side annotation limit),
    and the controller's ConfigMap in its namespace."""
    kubectl = str(Path(sys.executable).parent / "kubectl")
    for path in sorted((folder / "crds").glob("*.yaml")):
        subprocess.run(
            [kubectl, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "-f", str(path)],
            check=True,
            capture_output=True,
        )
    wait_until(lambda: api.get("/apis/argoproj.io/v1alpha1/workflows?limit=1"), 60, "Argo workflows served")
    api.ensure_namespace(ARGO_NS)


class ArgoController:
    """workflow-controller as a local process, namespaced, managing one namespace; leader election off (one
    controller at a time), as a single-replica install would run it."""

    def __init__(
        self, folder: Path, kubeconfig: Path, namespace: str, setting: Setting, log_path: Path, cpus: str | None
    ) -> None:
        self.folder, self.kubeconfig, self.namespace = folder, kubeconfig, namespace
        self.setting = setting
        self.log_path, self.cpus = log_path, cpus
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, api: Api) -> ArgoController:
        # Its metrics server would take :9090 (and TLS); a free port keeps runs from colliding with anything there.
        config = {"metricsConfig": f"port: {procs.free_port()}\n"}
        name = "workflow-controller-configmap"
        path = f"/api/v1/namespaces/{ARGO_NS}/configmaps"
        try:
            api.create(path, {"metadata": {"name": name}, "data": config})
        except ApiError:
            api.request("PUT", f"{path}/{name}", {"metadata": {"name": name}, "data": config})
        env = {**os.environ, "LEADER_ELECTION_DISABLE": "true"}
        if self.setting.requeue:
            env["DEFAULT_REQUEUE_TIME"] = self.setting.requeue
        cmd = [
            str(self.folder / "workflow-controller"),
            f"--kubeconfig={self.kubeconfig}",
            f"--namespace={ARGO_NS}",
            "--namespaced",
            f"--managed-namespace={self.namespace}",
            f"--executor-image={EXECUTOR_IMAGE}",
            f"--qps={self.setting.qps}",
            f"--burst={self.setting.burst}",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as sink:
            self.proc = subprocess.Popen(
                [*Pinning.prefix(self.cpus), *cmd],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl()
            )

        def serving() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"workflow-controller exited ({self.proc.returncode}); see {self.log_path}")
            text = self.log_path.read_text(errors="replace")
            return "Starting Workflow Controller" in text or "Starting workflow" in text.lower()

        wait_until(serving, 60, "workflow-controller to start")
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def usage(self) -> Usage:
        return process_usage(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL: it may wait long for its workers after SIGTERM."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# -- workflows -------------------------------------------------------------------------------------------------------
def _step() -> dict[str, Any]:
    return {"name": "step", "container": {"image": MAIN_IMAGE, "command": ["true"]}}


def _workflow(name: str, templates: list[dict[str, Any]]) -> dict[str, Any]:
    """Placed like the plain Jobs' pods: on kwok nodes, no service-account token (so the executor's account must
    be named), Argo's default pod GC (pods kept)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "labels": {"bench": "argo"}},
        "spec": {
            "entrypoint": templates[0]["name"],
            "templates": templates,
            "nodeSelector": dict(KWOK_NODE_SELECTOR),
            "tolerations": [dict(t) for t in KWOK_TOLERATIONS],
            "automountServiceAccountToken": False,
            "executor": {"serviceAccountName": "default"},
        },
    }


def single_step(name: str) -> dict[str, Any]:
    return _workflow(name, [_step()])


def dag(name: str, n: int, *, chain: bool = False) -> dict[str, Any]:
    """n tasks t0..t<n-1>, independent (all ready at once) or, with ``chain``, each after the previous one."""
    tasks = [
        {"name": f"t{i}", "template": "step", **({"dependencies": [f"t{i - 1}"]} if chain and i else {})}
        for i in range(n)
    ]
    return _workflow(name, [{"name": "main", "dag": {"tasks": tasks}}, _step()])


def workflow_marks(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Workflows keyed by name: 'added' and their finished phase ('Succeeded', 'Failed', 'Error')."""
    name = obj["metadata"]["name"]
    yield name, "added"
    phase = (obj.get("status") or {}).get("phase")
    if phase in FINISHED_PHASES:
        yield name, phase


def pod_marks(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Argo's pods keyed by their DAG task (the node name's last part): 'added', 'running', 'succeeded'."""
    node = ((obj.get("metadata") or {}).get("annotations") or {}).get("workflows.argoproj.io/node-name")
    if not node:
        return
    key = node.rsplit(".", 1)[-1]
    yield key, "added"
    phase = (obj.get("status") or {}).get("phase")
    if phase in ("Running", "Succeeded", "Failed"):
        yield key, phase.lower()
