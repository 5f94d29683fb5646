"""The cluster runs real pods: Jobs complete, failures carry exit codes and messages, volumes
are visible at their mount paths, deletion and deadlines stop processes."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import ClusterHandle
from tests.k8s_helpers import Kube, wait_until

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
PYTHON_IMAGE = "python:3.11-slim"  # the node agent ignores images; a real cluster pulls them
SHELL_IMAGE = "busybox:1.36"


def _apply(kubectl: Kubectl, manifest: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=json.dumps(manifest))


def _pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": containers, **spec},
    }


def _host_processes(pattern: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_job_runs_python_to_completion(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    _apply(
        kubectl,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "answer"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {"name": "main", "image": PYTHON_IMAGE, "command": ["python", "-c", "print(6*7)"]}
                        ],
                    }
                },
            },
        },
    )
    # 1.36 adds SuccessCriteriaMet before Complete: wait for the terminal condition itself.
    job = wait_until(lambda: kube.job_finished(namespace, "answer"), 120, "job answer to finish")
    assert {c.type for c in job.status.conditions if c.status == "True"} >= {"Complete"}
    pods = kube.core.list_namespaced_pod(namespace, label_selector="job-name=answer").items
    assert [p.status.phase for p in pods] == ["Succeeded"]
    assert pods[0].status.container_statuses[0].state.terminated.exit_code == 0
    assert kubectl("logs", "job/answer").stdout.strip() == "42"


def test_failed_pod_reports_exit_code_and_termination_message(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    _apply(
        kubectl,
        _pod(
            "fails",
            [
                {
                    "name": "main",
                    "image": SHELL_IMAGE,
                    "command": ["sh", "-c", "printf 'ValueError: bad input' > /dev/termination-log; exit 3"],
                }
            ],
        ),
    )
    pod = kube.wait_pod_phase(namespace, "fails", {"Failed", "Succeeded"})
    assert pod.status.phase == "Failed"
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason, terminated.message) == (3, "Error", "ValueError: bad input")


def test_configmap_volume_and_shared_empty_dir(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    _apply(
        kubectl,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg"},
            "data": {"greeting": "hello from a configmap"},
        },
    )
    _apply(
        kubectl,
        _pod(
            "share",
            [
                {
                    "name": "writer",
                    "image": SHELL_IMAGE,
                    "command": ["sh", "-c", "cp /etc/cfg/greeting /shared/msg.tmp && mv /shared/msg.tmp /shared/msg"],
                    "volumeMounts": [
                        {"name": "cfg", "mountPath": "/etc/cfg"},
                        {"name": "scratch", "mountPath": "/shared"},
                    ],
                },
                {
                    "name": "reader",
                    "image": SHELL_IMAGE,
                    "command": ["sh", "-c", "until [ -f /data/msg ]; do sleep 0.1; done; cat /data/msg"],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/data"}],
                },
            ],
            volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}}],
        ),
    )
    pod = kube.wait_pod_phase(namespace, "share", {"Succeeded", "Failed"}, timeout=120)
    assert pod.status.phase == "Succeeded"
    assert kubectl("logs", "share", "-c", "reader").stdout == "hello from a configmap"


def test_service_account_token_and_downward_api(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
    _apply(
        kubectl,
        _pod(
            "identity",
            [
                {
                    "name": "main",
                    "image": SHELL_IMAGE,
                    "command": [
                        "sh",
                        "-c",
                        f'echo "$POD_NS/$POD_NAME $(cat {sa_dir}/namespace) '
                        f'$(test -s {sa_dir}/token && echo token) $(test -s {sa_dir}/ca.crt && echo ca)"',
                    ],
                    "env": [
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    ],
                }
            ],
        ),
    )
    assert kube.wait_pod_phase(namespace, "identity", {"Succeeded", "Failed"}).status.phase == "Succeeded"
    assert kubectl("logs", "identity").stdout.strip() == f"{namespace}/identity {namespace} token ca"


def test_persistent_volume_claim_is_mounted(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    _apply(
        kubectl,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    mounts = [{"name": "data", "mountPath": "/data"}]
    _apply(
        kubectl,
        _pod(
            "write",
            [
                {
                    "name": "main",
                    "image": SHELL_IMAGE,
                    "volumeMounts": mounts,
                    "command": ["sh", "-c", "echo kept > /data/file"],
                }
            ],
            volumes=volumes,
        ),
    )
    assert kube.wait_pod_phase(namespace, "write", {"Succeeded", "Failed"}, 120).status.phase == "Succeeded"
    _apply(
        kubectl,
        _pod(
            "read",
            [{"name": "main", "image": SHELL_IMAGE, "volumeMounts": mounts, "command": ["cat", "/data/file"]}],
            volumes=volumes,
        ),
    )
    assert kube.wait_pod_phase(namespace, "read", {"Succeeded", "Failed"}, 120).status.phase == "Succeeded"
    assert kubectl("logs", "read").stdout.strip() == "kept"


def test_deleting_a_running_pod_stops_its_process(
    cluster: ClusterHandle, kube: Kube, kubectl: Kubectl, namespace: str
) -> None:
    seconds = str(600 + uuid.uuid4().int % 300)  # a command line no other test runs
    _apply(
        kubectl,
        _pod(
            "sleeper",
            [{"name": "main", "image": SHELL_IMAGE, "command": ["sleep", seconds]}],
            terminationGracePeriodSeconds=5,
        ),
    )
    kube.wait_pod_phase(namespace, "sleeper", {"Running"})
    if cluster.is_local:  # Running is reported once the container's shim runs; its exec of `sleep` follows
        wait_until(lambda: _host_processes(f"sleep {seconds}$"), 10, f"process `sleep {seconds}`")
    kubectl("delete", "pod", "sleeper", "--wait=false")
    wait_until(lambda: kube.gone(lambda: kube.pod(namespace, "sleeper")), 5 + 10, "pod sleeper removed")
    if cluster.is_local:
        assert _host_processes(f"sleep {seconds}$") == []


def test_active_deadline_fails_pod_with_deadline_exceeded(
    cluster: ClusterHandle, kube: Kube, kubectl: Kubectl, namespace: str
) -> None:
    seconds = str(600 + uuid.uuid4().int % 300)
    _apply(
        kubectl,
        _pod("slow", [{"name": "main", "image": SHELL_IMAGE, "command": ["sleep", seconds]}], activeDeadlineSeconds=2),
    )
    pod = kube.wait_pod_phase(namespace, "slow", {"Failed", "Succeeded"}, timeout=60)
    assert (pod.status.phase, pod.status.reason) == ("Failed", "DeadlineExceeded")
    if cluster.is_local:
        assert _host_processes(f"sleep {seconds}$") == []


def test_memory_limit_ends_in_oomkilled(cluster: ClusterHandle, kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    if cluster.local is not None and not cluster.local.memory_limits_enforced():
        pytest.skip("this host gives the node agent no memory cgroup, so limits are not enforced here")
    _apply(
        kubectl,
        _pod(
            "hog",
            [
                {
                    "name": "main",
                    "image": PYTHON_IMAGE,
                    "command": ["python", "-c", "x = bytearray(400 * 1024 * 1024); print(len(x))"],
                    "resources": {"limits": {"memory": "64Mi"}},
                }
            ],
        ),
    )
    pod = kube.wait_pod_phase(namespace, "hog", {"Failed", "Succeeded"}, timeout=120)
    terminated = pod.status.container_statuses[0].state.terminated
    assert (pod.status.phase, terminated.reason, terminated.exit_code) == ("Failed", "OOMKilled", 137)


def test_kwok_nodes_complete_job_pods_for_scale_tests(
    cluster: ClusterHandle, kube: Kube, kubectl: Kubectl, namespace: str
) -> None:
    if cluster.local is None:
        pytest.skip("kwok is part of the local cluster only")
    nodes = cluster.local.start_kwok(nodes=1)
    _apply(
        kubectl,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "fake"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": {"type": "kwok"},
                        "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
                        "containers": [{"name": "main", "image": "never-pulled", "command": ["false"]}],
                    }
                },
            },
        },
    )
    job = wait_until(lambda: kube.job_finished(namespace, "fake"), 60, "job fake to finish on a kwok node")
    assert {c.type for c in job.status.conditions if c.status == "True"} >= {"Complete"}
    pod = kube.core.list_namespaced_pod(namespace, label_selector="job-name=fake").items[0]
    assert pod.spec.node_name in nodes and pod.status.phase == "Succeeded"
