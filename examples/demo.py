"""`make demo`: the main job end to end.

Brings up the local cluster when no KUBECONFIG is set (with its S3 server, the data plane), installs taipod (CRDs,
admission policy and the operator), runs the documentation's scenario and a diamond pipeline, shows their jobs, and
reads a value back from the store with `taipod data get`.

Against another cluster (KUBECONFIG set), the operator started here reads TAIPOD_STORAGE_URL, TAIPOD_STORAGE_ENDPOINT
and the AWS_* credentials from the environment, as `python -m taipod.operator` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "taipod-demo"


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    proc = subprocess.run(
        [exe, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "KUBECONFIG": kubeconfig},
    )
    if proc.returncode != 0:
        raise SystemExit(f"demo: kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def cluster_kubeconfig() -> tuple[str, dict[str, str]]:
    """The kubeconfig, and the storage settings of the operator (the local cluster's S3 server)."""
    kubeconfig = os.environ.get("KUBECONFIG")
    if kubeconfig:
        print(f"demo: using the cluster of KUBECONFIG={kubeconfig}")
        return kubeconfig, {}
    from localkube.cluster import LocalCluster  # noqa: PLC0415 - test tooling (tests/cluster/), only when needed

    cluster = LocalCluster()
    if not cluster.running():
        print("demo: no KUBECONFIG; starting the local control plane (stop it with `make cluster-down`)")
        cluster.start(detach=True)
    print(f"demo: export KUBECONFIG={cluster.kubeconfig}")
    s3 = cluster.s3
    print(f"demo: data goes to the local S3 server at {s3.endpoint} ({s3.url})")
    return str(cluster.kubeconfig), {
        "TAIPOD_STORAGE_URL": s3.url,
        "TAIPOD_STORAGE_ENDPOINT": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
    }


def wait_for(kubeconfig: str, submission: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = kubectl(
            kubeconfig, "-n", NAMESPACE, "get", "submission", submission, "-o", "jsonpath={.status.submissionStatus}"
        )
        if status in ("COMPLETED", "FAILED", "CANCELED"):
            return
        time.sleep(0.5)
    raise SystemExit(f"demo: submission {submission} did not finish within {timeout} s")


def served(kubeconfig: str, resource: str, timeout: float = 60) -> None:
    """Until the API server lists ``resource``: just after a CRD is established it answers 429 "storage is
    (re)initializing" for a moment, which the operator would retry, logging an error."""
    deadline = time.monotonic() + timeout
    exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    while True:
        proc = subprocess.run(
            [exe, "get", resource, "-A", "--request-timeout=5s"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECONFIG": kubeconfig},
        )
        if proc.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {resource} is not served: {proc.stderr.strip()}")
        time.sleep(0.5)


def main() -> None:
    kubeconfig, storage_env = cluster_kubeconfig()
    manifests = subprocess.run(
        [sys.executable, "-m", "taipod.cli", "manifests"], capture_output=True, text=True, check=True
    )
    print(kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifests.stdout).strip())
    for kind in ("scenarios", "submissions", "jobs"):
        kubectl(kubeconfig, "wait", "--for=condition=Established", f"crd/{kind}.taipod.io", "--timeout=60s")
        served(kubeconfig, f"{kind}.taipod.io")
    kubectl(kubeconfig, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s")
    kubectl(kubeconfig, "create", "namespace", NAMESPACE)
    env = {
        **os.environ,
        **storage_env,
        "KUBECONFIG": kubeconfig,
        "TAIPOD_NAMESPACES": NAMESPACE,
        "TAIPOD_LIVENESS_ENDPOINT": "",
    }
    print(f"demo: starting the operator for namespace {NAMESPACE} (python -m taipod.operator, the image's command)")
    operator = subprocess.Popen([sys.executable, "-m", "taipod.operator"], env=env)
    try:
        for example, submission in (("double.yaml", "doubling-1"), ("pipeline.yaml", "pipeline-1")):
            print(kubectl(kubeconfig, "-n", NAMESPACE, "apply", "-f", str(REPO / "examples" / example)).strip())
            wait_for(kubeconfig, submission)
        print()
        print(kubectl(kubeconfig, "-n", NAMESPACE, "get", "submissions").rstrip())
        print()
        print(kubectl(kubeconfig, "-n", NAMESPACE, "get", "tpjob", "-o", "wide").rstrip())
        output = kubectl(
            kubeconfig,
            "-n",
            NAMESPACE,
            "get",
            "scenario",
            "doubling",
            "-o",
            "jsonpath={.status.dataNodes.output.value}",
        )
        total = kubectl(
            kubeconfig, "-n", NAMESPACE, "get", "scenario", "pipeline", "-o", "jsonpath={.status.dataNodes.total.value}"
        )
        print(f"\ndemo: doubling's output = {output} (21 doubled); pipeline's total = {total}")
        # The same value from the store, as a kubectl user reads it (no storage settings: the CLI finds the store
        # the operator published for the namespace, and its credentials Secret).
        cli_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAIPOD_STORAGE"))}
        stored = subprocess.run(
            [sys.executable, "-m", "taipod.cli", "-n", NAMESPACE, "data", "get", "doubling", "output"],
            capture_output=True,
            text=True,
            check=False,
            env={**cli_env, "KUBECONFIG": kubeconfig},
        )
        if stored.returncode != 0:
            raise SystemExit(f"demo: taipod data get failed: {stored.stderr.strip()}")
        print(f"demo: `taipod data get doubling output` reads {stored.stdout.strip()} from the store")
        print(f"demo: explore with `kubectl -n {NAMESPACE} get taipod` (KUBECONFIG above); the operator stops now")
    finally:
        operator.terminate()
        operator.wait(30)


if __name__ == "__main__":
    main()
