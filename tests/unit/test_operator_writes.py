"""Fewer API writes per job (issue 16): the facts the dispatch window reads back after a restart, its setting, and one
Event per status write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.history import Transition
from taipod.core.plan import JobChange
from taipod.core.status import Status
from taipod.operator import manifests
from taipod.operator.config import OperatorConfig
from taipod.operator.reconciler import transition_event
from taipod.operator.records import batch_record, job_record, pod_record, scenario_record

NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_a_batch_job_records_its_dispatch_to_the_microsecond_and_its_record_reads_it_back() -> None:
    scenario = scenario_record(
        {
            "metadata": {"name": "sc", "namespace": "ns", "uid": "u-s", "resourceVersion": "1"},
            "spec": {
                "dataNodes": [{"name": "a", "defaultData": 1}, {"name": "b"}],
                "tasks": [{"name": "t", "function": "builtins:print", "inputs": ["a"], "outputs": ["b"]}],
            },
        }
    )
    job = job_record(
        {
            "metadata": {"name": "sub-t-1", "namespace": "ns", "uid": "u-j", "resourceVersion": "2"},
            "spec": {"scenario": "sc", "submission": "sub", "task": "t"},
        }
    )
    dag = manifests.dag_from_spec(scenario.spec)
    body = manifests.batch_job(OperatorConfig(), job, scenario, dag, scenario.task_specs["t"], NOW)
    assert body["metadata"]["annotations"] == {"taipod.io/created-at": "2026-01-01T12:00:00.123456Z"}
    body["metadata"]["creationTimestamp"] = "2026-01-01T12:00:01Z"  # the API server's, later and in whole seconds
    assert batch_record(body).dispatched_at == NOW
    assert (
        "annotations"
        not in manifests.batch_job(OperatorConfig(), job, scenario, dag, scenario.task_specs["t"])["metadata"]
    )


def test_a_batch_job_made_before_the_annotation_was_dispatched_at_its_creation() -> None:
    body = {"metadata": {"name": "x", "namespace": "ns", "creationTimestamp": "2026-01-01T12:00:01Z"}}
    assert batch_record(body).dispatched_at == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)
    edited = {"metadata": {**body["metadata"], "annotations": {"taipod.io/created-at": "yesterday"}}}
    assert batch_record(edited).dispatched_at == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)
    assert batch_record({"metadata": {"name": "x"}}).dispatched_at is None


def test_the_dispatch_time_does_not_make_two_records_differ() -> None:
    """The informer wakes a scenario only when a record changed: the dispatch time never changes."""
    meta = {"name": "x", "namespace": "ns", "uid": "u"}
    assert batch_record({"metadata": meta}) == batch_record(
        {"metadata": {**meta, "annotations": {"taipod.io/created-at": "2026-01-01T12:00:00Z"}}}
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"running": {"startedAt": "2026-01-01T12:00:05Z"}}, datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)),
        (
            {"terminated": {"startedAt": "2026-01-01T12:00:05Z", "finishedAt": "2026-01-01T12:00:06Z"}},
            datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC),
        ),
        ({"waiting": {"reason": "ContainerCreating"}}, None),
    ],
)
def test_a_pod_record_carries_its_containers_start(state: dict[str, object], expected: datetime | None) -> None:
    body = {"metadata": {"name": "p", "namespace": "ns"}, "status": {"containerStatuses": [{"state": state}]}}
    assert pod_record(body).facts.started_at == expected


def test_the_dispatch_window_setting() -> None:
    assert OperatorConfig().dispatch_window == timedelta(seconds=1)
    assert OperatorConfig.from_env({}).dispatch_window == timedelta(seconds=1)
    assert OperatorConfig.from_env({"TAIPOD_DISPATCH_WINDOW_SECONDS": "0"}).dispatch_window == timedelta(0)
    assert OperatorConfig.from_env({"TAIPOD_DISPATCH_WINDOW_SECONDS": "2.5"}).dispatch_window == timedelta(seconds=2.5)
    for bad in ("-1", "61", "soon", "nan"):
        with pytest.raises(ValueError, match="TAIPOD_DISPATCH_WINDOW_SECONDS"):
            OperatorConfig.from_env({"TAIPOD_DISPATCH_WINDOW_SECONDS": bad})


def _change(*transitions: tuple[Status, str | None], message: str | None = None) -> JobChange:
    return JobChange("j", [Transition(s, NOW, r) for s, r in transitions], message=message)


def test_one_event_per_status_write_named_after_the_status_entered_last() -> None:
    coalesced = _change((Status.PENDING, None), (Status.RUNNING, None), (Status.COMPLETED, None))
    assert transition_event(coalesced) == ("Normal", "Completed", "COMPLETED (after PENDING, RUNNING)")
    assert transition_event(_change((Status.RUNNING, None))) == ("Normal", "Running", "RUNNING")
    assert transition_event(JobChange("j", pod="p")) is None


def test_an_event_is_a_warning_when_any_transition_it_reports_is_a_failure_or_a_retry() -> None:
    failed = _change((Status.RUNNING, None), (Status.FAILED, "TaskFailed"), message="boom")
    assert transition_event(failed) == ("Warning", "Failed", "FAILED: TaskFailed (boom) (after RUNNING)")
    retry = _change((Status.PENDING, "Retry: attempt 1 failed (Error)"))
    assert transition_event(retry) == ("Warning", "Pending", "PENDING: Retry: attempt 1 failed (Error)")
    abandoned = _change((Status.ABANDONED, "upstream job x failed"))
    assert transition_event(abandoned) is not None and transition_event(abandoned)[0] == "Warning"  # type: ignore[index]
