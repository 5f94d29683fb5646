"""Bad manifests are refused at `kubectl apply` (schema) or marked Invalid (graph checks), naming the field; nothing
else in the namespace is touched."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
Kubectl = Callable[..., CompletedProcess[str]]


def manifest(name: str, data_nodes: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "taipod.io/v1alpha1",
            "kind": "Scenario",
            "metadata": {"name": name},
            "spec": {"dataNodes": data_nodes, "tasks": tasks},
        }
    )


@pytest.mark.parametrize(
    ("data_nodes", "tasks", "field", "words"),
    [
        ([dn("a", storageType="excel")], [], "spec.dataNodes[0].storageType", "Unsupported value"),
        ([dn("a")], [task("t", "not a function", ["a"])], "spec.tasks[0].function", "should match"),
        ([dn("1a")], [], "spec.dataNodes[0].name", "should match"),
    ],
    ids=["unknown storage type", "malformed function", "bad name"],
)
def test_schema_refuses_at_apply(
    data_nodes: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    field: str,
    words: str,
    kubectl: Kubectl,
    taipod: Taipod,
) -> None:
    result = kubectl("apply", "-f", "-", input=manifest("bad", data_nodes, tasks), check=False)
    assert result.returncode != 0
    assert field in result.stderr and words in result.stderr, result.stderr
    assert taipod.list("scenarios") == []


@pytest.mark.parametrize(
    ("data_nodes", "tasks", "field", "words"),
    [
        (
            [dn("a"), dn("b")],
            [task("t1", "taipod.samples:double", ["a"], ["b"]), task("t2", "taipod.samples:double", ["b"], ["a"])],
            "spec.tasks",
            "cycle",
        ),
        (
            [dn("a")],
            [task("t", "taipod.samples:double", ["nope"], ["a"])],
            "spec.tasks[0].inputs[0]",
            "unknown data node 'nope'",
        ),
        ([dn("a"), dn("a")], [], "spec.dataNodes[1].name", "duplicate"),
        ([dn("a")], [task("t", "no_such_builtin", ["a"])], "spec.tasks[0].function", "not a builtin"),
    ],
    ids=["cycle", "unknown data node", "duplicate name", "unknown builtin"],
)
def test_graph_problems_mark_the_scenario_invalid(
    data_nodes: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    field: str,
    words: str,
    kubectl: Kubectl,
    taipod: Taipod,
    operator: EmbeddedOperator,
) -> None:
    taipod.scenario("good", [dn("n", defaultData=1), dn("out")], [task("d", "taipod.samples:double", ["n"], ["out"])])
    good_sub = taipod.submit("good")
    taipod.wait_jobs(good_sub, {"d": "COMPLETED"})
    before = taipod.get("scenarios", "good")["metadata"]["resourceVersion"]
    kubectl("apply", "-f", "-", input=manifest("bad", data_nodes, tasks))
    status = wait_until(
        lambda: (
            (taipod.get("scenarios", "bad").get("status") or {}).get("phase") == "Invalid"
            and taipod.get("scenarios", "bad")["status"]
        ),
        30,
        "scenario marked Invalid",
    )
    assert any(p["field"] == field and words in p["message"] for p in status["problems"]), status["problems"]
    assert field in status["message"]
    printed = kubectl("get", "scenario", "bad").stdout
    assert "Invalid" in printed
    sub = taipod.submit("bad")
    wait_until(
        lambda: "invalid" in ((taipod.get("submissions", sub).get("status") or {}).get("message") or ""),
        30,
        "its submission says the scenario is invalid",
    )
    assert taipod.jobs(sub) == {}
    assert taipod.get("scenarios", "good")["metadata"]["resourceVersion"] == before


def test_spec_is_immutable(kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator) -> None:
    kubectl("apply", "-f", "-", input=manifest("fixed", [dn("a")], []))
    result = kubectl("apply", "-f", "-", input=manifest("fixed", [dn("b")], []), check=False)
    assert result.returncode != 0 and "Scenario spec is immutable" in result.stderr, result.stderr
    # Metadata stays editable (labels, the cancel and force-delete annotations), and so does the status: the
    # operator's writes mark it Ready.
    kubectl("label", "scenario", "fixed", "team=a")
    wait_until(lambda: (taipod.get("scenarios", "fixed").get("status") or {}).get("phase") == "Ready", 30, "Ready")


def test_submission_and_job_specs_are_immutable(kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario("imm", [dn("a", defaultData=1), dn("b")], [task("t", "taipod.samples:double", ["a"], ["b"])])
    sub = taipod.submit("imm")
    taipod.wait_jobs(sub, {"t": "COMPLETED"})
    result = kubectl("patch", "submission", sub, "--type=merge", "-p", '{"spec":{"force":true}}', check=False)
    assert result.returncode != 0 and "Submission spec is immutable" in result.stderr, result.stderr
    job = taipod.jobs(sub)["t"]["metadata"]["name"]
    result = kubectl("patch", "jobs.taipod.io", job, "--type=merge", "-p", '{"spec":{"task":"other"}}', check=False)
    assert result.returncode != 0 and "Job spec is immutable" in result.stderr, result.stderr
    kubectl("annotate", "jobs.taipod.io", job, "taipod.io/cancel=true")  # metadata edits pass


def test_submission_of_sequence_and_task_at_once_is_refused(kubectl: Kubectl, taipod: Taipod) -> None:
    text = yaml.safe_dump(
        {
            "apiVersion": "taipod.io/v1alpha1",
            "kind": "Submission",
            "metadata": {"name": "both"},
            "spec": {"scenario": "x", "sequence": "s", "task": "t"},
        }
    )
    result = kubectl("apply", "-f", "-", input=text, check=False)
    assert result.returncode != 0 and "set at most one of spec.sequence and spec.task" in result.stderr
