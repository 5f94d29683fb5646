"""The dispatch window (issue 16, fewer API writes per job): a job just dispatched is written once its window ends or
once it finishes, whichever comes first, with every status's time; what the window never holds back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.dag import DataNodeDef, TaskDef, build_dag
from taipod.core.history import Transition
from taipod.core.plan import JobFacts, Plan, PodFacts, RunFacts, ScenarioFacts, SubmissionFacts, plan_scenario
from taipod.core.readiness import DataNodeState
from taipod.core.retry import RetryStrategy
from taipod.core.status import Status, SubmissionStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)
WINDOW = timedelta(seconds=1)
GRACE = timedelta(seconds=0.25)
DAG = build_dag(
    [DataNodeDef("a", has_default_data=True), DataNodeDef("b"), DataNodeDef("c")],
    [
        TaskDef("first", "taipod.samples:double", ("a",), ("b",)),
        TaskDef("second", "taipod.samples:double", ("b",), ("c",)),
    ],
)
WRITTEN = DataNodeState(last_edit_date=T0)
OK = '{"ok": true}'


def job(task: str = "first", *statuses: Status, sub: str = "s1", **extra: object) -> JobFacts:
    history = tuple(Transition(s, T0 + timedelta(seconds=i)) for i, s in enumerate(statuses))
    return JobFacts(
        name=f"{sub}-{task}", submission=sub, task=task, force=False, created_at=T0, history=history, **extra
    )  # type: ignore[arg-type]


def dispatched(at: datetime, phase: str | None = None, **pod: object) -> RunFacts:
    """The batch Job created at ``at``, and its pod in ``phase`` (None: no pod yet)."""
    facts = PodFacts(name="pod", phase=phase, created_at=at, **pod) if phase else None  # type: ignore[arg-type]
    return RunFacts("s1-first", "uid-1", pod=facts, dispatched_at=at)


def facts(*jobs: JobFacts, window: timedelta = WINDOW, **extra: object) -> ScenarioFacts:
    subs = sorted({j.submission for j in jobs})
    return ScenarioFacts(
        DAG,
        extra.pop("states", {"a": WRITTEN}),  # type: ignore[arg-type]
        extra.pop("external", {}),  # type: ignore[arg-type]
        [SubmissionFacts(s, T0, ("first", "second"), True, extra.pop("deadline", None)) for s in subs],  # type: ignore[arg-type]
        list(jobs),
        running_after=GRACE,
        dispatch_window=window,
    )


def written(plan: Plan, name: str = "s1-first") -> list[tuple[Status, datetime]]:
    change = plan.job_changes.get(name)
    return [(t.status, t.at) for t in change.transitions] if change and not change.deferred else []


def test_a_job_dispatched_now_is_created_and_its_pending_write_waits_for_the_window() -> None:
    plan = plan_scenario(facts(job()), NOW)
    change = plan.job_changes["s1-first"]
    assert change.create_batch and change.deferred and change.transitions == []
    assert plan.requeue_after == pytest.approx(1.0)
    # Its submission counts it PENDING (it is dispatched), never more.
    assert plan.submissions["s1"].status is SubmissionStatus.PENDING
    assert plan.submissions["s1"].counts["PENDING"] == 1


def test_with_a_window_of_zero_every_status_is_written_at_once() -> None:
    plan = plan_scenario(facts(job(), window=timedelta(0)), NOW)
    change = plan.job_changes["s1-first"]
    assert change.create_batch and not change.deferred
    assert written(plan) == [(Status.PENDING, NOW)]


def test_within_the_window_a_running_job_is_not_written_and_the_pass_comes_back_at_its_end() -> None:
    at = NOW - timedelta(seconds=0.6)
    running = job(run=dispatched(at, "Running", started=True, running_seen_at=NOW - timedelta(seconds=0.4)))
    plan = plan_scenario(facts(running), NOW)
    assert "s1-first" not in plan.job_changes
    assert plan.requeue_after == pytest.approx(0.6)  # RUNNING, too, is shown at most a window late
    assert plan.submissions["s1"].status is SubmissionStatus.PENDING  # not RUNNING while the job says SUBMITTED


def test_a_job_ending_within_the_window_is_written_once_with_every_time() -> None:
    at = NOW - timedelta(seconds=0.8)
    seen = NOW - timedelta(seconds=0.5)
    pod = {"started": True, "exit_code": 0, "termination_message": OK, "running_seen_at": seen}
    plan = plan_scenario(facts(job(run=dispatched(at, "Succeeded", **pod)), job("second")), NOW)
    assert written(plan) == [(Status.PENDING, at), (Status.RUNNING, seen), (Status.COMPLETED, NOW)]
    change = plan.job_changes["s1-first"]
    assert change.record_batch == ("s1-first", "uid-1") and change.pod == "pod"
    assert plan.submissions["s1"].status is SubmissionStatus.PENDING  # second is still to run
    assert written(plan, "s1-second") == []  # dispatched now: deferred in turn
    assert plan.job_changes["s1-second"].create_batch


def test_a_job_failing_within_the_window_is_written_once_and_abandons_its_dependents() -> None:
    at = NOW - timedelta(seconds=0.5)
    pod = {"started": True, "exit_code": 1, "terminated_reason": "Error", "running_seen_at": at}
    plan = plan_scenario(facts(job(run=dispatched(at, "Failed", **pod)), job("second")), NOW)
    assert [s for s, _ in written(plan)] == [Status.PENDING, Status.RUNNING, Status.FAILED]
    assert [s for s, _ in written(plan, "s1-second")] == [Status.ABANDONED]
    assert plan.submissions["s1"].status is SubmissionStatus.FAILED


def test_at_the_window_end_a_running_job_is_written_pending_and_running_together() -> None:
    at = NOW - WINDOW
    seen = at  # its pod started at once
    plan = plan_scenario(facts(job(run=dispatched(at, "Running", started=True, running_seen_at=seen))), NOW)
    assert written(plan) == [(Status.PENDING, at), (Status.RUNNING, seen)]
    assert plan.job_changes["s1-first"].pod == "pod"
    assert plan.submissions["s1"].status is SubmissionStatus.RUNNING


def test_a_job_seen_running_just_before_the_window_end_waits_for_the_running_grace() -> None:
    """Written at the window's end, it would be RUNNING, and (a short task) written again at its end a moment later:
    its first write waits for the running grace as well (the window, when longer), so a task ending within it is
    still written once."""
    at = NOW - WINDOW
    seen = NOW - timedelta(seconds=0.1)
    running = job(run=dispatched(at, "Running", started=True, running_seen_at=seen))
    plan = plan_scenario(facts(running), NOW)
    assert "s1-first" not in plan.job_changes and plan.requeue_after == pytest.approx(0.9)
    late = plan_scenario(facts(running), seen + WINDOW)
    assert written(late) == [(Status.PENDING, at), (Status.RUNNING, seen)]


def test_at_the_window_end_a_job_whose_pod_has_not_started_is_written_pending() -> None:
    at = NOW - timedelta(seconds=3)
    plan = plan_scenario(facts(job(run=dispatched(at, "Pending"))), NOW)
    assert written(plan) == [(Status.PENDING, at)]
    assert plan.job_changes["s1-first"].record_batch == ("s1-first", "uid-1")


def test_a_job_written_pending_is_written_running_once_it_ran_the_window() -> None:
    """The running grace is the window when that is longer: RUNNING alone is never written less than a window after
    the pod was seen running, so a task ending within it is written once, RUNNING and its end together."""
    at = NOW - timedelta(seconds=5)
    seen = NOW - timedelta(seconds=0.1)
    pending = job("first", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1")
    running = dispatched(at, "Running", started=True, running_seen_at=seen)
    plan = plan_scenario(facts(replace(pending, run=running)), NOW)
    assert written(plan) == [] and plan.requeue_after == pytest.approx(0.9)
    assert plan_scenario(facts(replace(pending, run=running), window=timedelta(0)), NOW).requeue_after == pytest.approx(
        0.15
    )


def test_after_a_restart_the_times_come_from_the_batch_job_and_the_container() -> None:
    """The operator restarted after dispatching: no time seen in memory. PENDING is the dispatch recorded on the batch
    Job; RUNNING is the container's start (whole seconds), never before the dispatch."""
    at = NOW - timedelta(seconds=30, microseconds=250_000)
    started = at.replace(microsecond=0)  # the kubelet's whole second, before the exact dispatch
    pod = {"started": True, "started_at": started}
    plan = plan_scenario(facts(job(run=dispatched(at, "Running", **pod))), NOW)
    assert written(plan) == [(Status.PENDING, at), (Status.RUNNING, at)]
    later = started + timedelta(seconds=2)
    plan = plan_scenario(facts(job(run=dispatched(at, "Running", started=True, started_at=later))), NOW)
    assert written(plan) == [(Status.PENDING, at), (Status.RUNNING, later)]


