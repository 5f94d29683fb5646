"""When ``submit`` returns: Taipy's timeout rounding, jobs decided, finished and settled (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.test_sdk_fakes import job_body

from taipod.core.readiness import DataNodeState
from taipod.sdk.submitting import effective_timeout, jobs_decided, jobs_finished, jobs_settled

AT = "2024-10-24T12:00:00.000000Z"
TASKS = {
    "double": {"inputs": ["a"], "outputs": ["b"]},
    "print": {"inputs": ["b"], "outputs": []},
    "other": {"inputs": ["never"], "outputs": ["c"]},
}
WRITTEN = DataNodeState(last_edit_date=datetime(2024, 10, 24, tzinfo=UTC))
LOCKED = DataNodeState(last_edit_date=None, edit_in_progress=True, editor_job="j-double")


def jobs(**statuses: str) -> dict[str, dict[str, Any]]:
    return {
        f"j-{task}": job_body(f"j-{task}", [("SUBMITTED", AT)] + ([(s, AT)] if s != "SUBMITTED" else []), task=task)
        for task, s in statuses.items()
    }


@pytest.mark.parametrize(("timeout", "waits"), [(None, None), (0, 0.0), (0.5, 1.0), (1, 1.0), (1.5, 2.0), (3, 3.0)])
def test_taipy_counts_whole_seconds(timeout: float | None, waits: float | None) -> None:
    assert effective_timeout(timeout) == waits


def test_decided_and_finished() -> None:
    assert not jobs_decided(jobs(double="PENDING"), 2)
    assert not jobs_decided(jobs(double="PENDING", print="SUBMITTED"), 2)
    assert jobs_decided(jobs(double="PENDING", print="BLOCKED"), 2)
    assert not jobs_finished(jobs(double="COMPLETED", print="RUNNING"), 2)
    assert jobs_finished(jobs(double="COMPLETED", print="CANCELED"), 2)


def test_settled_when_nothing_is_left_for_the_cluster() -> None:
    assert jobs_settled(jobs(double="COMPLETED", print="COMPLETED"), 2, TASKS, {})
    assert not jobs_settled(jobs(double="RUNNING", print="BLOCKED"), 2, TASKS, {"b": LOCKED})
    assert not jobs_settled(jobs(double="COMPLETED"), 2, TASKS, {})  # a job not created yet


def test_a_blocked_job_whose_input_was_just_written_is_not_settled() -> None:
    # double completed and wrote b: the operator is about to unblock print.
    assert not jobs_settled(jobs(double="COMPLETED", print="BLOCKED"), 2, TASKS, {"b": WRITTEN})
    # double completed but its write is not recorded yet (b still locked).
    assert not jobs_settled(jobs(double="COMPLETED", print="BLOCKED"), 2, TASKS, {"b": LOCKED})


def test_a_dependent_of_a_failed_job_waits_for_its_abandonment() -> None:
    assert not jobs_settled(jobs(double="FAILED", print="BLOCKED"), 2, TASKS, {})
    assert jobs_settled(jobs(double="FAILED", print="ABANDONED"), 2, TASKS, {})


def test_blocked_on_an_input_nobody_writes_is_settled() -> None:
    # Taipy's development mode returns with such a job BLOCKED (until the user writes its input).
    assert jobs_settled(jobs(other="BLOCKED"), 1, TASKS, {})
    assert not jobs_settled(jobs(other="BLOCKED"), 1, TASKS, {"never": WRITTEN})
    assert not jobs_settled(jobs(other="BLOCKED"), 1, TASKS, {"never": LOCKED})
