"""Taipy's orchestration through the operator: failures, skips, DAG shapes, shared data nodes, pod deaths."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e


def test_task_that_raises_fails_with_stacktrace_abandons_dependents_not_independent_branch(
    taipod: Taipod, operator: EmbeddedOperator
) -> None:
    taipod.scenario(
        "branches",
        [dn("a", defaultData=1), dn("b"), dn("c"), dn("x", defaultData=2), dn("y")],
        [
            task("boom", "taipod.samples:fail", ["a"], ["b"]),
            task("after_boom", "taipod.samples:double", ["b"], ["c"]),
            task("independent", "taipod.samples:double", ["x"], ["y"]),
        ],
    )
    sub = taipod.submit("branches")
    jobs = taipod.wait_jobs(sub, {"boom": "FAILED", "after_boom": "ABANDONED", "independent": "COMPLETED"})
    failed = jobs["boom"]["status"]
    assert failed["reason"] == "TaskFailed"
    assert "ValueError" in failed["message"]
    assert "Traceback" in failed["stacktrace"][0] and "ValueError" in failed["stacktrace"][0].splitlines()[-1]
    assert (
        jobs["after_boom"]["status"]["history"][-1]["reason"]
        == f"upstream job {jobs['boom']['metadata']['name']} failed"
    )
    counts = taipod.wait_submission(sub, "FAILED")["status"]["counts"]
    assert {k: v for k, v in counts.items() if v} == {"FAILED": 1, "ABANDONED": 1, "COMPLETED": 1}
    assert taipod.data_node("branches", "y")["value"] == 4


def test_skippable_task_is_skipped_when_up_to_date_and_runs_when_forced(
    taipod: Taipod, operator: EmbeddedOperator
) -> None:
    taipod.scenario(
        "skips",
        [dn("n", defaultData=5), dn("out")],
        [task("double", "taipod.samples:double", ["n"], ["out"], skippable=True)],
    )
    first = taipod.submit("skips")
    taipod.wait_jobs(first, {"double": "COMPLETED"})
    edited = taipod.data_node("skips", "out")["lastEditDate"]
    second = taipod.submit("skips")
    skipped = taipod.wait_jobs(second, {"double": "SKIPPED"})["double"]
    assert [h["status"] for h in skipped["status"]["history"]] == ["SUBMITTED", "PENDING", "SKIPPED"]
    assert "batchJob" not in skipped["status"]
    assert taipod.data_node("skips", "out")["lastEditDate"] == edited
    assert taipod.wait_submission(second, "COMPLETED")
    forced = taipod.submit("skips", force=True)
    taipod.wait_jobs(forced, {"double": "COMPLETED"})
    assert taipod.data_node("skips", "out")["lastEditDate"] > edited


def test_diamond_two_outputs_and_fan_in(taipod: Taipod, operator: EmbeddedOperator) -> None:
    # numbers -> split (two outputs) -> evens, odds -> sum each -> add (fan in)
    taipod.scenario(
        "diamond",
        [dn("numbers", defaultData=[1, 2, 3, 4, 5]), dn("evens"), dn("odds"), dn("se"), dn("so"), dn("total")],
        [
            task("split", "taipod.samples:split_even_odd", ["numbers"], ["evens", "odds"]),
            task("sum_evens", "sum", ["evens"], ["se"]),
            task("sum_odds", "sum", ["odds"], ["so"]),
            task("add", "taipod.samples:add", ["se", "so"], ["total"]),
        ],
    )
    sub = taipod.submit("diamond")
    jobs = taipod.wait_jobs(
        sub, {"split": "COMPLETED", "sum_evens": "COMPLETED", "sum_odds": "COMPLETED", "add": "COMPLETED"}
    )
    assert taipod.data_node("diamond", "evens")["value"] == [2, 4]
    assert taipod.data_node("diamond", "odds")["value"] == [1, 3, 5]
    assert taipod.data_node("diamond", "total")["value"] == 15
    # Taipy locks every output at submit: downstream jobs start BLOCKED, then run after their inputs.
    assert [h["status"] for h in jobs["add"]["status"]["history"]] == [
        "SUBMITTED",
        "BLOCKED",
        "PENDING",
        "RUNNING",
        "COMPLETED",
    ]
    assert jobs["add"]["status"]["runAt"] > max(jobs[t]["status"]["finishedAt"] for t in ("sum_evens", "sum_odds"))


def test_global_data_node_is_shared_by_two_scenarios(taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "producer",
        [dn("seed", defaultData=20), dn("shared", scope="GLOBAL")],
        [task("make", "taipod.samples:double", ["seed"], ["shared"])],
    )
    taipod.scenario(
        "consumer",
        [dn("shared", scope="GLOBAL"), dn("result")],
        [task("use", "taipod.samples:double", ["shared"], ["result"])],
    )
    waiting = taipod.submit("consumer")
    taipod.wait_jobs(waiting, {"use": "BLOCKED"})  # never written yet, anywhere
    made = taipod.submit("producer")
    taipod.wait_jobs(made, {"make": "COMPLETED"})
    taipod.wait_jobs(waiting, {"use": "COMPLETED"})  # unblocked by the other scenario's write
    assert taipod.data_node("consumer", "result")["value"] == 80
    assert taipod.data_node("producer", "shared")["lastEditDate"]
    assert "lastEditDate" not in taipod.data_node("consumer", "shared")  # each scenario records its own writes


def test_pod_deleted_out_of_band_fails_the_job(taipod: Taipod, kube: Kube, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "sleepy",
        [dn("seconds", defaultData=60), dn("out")],
        [task("sleep", "taipod.samples:sleep_seconds", ["seconds"], ["out"])],
    )
    sub = taipod.submit("sleepy")
    job = taipod.wait_job(sub, "sleep", {"RUNNING"})
    kube.core.delete_namespaced_pod(job["status"]["pod"], taipod.ns, grace_period_seconds=0)
    failed = taipod.wait_job(sub, "sleep", {"FAILED"}, timeout=60)["status"]
    assert failed["reason"] in {"PodDeleted", "BackoffLimitExceeded", "Error"}, failed
    assert failed["message"]


def test_deadline_exceeded_fails_with_reason(taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "late",
        [dn("seconds", defaultData=60), dn("out")],
        [task("sleep", "taipod.samples:sleep_seconds", ["seconds"], ["out"], timeoutSeconds=2)],
    )
    sub = taipod.submit("late")
    failed = taipod.wait_job(sub, "sleep", {"FAILED"}, timeout=60)["status"]
    assert failed["reason"] == "DeadlineExceeded", failed
    assert taipod.wait_submission(sub, "FAILED")


def test_killed_task_oom_fails_with_reason(taipod: Taipod, cluster: object, operator: EmbeddedOperator) -> None:
    from tests.conftest import ClusterHandle

    assert isinstance(cluster, ClusterHandle)
    if cluster.local is not None and not cluster.local.memory_limits_enforced():
        pytest.skip("this machine's node cannot enforce memory limits (no writable cgroup v2)")
    taipod.scenario(
        "hungry",
        [dn("mb", defaultData=400), dn("out")],
        [task("eat", "taipod.samples:allocate_mb", ["mb"], ["out"], resources={"limits": {"memory": "64Mi"}})],
    )
    sub = taipod.submit("hungry")
    failed = taipod.wait_job(sub, "eat", {"FAILED"}, timeout=60)["status"]
    assert failed["reason"] == "OOMKilled", failed
    wait_until(lambda: taipod.submission_status(sub) == "FAILED", 30, "submission FAILED")
