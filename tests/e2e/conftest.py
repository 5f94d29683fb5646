"""Fixtures for tests of the operator: the CRDs and admission policy installed once, an operator per test.

Each test runs its own operator, embedded in the test process and limited to the test's namespace, so tests never
see each other's objects and can kill and restart "the operator" at will.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ClusterHandle, S3Store
from tests.k8s_helpers import Kube, wait_until

from taipod.api import admission, datanodes
from taipod.operator.config import OperatorConfig
from taipod.operator.embedded import EmbeddedOperator

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION = "taipod.io", "v1alpha1"


@pytest.fixture(scope="session")
def taipod_installed(cluster: ClusterHandle, kube: Kube) -> None:
    """The CRDs (kubectl apply of crds/, as users do) and the job-delete admission policy."""
    docs = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))]
    text = yaml.safe_dump_all([*docs, *admission.documents()])
    exe = str(Path(__import__("sys").executable).parent / "kubectl")
    subprocess.run(
        [exe, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "--force-conflicts", "-f", "-"],
        input=text,
        text=True,
        check=True,
        capture_output=True,
    )
    for doc in docs:
        wait_until(
            lambda name=doc["metadata"]["name"]: any(
                c.type == "Established" and c.status == "True"
                for c in kube.apiext.read_custom_resource_definition(name).status.conditions or []
            ),
            30,
            f"CRD {doc['metadata']['name']} established",
        )
    # An updated CRD briefly answers 429 "storage is (re)initializing": wait until each kind can be listed.
    for plural in ("scenarios", "submissions", "jobs"):
        wait_until(lambda plural=plural: _listable(kube, plural), 30, f"{plural}.taipod.io served")


def _listable(kube: Kube, plural: str) -> bool:
    try:
        kube.custom.list_cluster_custom_object(GROUP, VERSION, plural, limit=1)
    except Exception:
        return False
    return True


def operator_config(s3: S3Store, **changes: Any) -> OperatorConfig:
    """The operator's settings for the tests: data on the test S3 server, as the chart's default mode has it."""
    return OperatorConfig.from_env(
        {
            "TAIPOD_STORAGE_URL": s3.url,
            "TAIPOD_STORAGE_ENDPOINT": s3.endpoint,
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
            **changes,
        }
    )


class Taipod:
    """Helpers over the custom resources of one test namespace."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.ns = namespace

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", **body}
        result: dict[str, Any] = self.kube.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, plural, body)
        return result

    def get(self, plural: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.kube.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, plural, name)
        return result

    def list(self, plural: str, selector: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.ns, plural, label_selector=selector
        )["items"]
        return items

    def scenario(self, name: str, data_nodes: list[dict[str, Any]], tasks: list[dict[str, Any]], **spec: Any) -> str:
        self.create(
            "scenarios",
            {"kind": "Scenario", "metadata": {"name": name}, "spec": {"dataNodes": data_nodes, "tasks": tasks, **spec}},
        )
        return name

    def submit(self, scenario: str, name: str | None = None, **spec: Any) -> str:
        name = name or f"{scenario}-{uuid.uuid4().hex[:6]}"
        self.create(
            "submissions", {"kind": "Submission", "metadata": {"name": name}, "spec": {"scenario": scenario, **spec}}
        )
        return name

    def jobs(self, submission: str) -> dict[str, dict[str, Any]]:
        """The submission's jobs by task name."""
        return {j["spec"]["task"]: j for j in self.list("jobs", f"taipod.io/submission={submission}")}

    def job_statuses(self, submission: str) -> dict[str, str]:
        return {task: (j.get("status") or {}).get("status", "SUBMITTED") for task, j in self.jobs(submission).items()}

    def wait_jobs(self, submission: str, expected: dict[str, str], timeout: float = 60) -> dict[str, dict[str, Any]]:
        wait_until(
            lambda: self.job_statuses(submission) == expected,
            timeout,
            lambda: f"jobs of {submission} to be {expected} (now {self.job_statuses(submission)})",
        )
        return self.jobs(submission)

    def wait_job(self, submission: str, task: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            job = self.jobs(submission).get(task)
            return job if job and (job.get("status") or {}).get("status") in statuses else None

        return wait_until(
            check, timeout, lambda: f"job {task} of {submission} in {statuses} (now {self.job_statuses(submission)})"
        )

    def submission_status(self, submission: str) -> str | None:
        return (self.get("submissions", submission).get("status") or {}).get("submissionStatus")

    def wait_submission(self, submission: str, status: str, timeout: float = 60) -> dict[str, Any]:
        wait_until(
            lambda: self.submission_status(submission) == status,
            timeout,
            lambda: f"submission {submission} {status} (now {self.submission_status(submission)})",
        )
        return self.get("submissions", submission)

    def data_node(self, scenario: str, name: str) -> dict[str, Any]:
        return datanodes.entries(self.get("scenarios", scenario).get("status") or {}).get(name) or {}


@pytest.fixture
def taipod(kube: Kube, namespace: str, taipod_installed: None) -> Taipod:
    return Taipod(kube, namespace)


@pytest.fixture
def start_operator(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, s3: S3Store
) -> Iterator[Callable[[], EmbeddedOperator]]:
    """Start (or restart) the test namespace's operator; every operator started is stopped after the test."""
    started: list[EmbeddedOperator] = []

    def start() -> EmbeddedOperator:
        op = EmbeddedOperator(namespace, kubeconfig=str(cluster.kubeconfig), config=operator_config(s3))
        started.append(op)
        return op.start()

    yield start
    for op in started:
        op.stop()


@pytest.fixture
def operator(start_operator: Callable[[], EmbeddedOperator]) -> EmbeddedOperator:
    return start_operator()


def operator_process_env(cluster: ClusterHandle, namespace: str, s3: S3Store, **extra: str) -> dict[str, str]:
    """The environment of ``python -m taipod.operator`` (the operator image's command) serving ``namespace``."""
    return {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "TAIPOD_NAMESPACES": namespace,
        "TAIPOD_LIVENESS_ENDPOINT": "",
        "TAIPOD_STORAGE_URL": s3.url,
        "TAIPOD_STORAGE_ENDPOINT": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        **extra,
    }


@pytest.fixture
def operator_process(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, s3: S3Store
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """``python -m taipod.operator`` as a process of its own, to kill for real; every one started is killed after."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "taipod.operator"], env=operator_process_env(cluster, namespace, s3)
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def task(
    name: str, function: str, inputs: list[str] | None = None, outputs: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "function": function, "inputs": inputs or [], "outputs": outputs or [], **extra}


def dn(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **extra}
