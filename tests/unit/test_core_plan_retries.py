"""The reconcile pass with retries and submission deadlines (taipod's extensions to Taipy), on hand-made snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.test_core_plan import NOW, T0, facts, job, moves, run

from taipod.core.plan import RunFacts, ScenarioFacts, SubmissionFacts, plan_scenario
from taipod.core.retry import Attempt, Backoff, RetryPolicy, RetryStrategy
from taipod.core.status import Status, SubmissionStatus

THREE = RetryStrategy(limit=3, policy=RetryPolicy.ON_FAILURE, backoff=Backoff(duration=10, factor=2))
ERROR = '{"ok": false, "error": "ValueError: boom", "stacktrace": "Traceback..."}'


def failing(*attempts: Attempt, strategy: RetryStrategy = THREE, pod: dict[str, object] | None = None) -> object:
    """``first`` whose current attempt's pod just failed with a Python exception."""
    pod = pod if pod is not None else {"started": True, "termination_message": ERROR, "exit_code": 1}
    return job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=run("Failed", **pod),
        retry=strategy,
        attempts=attempts,
        batch_name="batch",
    )


def test_a_failed_attempt_goes_back_to_pending_with_its_record_and_backoff() -> None:
    second = job("second", Status.SUBMITTED, Status.BLOCKED)
    plan = plan_scenario(facts(failing(), second), NOW)
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.PENDING]  # never FAILED in between
    assert change.transitions[0].reason == "Retry: attempt 1 failed (TaskFailed)"
    assert change.attempts is not None and len(change.attempts) == 1
    attempt = change.attempts[0]
    assert (attempt.number, attempt.batch, attempt.status, attempt.reason, attempt.exit_code, attempt.pod) == (
        1,
        "batch",
        Status.FAILED,
        "TaskFailed",
        1,
        "pod",
    )
    assert attempt.message == "ValueError: boom" and attempt.finished_at == NOW
    assert change.next_attempt_at == NOW + timedelta(seconds=10)
    assert plan.requeue_after == 10
    assert {"batchJob", "pod", "exitCode", "stacktrace", "reason"} <= change.clear
    assert change.record_batch is None and change.reason is None
    assert "attempt 1 of at most 4 failed (TaskFailed)" in (change.message or "")
    assert moves(plan, "s1-second") == []  # the dependent keeps waiting, not ABANDONED
    assert plan.locks["b"] == ("s1-first",)  # and the output stays locked
    assert plan.submissions["s1"].status is SubmissionStatus.PENDING


def test_the_next_attempt_waits_for_its_backoff_from_the_recorded_times() -> None:
    attempt = Attempt(1, "batch", NOW - timedelta(seconds=4), Status.FAILED, "TaskFailed")
    waiting = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        Status.PENDING,
        retry=THREE,
        attempts=(attempt,),
        batch_name="batch-a2",
    )
    early = plan_scenario(facts(waiting), NOW)
    assert "s1-first" not in early.job_changes and early.requeue_after == 6  # 10 s after the failure
    due = plan_scenario(facts(waiting), NOW + timedelta(seconds=6))
    assert due.job_changes["s1-first"].create_batch
    # A skippable task being retried is not skipped: its outputs were not written by the failed attempt.


def test_the_backoff_grows_by_the_factor_and_the_limit_ends_the_retries() -> None:
    attempts = tuple(Attempt(n, f"b{n}", NOW - timedelta(seconds=100 - n), Status.FAILED, "TaskFailed") for n in (1, 2))
    plan = plan_scenario(facts(failing(*attempts)), NOW)
    assert plan.job_changes["s1-first"].next_attempt_at == NOW + timedelta(seconds=40)  # 10 * 2**2
    last = tuple(Attempt(n, f"b{n}", T0, Status.FAILED, "TaskFailed") for n in (1, 2, 3))
    final = plan_scenario(facts(failing(*last), job("second", Status.SUBMITTED, Status.BLOCKED)), NOW)
    change = final.job_changes["s1-first"]
    assert moves(final, "s1-first") == [Status.FAILED]
    assert change.attempts is not None and [a.number for a in change.attempts] == [1, 2, 3, 4]
    assert change.reason == "TaskFailed" and change.stacktrace == ["Traceback..."]
    assert moves(final, "s1-second") == [Status.ABANDONED]


def test_on_error_does_not_retry_an_exception_but_retries_a_deleted_pod() -> None:
    on_error = replace(THREE, policy=RetryPolicy.ON_ERROR)
    exception = plan_scenario(facts(failing(strategy=on_error)), NOW)
    assert moves(exception, "s1-first") == [Status.FAILED]
    gone = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=RunFacts("batch", "uid-1", failed_reason="BackoffLimitExceeded"),
        retry=on_error,
        batch_name="batch",
    )
    plan = plan_scenario(facts(gone), NOW)
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.PENDING]
    assert change.attempts is not None and change.attempts[0].reason == "PodDeleted"
    assert change.delete_batch and change.batch_name == "batch"


def test_a_deleted_batch_job_is_an_infrastructure_error() -> None:
    gone = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        batch_recorded="uid-1",
        retry=replace(THREE, policy=RetryPolicy.ON_ERROR),
    )
    plan = plan_scenario(facts(gone), NOW)
    assert moves(plan, "s1-first") == []  # PENDING stays PENDING: the attempt is recorded, the retry scheduled
    change = plan.job_changes["s1-first"]
    assert change.attempts is not None and change.attempts[0].reason == "BatchJobDeleted"
    assert change.next_attempt_at == NOW + timedelta(seconds=10)


