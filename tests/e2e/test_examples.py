"""The manifests in examples/ run with the kubectl commands their comments give."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from tests.e2e.conftest import Taipod
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Kubectl = Callable[..., CompletedProcess[str]]


def test_double_example(kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator) -> None:
    kubectl("apply", "-f", str(EXAMPLES / "double.yaml"))
    taipod.wait_jobs("doubling-1", {"double": "COMPLETED"})
    value = kubectl("get", "scenario", "doubling", "-o", "jsonpath={.status.dataNodes.output.value}").stdout
    assert value == "42"
    table = kubectl("get", "tpjob").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "TASK", "SUBMISSION", "STARTED", "DURATION", "AGE"]
    assert table[1].split()[1:4] == ["COMPLETED", "double", "doubling-1"]
    assert "COMPLETED" in kubectl("get", "tpsub", "doubling-1").stdout
    assert "doubling" in kubectl("get", "taipod").stdout  # the category lists every kind


def test_pipeline_example(kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator) -> None:
    kubectl("apply", "-f", str(EXAMPLES / "pipeline.yaml"))
    all_done = dict.fromkeys(("split", "sum_evens", "sum_odds", "add", "describe"), "COMPLETED")
    taipod.wait_jobs("pipeline-1", all_done)
    assert taipod.data_node("pipeline", "total")["value"] == 21
    assert taipod.data_node("pipeline", "report")["value"] == "21"
    again = {
        "apiVersion": "taipod.io/v1alpha1",
        "kind": "Submission",
        "metadata": {"generateName": "pipeline-"},
        "spec": {"scenario": "pipeline", "task": "describe"},
    }
    name = kubectl("create", "-f", "-", "-o", "name", input=json.dumps(again)).stdout.strip().split("/")[-1]
    taipod.wait_jobs(name, {"describe": "SKIPPED"})
    seq = (
        kubectl(
            "create",
            "-f",
            "-",
            "-o",
            "name",
            input=json.dumps({**again, "spec": {"scenario": "pipeline", "sequence": "evens_only"}}),
        )
        .stdout.strip()
        .split("/")[-1]
    )
    taipod.wait_jobs(seq, {"split": "COMPLETED", "sum_evens": "COMPLETED"})


def test_cancel_example(kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator) -> None:
    kubectl("apply", "-f", str(EXAMPLES / "cancel.yaml"))
    taipod.wait_job("sleepy-1", "first", {"RUNNING"})
    first = taipod.jobs("sleepy-1")["first"]["metadata"]["name"]
    refused = kubectl("delete", "tpjob", first, "--wait=false", check=False)
    assert refused.returncode != 0 and "not finished" in refused.stderr
    kubectl("annotate", "tpjob", "-l", "taipod.io/submission=sleepy-1", "taipod.io/cancel=true", "--overwrite")
    wait_until(
        lambda: taipod.job_statuses("sleepy-1") == {"first": "RUNNING", "second": "ABANDONED"},
        30,
        lambda: f"first RUNNING, second ABANDONED (now {taipod.job_statuses('sleepy-1')})",
    )
    columns = kubectl(
        "get", "tpjob", "-o", "custom-columns=NAME:.metadata.name,STATUS:.status.status,CANCEL:.status.cancel"
    ).stdout
    assert "is running and cannot be canceled" in columns
    kubectl("annotate", "tpjob", first, "taipod.io/force-delete=true")
    kubectl("delete", "tpjob", first, "--wait=false")