def test_a_dispatched_job_is_never_decided_again_even_if_an_input_is_locked_meanwhile() -> None:
    """A later submission locks the input of a job dispatched but still SUBMITTED or BLOCKED in its resource: the job
    runs already, so it is PENDING (then followed), not BLOCKED, and no second batch Job is made."""
    at = NOW - timedelta(seconds=0.2)
    for history in ((), (Status.SUBMITTED, Status.BLOCKED)):
        held = facts(job("first", *history, run=dispatched(at, "Pending")), external={"a": frozenset({"other-job"})})
        plan = plan_scenario(held, NOW)
        assert not any(c.create_batch for c in plan.job_changes.values())
        assert "s1-first" not in plan.job_changes  # deferred: nothing to write yet
        late = plan_scenario(held, at + WINDOW)
        assert written(late) == [(Status.PENDING, at)]


def test_a_cancel_within_the_window_is_answered_at_once_and_keeps_the_pending_entry() -> None:
    at = NOW - timedelta(seconds=0.3)
    target = job(run=dispatched(at, "Pending"), cancel_request="true")
    plan = plan_scenario(facts(target), NOW)
    change = plan.job_changes["s1-first"]
    assert written(plan) == [(Status.PENDING, at), (Status.CANCELED, NOW)]
    assert change.delete_batch and change.cancel_outcome == "job s1-first canceled"


