"""Retries (taipod's extension to Taipy, after Argo's retryStrategy) on a real cluster: every attempt a new batch Job,
the job PENDING between attempts, the backoff read from the recorded times, cancel during the backoff, the OnError
policy, an operator restart during a backoff, and the CRD schema's refusals."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def flaky(taipod: Taipod, name: str, succeeding_attempt: int, retries: dict[str, Any]) -> None:
    """``flaky`` fails until attempt ``succeeding_attempt`` (it reads TAIPOD_ATTEMPT); ``after`` depends on it."""
    taipod.scenario(
        name,
        [dn("n", defaultData=succeeding_attempt), dn("attempt"), dn("doubled")],
        [
            task("flaky", "taipod.samples:fail_before_attempt", ["n"], ["attempt"], retries=retries),
            task("after", "taipod.samples:double", ["attempt"], ["doubled"]),
        ],
    )


def test_a_task_failing_twice_then_succeeding_completes_with_three_attempts_spaced_by_the_backoff(
    taipod: Taipod, kube: Kube, operator: EmbeddedOperator
) -> None:
    flaky(taipod, "flaky", 3, {"limit": 3, "backoff": {"duration": 2, "factor": 2}})
    sub = taipod.submit("flaky")
    jobs = taipod.wait_jobs(sub, {"flaky": "COMPLETED", "after": "COMPLETED"}, timeout=180)
    status = jobs["flaky"]["status"]
    attempts = status["attempts"]
    assert [(a["attempt"], a["status"], a.get("reason")) for a in attempts] == [
        (1, "FAILED", "TaskFailed"),
        (2, "FAILED", "TaskFailed"),
        (3, "COMPLETED", None),
    ]
    assert "sample failure on attempt 1" in attempts[0]["message"]
    name = jobs["flaky"]["metadata"]["name"]
    assert [a["batchJob"] for a in attempts] == [name, f"{name}-a2", f"{name}-a3"]
    history = status["history"]
    assert "FAILED" not in [h["status"] for h in history]  # never FAILED between attempts
    retries = [h for h in history if (h.get("reason") or "").startswith("Retry:")]
    assert [(h["status"], h["reason"]) for h in retries] == [
        ("PENDING", "Retry: attempt 1 failed (TaskFailed)"),
        ("PENDING", "Retry: attempt 2 failed (TaskFailed)"),
    ]
    assert [h["status"] for h in history].count("RUNNING") == 3
    # The backoff, from the recorded times: 2 s after the first failure, then 4 s after the second.
    for previous, following, wait in ((attempts[0], attempts[1], 2), (attempts[1], attempts[2], 4)):
        gap = (at(following["startedAt"]) - at(previous["finishedAt"])).total_seconds()
        print(f"backoff {wait} s: attempt {following['attempt']} started {gap:.2f} s after the previous failed")
        assert gap >= wait, (gap, wait)
    assert "message" not in status and "nextAttemptAt" not in status  # the retry note is gone once COMPLETED
    assert taipod.data_node("flaky", "doubled")["value"] == 6  # the dependent ran once, after attempt 3
    after = jobs["after"]["status"]["history"]
    assert [h["status"] for h in after] == ["SUBMITTED", "BLOCKED", "PENDING", "RUNNING", "COMPLETED"]
    assert at(after[2]["at"]) >= at(attempts[2]["finishedAt"])  # it waited, BLOCKED, through every retry
    assert taipod.wait_submission(sub, "COMPLETED")


def test_on_error_does_not_retry_a_python_exception(taipod: Taipod, operator: EmbeddedOperator) -> None:
    flaky(taipod, "exception", 2, {"limit": 3, "policy": "OnError"})
    sub = taipod.submit("exception")
    jobs = taipod.wait_jobs(sub, {"flaky": "FAILED", "after": "ABANDONED"}, timeout=90)
    status = jobs["flaky"]["status"]
    assert [(a["attempt"], a["reason"]) for a in status["attempts"]] == [(1, "TaskFailed")]
    assert status["reason"] == "TaskFailed" and "sample failure on attempt 1" in status["message"]


def test_on_error_retries_a_pod_deleted_out_of_band(taipod: Taipod, kube: Kube, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "deleted",
        [dn("seconds", defaultData=120), dn("attempt")],
        [
            task(
                "long",
                "taipod.samples:sleep_on_first_attempt",
                ["seconds"],
                ["attempt"],
                retries={"limit": 1, "policy": "OnError"},
            )
        ],
    )
    sub = taipod.submit("deleted")
    running = taipod.wait_job(sub, "long", {"RUNNING"}, timeout=90)
    pod = wait_until(lambda: running and taipod.jobs(sub)["long"]["status"].get("pod"), 30, "the pod recorded")
    kube.core.delete_namespaced_pod(pod, taipod.ns)
    jobs = taipod.wait_jobs(sub, {"long": "COMPLETED"}, timeout=120)
    attempts = jobs["long"]["status"]["attempts"]
    assert [(a["attempt"], a["status"], a.get("reason")) for a in attempts] == [
        (1, "FAILED", "PodDeleted"),
        (2, "COMPLETED", None),
    ]
    assert taipod.data_node("deleted", "attempt")["value"] == 2


def test_cancel_during_the_backoff_cancels_and_no_attempt_follows(
    taipod: Taipod, kube: Kube, kubectl: Callable[..., Any], operator: EmbeddedOperator
) -> None:
    flaky(taipod, "waiting", 5, {"limit": 3, "backoff": {"duration": 600}})
    sub = taipod.submit("waiting")

    def in_backoff() -> dict[str, Any] | None:
        job = taipod.jobs(sub).get("flaky") or {}
        status = job.get("status") or {}
        return job if status.get("status") == "PENDING" and status.get("nextAttemptAt") else None

    job = wait_until(in_backoff, 90, lambda: f"the first attempt failed and a retry waits (now {taipod.jobs(sub)})")
    name = job["metadata"]["name"]
    kubectl("annotate", "jobs.taipod.io", name, "taipod.io/cancel=true")
    jobs = taipod.wait_jobs(sub, {"flaky": "CANCELED", "after": "ABANDONED"}, timeout=60)
    status = jobs["flaky"]["status"]
    assert "nextAttemptAt" not in status and len(status["attempts"]) == 1
    assert taipod.wait_submission(sub, "CANCELED")
    assert kube.gone(lambda: kube.batch.read_namespaced_job(f"{name}-a2", taipod.ns))


def test_an_operator_killed_during_a_backoff_retries_once_when_restarted(
    taipod: Taipod,
    operator_process: Callable[[], subprocess.Popen[bytes]],
    start_operator: Callable[[], EmbeddedOperator],
) -> None:
    flaky(taipod, "restart", 2, {"limit": 3, "backoff": {"duration": 8}})
    first = operator_process()
    sub = taipod.submit("restart")
    wait_until(
        lambda: (taipod.jobs(sub).get("flaky", {}).get("status") or {}).get("nextAttemptAt"),
        90,
        "the first attempt failed and its retry waits its backoff",
    )
    first.send_signal(signal.SIGKILL)  # the only in-memory timer dies with it
    first.wait()
    start_operator()
    jobs = taipod.wait_jobs(sub, {"flaky": "COMPLETED", "after": "COMPLETED"}, timeout=120)
    attempts = jobs["flaky"]["status"]["attempts"]
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "FAILED"), (2, "COMPLETED")]  # retried once
    gap = (at(attempts[1]["startedAt"]) - at(attempts[0]["finishedAt"])).total_seconds()
    print(f"backoff 8 s across an operator restart: attempt 2 started {gap:.2f} s after attempt 1 failed")
    assert gap >= 8, gap  # the restarted operator kept the recorded schedule


@pytest.mark.parametrize(
    ("retries", "field", "words"),
    [
        ({"limit": -1}, "spec.tasks[0].retries.limit", "greater than or equal to 0"),
        ({"limit": 21}, "spec.tasks[0].retries.limit", "less than or equal to 20"),
        ({"limit": 2, "policy": "Sometimes"}, "spec.tasks[0].retries.policy", "supported values"),
        (
            {"limit": 2, "backoff": {"factor": 0.5}},
            "spec.tasks[0].retries.backoff.factor",
            "greater than or equal to 1",
        ),
        ({"limit": 2, "backoff": {"duration": -3}}, "spec.tasks[0].retries.backoff.duration", "greater than or equal"),
    ],
)
def test_the_schema_refuses_bad_retries_naming_the_field(
    taipod: Taipod, retries: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ApiException) as refused:
        taipod.scenario("bad", [dn("a"), dn("b")], [task("t", "taipod.samples:double", ["a"], ["b"], retries=retries)])
    assert refused.value.status == 422
    body = str(refused.value.body)
    assert field in body and words in body.lower(), body
