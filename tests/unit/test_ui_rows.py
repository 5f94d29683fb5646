"""The job selector's rows: fields read from Job resources, the actions each status allows (the core's rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taipod.core.jobs import JobView, plan_cancel
from taipod.core.status import FINISHED, Status
from taipod.ui.rows import can_cancel, is_deletable, parse_history, row_from_body

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body(status: str | None = "RUNNING", history: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "metadata": {"name": "sub-1-task-abcde", "namespace": "team", "creationTimestamp": "2026-01-02T03:04:05Z"},
        "spec": {"scenario": "pipeline", "submission": "sub-1", "task": "clean"},
    }
    if status is not None:
        job["status"] = {"status": status, "history": history or [], **extra}
    return job


@pytest.mark.parametrize("status", list(Status))
def test_cancel_is_allowed_exactly_where_the_core_does_not_refuse_it(status: Status) -> None:
    assert can_cancel(status) == (plan_cancel(JobView("j", "t", "s", status), []).refused is None)
    assert can_cancel(status) == (status not in {Status.FAILED, Status.CANCELED, Status.ABANDONED})


@pytest.mark.parametrize("status", list(Status))
def test_only_finished_jobs_are_deletable(status: Status) -> None:
    assert is_deletable(status) == (status in FINISHED)


def test_a_row_names_its_job_task_scenario_submission_and_namespace() -> None:
    row = row_from_body(body(history=[{"status": "SUBMITTED", "at": at(0)}, {"status": "RUNNING", "at": at(2)}]))
    assert (row.id, row.namespace, row.task, row.scenario, row.submission) == (
        "sub-1-task-abcde",
        "team",
        "clean",
        "pipeline",
        "sub-1",
    )
    assert row.key == "team/sub-1-task-abcde"
    assert (row.submitted_label, row.submitted_id) == ("pipeline", "Scenario/pipeline")
    assert row.created == T0  # the SUBMITTED record, to the microsecond
    assert row.status is Status.RUNNING
    assert row.can_cancel and not row.deletable


def test_the_json_row_carries_every_column_and_the_allowed_actions() -> None:
    row = row_from_body(body("FAILED", [{"status": "SUBMITTED", "at": at(0)}, {"status": "FAILED", "at": at(1)}]))
    data = row.to_json()
    assert data["status"] == "FAILED" and data["deletable"] and not data["canCancel"]
    assert data["created"] == T0.isoformat()
    assert set(data) >= {"id", "task", "submittedLabel", "submittedId", "submission", "created", "status", "namespace"}


def test_a_job_without_status_is_submitted_at_its_creation_time() -> None:
    row = row_from_body(body(None))
    assert row.status is Status.SUBMITTED
    assert row.created == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [t.status for t in row.history] == [Status.SUBMITTED]


def test_the_created_at_annotation_is_used_when_there_is_no_history() -> None:
    job = body(None)
    job["metadata"]["annotations"] = {"taipod.io/created-at": at(0)}
    assert row_from_body(job).created == T0


def test_a_status_without_history_gets_a_two_step_history() -> None:
    history = parse_history(body("COMPLETED"))
    assert [t.status for t in history] == [Status.SUBMITTED, Status.COMPLETED]


def test_unknown_statuses_and_bad_times_do_not_break_the_row() -> None:
    job = body("WEIRD", [{"status": "SUBMITTED", "at": "not a time"}, {"status": "NOPE", "at": at(1)}])
    row = row_from_body(job)
    assert row.status is Status.SUBMITTED
    assert [t.status for t in row.history] == [Status.SUBMITTED]


def test_durations_are_the_cores() -> None:
    history = [
        {"status": "SUBMITTED", "at": at(0)},
        {"status": "BLOCKED", "at": at(1)},
        {"status": "PENDING", "at": at(4)},
        {"status": "RUNNING", "at": at(5)},
        {"status": "COMPLETED", "at": at(15)},
    ]
    row = row_from_body(body("COMPLETED", history))
    assert row.durations(T0 + timedelta(hours=1)) == {"blocked": 3.0, "pending": 1.0, "execution": 10.0}


def test_a_running_jobs_execution_lasts_until_now() -> None:
    history = [{"status": "SUBMITTED", "at": at(0)}, {"status": "RUNNING", "at": at(2)}]
    durations = row_from_body(body("RUNNING", history)).durations(T0 + timedelta(seconds=12))
    assert durations == {"blocked": None, "pending": None, "execution": 10.0}


def test_cancel_request_and_answer_are_read() -> None:
    job = body("CANCELED", cancel="job x canceled")
    job["metadata"]["annotations"] = {"taipod.io/cancel": "true"}
    row = row_from_body(job)
    assert row.cancel_requested and row.cancel_answer == "job x canceled"


def test_text_from_the_cluster_is_kept_verbatim() -> None:
    job = body("FAILED", reason="<img src=x onerror=alert(1)>")
    job["spec"]["task"] = "<b>t</b>"
    data = row_from_body(job).to_json()
    assert data["reason"] == "<img src=x onerror=alert(1)>" and data["task"] == "<b>t</b>"
