"""The `taipod` command (also `kubectl taipod`): submit and wait, list, cancel, delete, print the manifests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod, dn, task

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def run(cluster: ClusterHandle, namespace: str, *args: str, plugin: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    argv = [str(BIN / "kubectl"), "taipod"] if plugin else [str(BIN / "taipod")]
    return subprocess.run(
        [*argv, "-n", namespace, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_submit_wait_jobs_cancel_delete(cluster: ClusterHandle, taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "cli",
        [dn("n", defaultData=4), dn("out"), dn("seconds", defaultData=60), dn("slept")],
        [
            task("double", "taipod.samples:double", ["n"], ["out"]),
            task("sleep", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
        ],
    )
    done = run(cluster, taipod.ns, "submit", "cli", "--task", "double", "--name", "cli-1", "--wait", plugin=True)
    assert done.returncode == 0, done.stderr
    assert "submission cli-1: COMPLETED" in done.stdout and "double" in done.stdout
    listed = run(cluster, taipod.ns, "jobs", "cli-1")
    assert listed.stdout.splitlines()[0].split()[:3] == ["JOB", "TASK", "STATUS"]
    assert "COMPLETED" in listed.stdout
    assert run(cluster, taipod.ns, "submit", "cli", "--task", "sleep", "--name", "cli-2").returncode == 0
    job = taipod.wait_job("cli-2", "sleep", {"RUNNING"})["metadata"]["name"]
    refused = run(cluster, taipod.ns, "delete", job)
    assert refused.returncode == 1 and "not finished" in refused.stderr
    canceled = run(cluster, taipod.ns, "cancel", job)
    assert "is running and cannot be canceled" in canceled.stdout
    terminated = run(cluster, taipod.ns, "cancel", job, "--terminate")  # a new request: stops the pod
    assert terminated.returncode == 0 and "canceled" in terminated.stdout, terminated
    taipod.wait_job("cli-2", "sleep", {"CANCELED"})
    assert run(cluster, taipod.ns, "delete", job).returncode == 0  # finished now: no force needed


def test_cli_manifests_are_the_crds_and_the_policies(cluster: ClusterHandle, namespace: str) -> None:
    docs = list(yaml.safe_load_all(run(cluster, namespace, "manifests").stdout))
    assert [d["kind"] for d in docs] == ["CustomResourceDefinition"] * 3 + [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] * 2
