"""Job attributes from a Job resource: status, times and durations from the history (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.unit.test_sdk_fakes import FakeCluster, job_body

import taipod as tp
from taipod.core.status import Status
from taipod.sdk.job import Job, parse_history


def t(second: float) -> str:
    """RFC 3339 with microseconds, ``second`` seconds after 2024-10-24T12:00:00Z."""
    return f"2024-10-24T12:00:{int(second):02d}.{round((second % 1) * 1e6):06d}Z"


def job(history: list[tuple[str, float]]) -> Job:
    cluster = FakeCluster()
    body = job_body("j1", [(s, t(at)) for s, at in history])
    cluster.objects["jobs"]["j1"] = body
    return Job(cluster, "j1", body, pinned=True)


def test_completed_job_times_and_durations() -> None:
    j = job([("SUBMITTED", 0), ("BLOCKED", 0.5), ("PENDING", 2), ("RUNNING", 3), ("COMPLETED", 5.25)])
    assert j.status is Status.COMPLETED and j.is_finished() and j.is_completed()
    assert j.creation_date == j.submitted_at == datetime(2024, 10, 24, 12, 0, 0, tzinfo=UTC)
    assert j.run_at == datetime(2024, 10, 24, 12, 0, 3, tzinfo=UTC)
    assert j.finished_at == datetime(2024, 10, 24, 12, 0, 5, 250000, tzinfo=UTC)
    assert j.execution_duration == pytest.approx(2.25)
    assert j.pending_duration == pytest.approx(1.0)
    assert j.blocked_duration == pytest.approx(1.5)
    assert bool(j.is_deletable())


def test_skipped_and_canceled_jobs_never_raise() -> None:
    skipped = job([("SUBMITTED", 0), ("PENDING", 1), ("SKIPPED", 4)])
    assert skipped.pending_duration == pytest.approx(3.0)  # Taipy raises KeyError here
    assert skipped.execution_duration is None and skipped.blocked_duration is None
    canceled = job([("SUBMITTED", 0), ("BLOCKED", 1), ("CANCELED", 2)])
    assert canceled.blocked_duration == pytest.approx(1.0)
    assert canceled.pending_duration is None and canceled.run_at is None


def test_unfinished_job() -> None:
    running = job([("SUBMITTED", 0), ("PENDING", 1), ("RUNNING", 2)])
    assert running.finished_at is None and not running.is_finished()
    assert running.execution_duration is not None and running.execution_duration > 0
    reasons = running.is_deletable()
    assert not reasons and "not finished" in reasons.reasons


def test_a_job_without_status_is_submitted() -> None:
    body = job_body("j2", [])
    body["status"] = {}
    body["metadata"]["creationTimestamp"] = "2024-10-24T12:00:00Z"
    j = Job(FakeCluster(), "j2", body, pinned=True)
    assert j.status is Status.SUBMITTED
    assert [tr.status for tr in parse_history(body)] == [Status.SUBMITTED]


def test_history_fallback_without_history() -> None:
    body = job_body("j3", [])
    body["status"] = {"status": "COMPLETED", "runAt": t(1), "finishedAt": t(3)}
    assert [tr.status for tr in parse_history(body)] == [Status.SUBMITTED, Status.COMPLETED]


def test_snapshots_freeze_a_past_status() -> None:
    j = job([("SUBMITTED", 0), ("PENDING", 1), ("RUNNING", 2), ("COMPLETED", 3)])
    assert [j._snapshot(n).status for n in (1, 2, 3, 4)] == [
        Status.SUBMITTED, Status.PENDING, Status.RUNNING, Status.COMPLETED
    ]  # fmt: skip
    assert j._snapshot(3).finished_at is None


def test_identity_and_comparisons() -> None:
    a = job([("SUBMITTED", 0)])
    b = Job(FakeCluster(), "j9", job_body("j9", [("SUBMITTED", t(1))]), pinned=True)
    assert a < b and b > a and a != b and a == job([("SUBMITTED", 5)])
    assert a.task_id == "TASK_t_sc" and a.submit_id == "sub" and a.get_label() == "t > j1"


def test_getters_reread_the_resource() -> None:
    cluster = FakeCluster()
    body = job_body("j1", [("SUBMITTED", t(0))])
    cluster.objects["jobs"]["j1"] = body
    j = Job(cluster, "j1")
    assert j.status is Status.SUBMITTED
    cluster.objects["jobs"]["j1"] = job_body("j1", [("SUBMITTED", t(0)), ("PENDING", t(1))])
    j._fetched = None  # as if read long ago
    assert j.status is Status.PENDING
    del cluster.objects["jobs"]["j1"]
    j._fetched = None
    assert j.status is Status.PENDING  # deleted: the last known state, as Taipy
    with pytest.raises(tp.NonExistingJob, match="does not exist"):
        _ = Job(cluster, "nope").status


def test_delete_job_refuses_unfinished_jobs_before_changing_anything() -> None:
    cluster = FakeCluster()
    cluster.objects["jobs"]["j1"] = job_body("j1", [("SUBMITTED", t(0)), ("RUNNING", t(1))])
    j = Job(cluster, "j1", cluster.objects["jobs"]["j1"])
    with pytest.raises(tp.JobNotDeletedException) as info:
        tp.delete_job(j)
    assert info.value.args == ("j1",) and isinstance(info.value, RuntimeError)
    assert "RUNNING" in str(info.value) and "force=True" in str(info.value)
    assert [c[0] for c in cluster.calls] == []  # read just now: not even re-read
    tp.delete_job(j, force=True)
    assert [c[0] for c in cluster.calls] == ["patch", "delete"]