def test_success_after_retries_records_every_attempt_and_clears_the_retry_message() -> None:
    attempts = tuple(Attempt(n, f"b{n}", T0, Status.FAILED, "TaskFailed") for n in (1, 2))
    done = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        batch_recorded="uid-1",
        run=run("Succeeded", started=True, termination_message='{"ok": true}', exit_code=0),
        retry=THREE,
        attempts=attempts,
        batch_name="batch",
    )
    plan = plan_scenario(facts(done), NOW)
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.RUNNING, Status.COMPLETED]
    assert change.attempts is not None
    assert [(a.number, a.status) for a in change.attempts] == [
        (1, Status.FAILED),
        (2, Status.FAILED),
        (3, Status.COMPLETED),
    ]
    assert {"message", "nextAttemptAt"} <= change.clear


def test_without_a_strategy_nothing_changes() -> None:
    plan = plan_scenario(facts(failing(strategy=None)), NOW)  # type: ignore[arg-type]
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.FAILED] and change.attempts is None and not change.clear


def test_cancel_during_the_backoff_cancels_and_abandons() -> None:
    attempt = Attempt(1, "batch", NOW, Status.FAILED, "TaskFailed")
    waiting = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        Status.PENDING,
        retry=THREE,
        attempts=(attempt,),
        cancel_request="true",
    )
    plan = plan_scenario(facts(waiting, job("second", Status.SUBMITTED, Status.BLOCKED)), NOW)
    assert moves(plan, "s1-first") == [Status.CANCELED]
    assert not plan.job_changes["s1-first"].create_batch
    assert moves(plan, "s1-second") == [Status.ABANDONED]
    assert plan.submissions["s1"].status is SubmissionStatus.CANCELED


def _with_deadline(deadline_seconds: float, *jobs: object) -> ScenarioFacts:
    base = facts(*jobs)  # type: ignore[arg-type]
    subs = [SubmissionFacts("s1", T0, ("first", "second", "lone"), True, T0 + timedelta(seconds=deadline_seconds))]
    return replace(base, submissions=subs)


def test_a_submission_deadline_fails_every_unfinished_job_and_stops_the_running_one() -> None:
    running = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=run("Running", started=True),
    )
    blocked = job("second", Status.SUBMITTED, Status.BLOCKED)
    done = job("lone", Status.SUBMITTED, Status.PENDING, Status.RUNNING, Status.COMPLETED)
    plan = plan_scenario(_with_deadline(30, running, blocked, done), NOW)
    assert moves(plan, "s1-first") == [Status.FAILED] and moves(plan, "s1-second") == [Status.FAILED]
    assert moves(plan, "s1-lone") == []
    first = plan.job_changes["s1-first"]
    assert first.reason == "SubmissionDeadlineExceeded" and first.delete_batch and first.batch_name == "batch"
    assert first.transitions[0].reason == "SubmissionDeadlineExceeded"
    assert not plan.job_changes["s1-second"].delete_batch  # nothing runs it
    assert plan.submissions["s1"].status is SubmissionStatus.FAILED


def test_a_deadline_is_never_retried_and_is_scheduled_before_it_passes() -> None:
    waiting = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        Status.PENDING,
        retry=THREE,
        attempts=(Attempt(1, "batch", NOW, Status.FAILED, "TaskFailed"),),
    )
    late = plan_scenario(_with_deadline(30, waiting), NOW)
    assert moves(late, "s1-first") == [Status.FAILED]
    assert "nextAttemptAt" in late.job_changes["s1-first"].clear
    early = plan_scenario(
        _with_deadline(
            90,
            job(
                "first",
                Status.SUBMITTED,
                Status.PENDING,
                Status.RUNNING,
                batch_recorded="uid-1",
                run=run("Running", started=True),
            ),
        ),
        NOW,
    )
    assert moves(early, "s1-first") == [] and early.requeue_after == 30
    finished = plan_scenario(
        _with_deadline(30, job("first", Status.SUBMITTED, Status.PENDING, Status.RUNNING, Status.COMPLETED)), NOW
    )
    assert finished.job_changes == {} and finished.requeue_after is None


def test_a_retry_plan_is_idempotent_once_applied() -> None:
    first = plan_scenario(facts(failing()), NOW)
    change = first.job_changes["s1-first"]
    applied = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        Status.PENDING,
        retry=THREE,
        attempts=change.attempts,
        batch_name="batch-a2",
    )
    again = plan_scenario(facts(applied), NOW + timedelta(seconds=1))
    assert again.job_changes == {} and again.requeue_after == 9


def test_a_job_canceled_while_running_is_never_retried_when_its_pod_fails() -> None:
    """Taipy's cancel of a RUNNING job keeps it RUNNING and abandons its dependents: it must not run again."""
    canceled = replace(failing(), cancel_request="true", cancel_handled=True)  # type: ignore[type-var]
    plan = plan_scenario(facts(canceled, job("second", Status.SUBMITTED, Status.ABANDONED)), NOW)  # type: ignore[arg-type]
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.FAILED] and change.reason == "TaskFailed"
    assert change.next_attempt_at is None and change.attempts is not None and len(change.attempts) == 1
    assert plan.requeue_after is None


def test_a_pod_that_succeeded_before_the_deadline_pass_completes() -> None:
    """Its outputs are in the store already: the deadline must not override a success the operator has not
    recorded yet."""
    succeeded = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=run("Succeeded", started=True, termination_message='{"ok": true}', exit_code=0),
    )
    plan = plan_scenario(_with_deadline(30, succeeded), NOW)
    assert moves(plan, "s1-first") == [Status.COMPLETED]
    assert not plan.job_changes["s1-first"].delete_batch
