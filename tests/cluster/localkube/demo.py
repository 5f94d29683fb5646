"""`make demo`: bring a cluster up when none is configured, run a Job end to end, show it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .cluster import LocalCluster
from .errors import ClusterError

REPO = Path(__file__).resolve().parents[3]


def _kubectl(kubeconfig: str, *args: str) -> str:
    exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    proc = subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": kubeconfig},
        timeout=300,
    )
    if proc.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def run() -> None:
    kubeconfig = os.environ.get("KUBECONFIG")
    if kubeconfig:
        print(f"demo: using the cluster of KUBECONFIG={kubeconfig}")
    else:
        cluster = LocalCluster()
        if not cluster.running():
            print("demo: no cluster configured; starting the local control plane (stop it with `make cluster-down`)")
            cluster.start(detach=True)
        kubeconfig = str(cluster.kubeconfig)
        print(f"demo: export KUBECONFIG={kubeconfig}")
    manifest = str(REPO / "examples" / "hello-job.yaml")
    _kubectl(kubeconfig, "delete", "-f", manifest, "--ignore-not-found", "--wait=true")
    print(_kubectl(kubeconfig, "apply", "-f", manifest).strip())
    _kubectl(kubeconfig, "wait", "--for=condition=Complete", "job/taipod-hello", "--timeout=180s")
    print(_kubectl(kubeconfig, "get", "job/taipod-hello", "-o", "wide").rstrip())
    print(_kubectl(kubeconfig, "get", "pods", "-l", "job-name=taipod-hello", "-o", "wide").rstrip())
    print("logs:", _kubectl(kubeconfig, "logs", "job/taipod-hello").strip())