def test_a_submission_deadline_within_the_window_fails_the_job_at_once() -> None:
    at = NOW - timedelta(seconds=0.3)
    plan = plan_scenario(facts(job(run=dispatched(at, "Running", started=True)), deadline=NOW), NOW)
    assert [s for s, _ in written(plan)] == [Status.PENDING, Status.FAILED]
    assert plan.job_changes["s1-first"].delete_batch


def test_a_retry_within_the_window_is_written_at_once() -> None:
    at = NOW - timedelta(seconds=0.3)
    pod = {"started": True, "exit_code": 1, "terminated_reason": "Error", "running_seen_at": at}
    retried = job(run=dispatched(at, "Failed", **pod), retry=RetryStrategy(limit=2))
    plan = plan_scenario(facts(retried), NOW)
    change = plan.job_changes["s1-first"]
    assert not change.deferred and change.attempts is not None and len(change.attempts) == 1
    assert [s for s, _ in written(plan)] == [Status.PENDING, Status.RUNNING, Status.PENDING]


def test_the_next_attempt_of_a_job_already_pending_is_recorded_at_once() -> None:
    """The window holds back only the first write of a dispatch (its PENDING); a retry's new batch Job is recorded on
    a job already PENDING, as before."""
    pending = job("first", Status.SUBMITTED, Status.PENDING, run=dispatched(NOW - timedelta(seconds=0.2), "Pending"))
    plan = plan_scenario(facts(pending), NOW)
    change = plan.job_changes["s1-first"]
    assert not change.deferred and change.record_batch == ("s1-first", "uid-1") and change.transitions == []


def test_a_job_whose_batch_job_vanished_within_the_window_is_dispatched_again() -> None:
    """Nothing was recorded of its dispatch, as after a restart before the first write: the job is decided again (a
    batch Job deleted within the window is made again rather than reported BatchJobDeleted)."""
    plan = plan_scenario(facts(job()), NOW)
    assert plan.job_changes["s1-first"].create_batch
