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


def test_a_5000_task_scenario_refused_by_plain_kubectl_apply_is_applied_by_taipod_apply(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path
) -> None:
    """Plain `kubectl apply` copies the object into a 256 KiB annotation (issue 17); `taipod apply` applies
    server-side, as `kubectl apply --server-side` does, and a second apply of the same file changes nothing."""
    tasks = 5000
    data_nodes = [dn("d0", defaultData=1)] + [dn(f"d{i + 1}") for i in range(tasks)]
    spec = {
        "dataNodes": data_nodes,
        "tasks": [task(f"t{i}", "taipod.samples:double", [f"d{i}"], [f"d{i + 1}"]) for i in range(tasks)],
    }
    manifest = {"apiVersion": "taipod.io/v1alpha1", "kind": "Scenario", "metadata": {"name": "huge"}, "spec": spec}
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(manifest))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    plain = subprocess.run(
        [str(BIN / "kubectl"), "-n", namespace, "apply", "-f", str(path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert plain.returncode != 0 and "Too long" in plain.stderr, plain.stderr
    for _ in range(2):
        applied = run(cluster, namespace, "apply", "-f", str(path))
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.strip() == "scenario/huge serverside-applied"
    got = subprocess.run(
        [str(BIN / "kubectl"), "-n", namespace, "get", "scenario", "huge", "-o", "json", "--show-managed-fields"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout  # fmt: skip
    stored = yaml.safe_load(got)
    assert len(stored["spec"]["tasks"]) == tasks
    assert "kubectl.kubernetes.io/last-applied-configuration" not in (stored["metadata"].get("annotations") or {})
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["taipod"]


def test_taipod_apply_names_what_it_cannot_apply(cluster: ClusterHandle, namespace: str, tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}))
    refused = run(cluster, namespace, "apply", "-f", str(path))
    assert refused.returncode == 1 and "kubectl apply --server-side" in refused.stderr, refused.stderr
