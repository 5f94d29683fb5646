"""What the operator writes and reads for retries, deadlines and TTL (pure functions, no cluster)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from tests.unit.test_operator_manifests import JOB, NOW, SCENARIO

from taipod.core.history import Transition
from taipod.core.plan import JobChange
from taipod.core.retry import Attempt
from taipod.core.status import Status
from taipod.operator import manifests
from taipod.operator.cleanup import submission_ttl
from taipod.operator.config import OperatorConfig
from taipod.operator.names import attempt_batch_name
from taipod.operator.records import job_record, scenario_record, submission_record

ATTEMPT = Attempt(
    1,
    "sub-double-abcde",
    NOW,
    Status.FAILED,
    "TaskFailed",
    "ValueError: boom",
    started_at=NOW - timedelta(seconds=2),
    pod="sub-double-abcde-x1",
    exit_code=1,
)


def test_attempt_batch_names_keep_the_first_and_stay_dns_labels() -> None:
    assert attempt_batch_name("j", 1) == "j"
    assert attempt_batch_name("j", 2) == "j-a2"
    long = "x" * 58 + "-abcde"  # 64 would not fit: 63 at most
    names = {attempt_batch_name(long[:63], n) for n in range(1, 22)}
    assert len(names) == 21 and all(len(n) <= 63 and not n.startswith("-") for n in names)


def test_attempts_round_trip_through_the_status() -> None:
    change = JobChange(JOB.name, attempts=(ATTEMPT,), next_attempt_at=NOW + timedelta(seconds=5))
    patch = manifests.job_status_patch(JOB, change, NOW)
    status = patch["status"]
    assert status["attempts"] == [
        {
            "attempt": 1,
            "batchJob": "sub-double-abcde",
            "status": "FAILED",
            "finishedAt": "2026-01-01T12:00:00.000000Z",
            "pod": "sub-double-abcde-x1",
            "startedAt": "2026-01-01T11:59:58.000000Z",
            "reason": "TaskFailed",
            "message": "ValueError: boom",
            "exitCode": 1,
        }
    ]
    assert status["nextAttemptAt"] == "2026-01-01T12:00:05.000000Z"
    record = job_record({"metadata": {"name": "j"}, "status": status})
    assert record.attempts == (ATTEMPT,)
    broken = job_record({"metadata": {"name": "j"}, "status": {"attempts": [{"attempt": "x"}, status["attempts"][0]]}})
    assert broken.attempts == (ATTEMPT,)  # a hand-edited entry is skipped


def test_a_retry_clears_the_previous_attempts_fields_and_a_finished_job_its_next_attempt() -> None:
    change = JobChange(
        JOB.name,
        transitions=[Transition(Status.PENDING, NOW, "Retry: attempt 1 failed (TaskFailed)")],
        clear=frozenset({"batchJob", "pod", "exitCode", "stacktrace", "reason"}),
        message="attempt 1 of at most 4 failed",
    )
    running = dataclasses.replace(
        JOB, history=(Transition(Status.SUBMITTED, NOW), Transition(Status.RUNNING, NOW)), status={}
    )
    status = manifests.job_status_patch(running, change, NOW)["status"]
    assert {k: status[k] for k in ("batchJob", "pod", "exitCode", "stacktrace", "reason")} == dict.fromkeys(
        ("batchJob", "pod", "exitCode", "stacktrace", "reason")
    )
    assert status["status"] == "PENDING" and status["message"] == "attempt 1 of at most 4 failed"
    assert status["history"][-1] == {
        "status": "PENDING",
        "at": "2026-01-01T12:00:00.000000Z",
        "reason": "Retry: attempt 1 failed (TaskFailed)",
    }
    waiting = dataclasses.replace(running, status={"nextAttemptAt": "2026-01-01T12:00:05Z"})
    canceled = JobChange(JOB.name, transitions=[Transition(Status.CANCELED, NOW)])
    assert manifests.job_status_patch(waiting, canceled, NOW)["status"]["nextAttemptAt"] is None


def test_each_attempt_has_its_own_batch_job_and_knows_its_number() -> None:
    dag = manifests.dag_from_spec(SCENARIO.spec)
    second = dataclasses.replace(JOB, attempts=(ATTEMPT,))
    for job, name, number in ((JOB, "sub-double-abcde", "1"), (second, "sub-double-abcde-a2", "2")):
        body = manifests.batch_job(OperatorConfig(), job, SCENARIO, dag, SCENARIO.task_specs["double"])
        env = {e["name"]: e["value"] for e in body["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert (body["metadata"]["name"], env["TAIPOD_ATTEMPT"]) == (name, number)
        assert body["metadata"]["labels"]["taipod.io/job"] == "sub-double-abcde"  # every attempt is the job's
        assert body["spec"]["backoffLimit"] == 0  # Kubernetes never retries: taipod does
    finished = dataclasses.replace(second, history=(Transition(Status.FAILED, NOW),))
    assert manifests.current_batch_name(finished) == "sub-double-abcde"  # one attempt recorded: the first's


def _submission(**spec: object) -> object:
    return submission_record({"metadata": {"name": "s", "namespace": "ns"}, "spec": {"scenario": "sc", **spec}})


@pytest.mark.parametrize(
    ("sub", "scenario", "default", "expected"),
    [
        ({"ttlSecondsAfterFinished": 5}, {"ttlSecondsAfterFinished": 50}, 500, 5),
        ({}, {"ttlSecondsAfterFinished": 50}, 500, 50),
        ({}, {}, 500, 500),
        ({}, {}, None, None),
        ({"ttlSecondsAfterFinished": 0}, {"ttlSecondsAfterFinished": 50}, None, 0),
    ],
)
def test_submission_ttl_precedence(
    sub: dict[str, int], scenario: dict[str, int], default: int | None, expected: int | None
) -> None:
    record = scenario_record({"metadata": {"name": "sc", "namespace": "ns"}, "spec": scenario})
    ttl = submission_ttl(_submission(**sub), record, default)  # type: ignore[arg-type]
    assert ttl == (None if expected is None else timedelta(seconds=expected))


def test_submission_records_read_the_deadline_and_ttl() -> None:
    record = _submission(activeDeadlineSeconds=60, ttlSecondsAfterFinished=5)
    assert (record.active_deadline_seconds, record.ttl_seconds_after_finished) == (60, 5)  # type: ignore[attr-defined]
    bare = _submission()
    assert (bare.active_deadline_seconds, bare.ttl_seconds_after_finished) == (None, None)  # type: ignore[attr-defined]
