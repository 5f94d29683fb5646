"""Submission status from the jobs' current statuses, checked against Taipy's incremental algorithm (§3.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taipod.core.status import Status, SubmissionStatus
from taipod.core.submission_status import submission_is_deletable, submission_is_finished, submission_status

J = Status
SS = SubmissionStatus


class TaipySubmission:
    """Taipy's ``_SubmissionManager._update_submission_status``, literally (semantics.md §3.3).

    Called once per job status change. Creating a job (SUBMITTED) calls nothing, as in Taipy.
    """

    def __init__(self) -> None:
        self.status = SS.SUBMITTED
        self.is_completed = self.is_abandoned = self.is_canceled = False
        self.running_jobs: set[int] = set()
        self.blocked_jobs: set[int] = set()
        self.pending_jobs: set[int] = set()

    def on_job_status(self, job: int, status: Status) -> None:
        if self.status is SS.FAILED:  # 1. FAILED is sticky: stop
            return
        if status is J.FAILED:  # 2.
            self.status = SS.FAILED
            return
        if status is J.CANCELED:  # 3. bookkeeping; a canceled job stays in its sets
            self.is_canceled = True
        elif status is J.BLOCKED:
            self.blocked_jobs.add(job)
            self.pending_jobs.discard(job)
        elif status in (J.PENDING, J.SUBMITTED):
            self.pending_jobs.add(job)
            self.blocked_jobs.discard(job)
        elif status is J.RUNNING:
            self.running_jobs.add(job)
            self.pending_jobs.discard(job)
        elif status in (J.COMPLETED, J.SKIPPED):
            self.is_completed = True
            for jobs in (self.running_jobs, self.blocked_jobs, self.pending_jobs):
                jobs.discard(job)
        elif status is J.ABANDONED:
            self.is_abandoned = True
            for jobs in (self.running_jobs, self.blocked_jobs, self.pending_jobs):
                jobs.discard(job)
        # 4. the first rule that matches
        if self.is_canceled:
            self.status = SS.CANCELED
        elif self.is_abandoned:
            self.status = SS.UNDEFINED
        elif self.running_jobs:
            self.status = SS.RUNNING
        elif self.pending_jobs:
            self.status = SS.PENDING
        elif self.blocked_jobs:
            self.status = SS.BLOCKED
        elif self.is_completed:
            self.status = SS.COMPLETED
        else:
            self.status = SS.UNDEFINED


# Job transitions taipod performs: Taipy's (§2.3), plus abandoning any not-started job (decisions, "Cancel"),
# RUNNING -> CANCELED (the optional terminate extension) and PENDING -> FAILED (e.g. an image that cannot be pulled).
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    J.SUBMITTED: (J.BLOCKED, J.PENDING, J.CANCELED, J.ABANDONED),
    J.BLOCKED: (J.PENDING, J.CANCELED, J.ABANDONED),
    J.PENDING: (J.RUNNING, J.SKIPPED, J.CANCELED, J.ABANDONED, J.FAILED),
    J.RUNNING: (J.COMPLETED, J.FAILED, J.CANCELED),
}


def expected_for_taipod(taipy: SubmissionStatus, statuses: list[Status]) -> SubmissionStatus:
    """Taipy's answer, with the one documented difference: an undecided job next to decided ones counts as pending.

    Taipy only shows that mix inside its atomic submit loop; taipod must not call such a submission BLOCKED or,
    worse, COMPLETED while a job is still undecided.
    """
    if taipy in (SS.BLOCKED, SS.COMPLETED) and J.SUBMITTED in statuses:
        return SS.PENDING
    return taipy


def run_steps(data: st.DataObject, statuses: list[Status], taipy: TaipySubmission, max_steps: int) -> None:
    """Apply random valid transitions, comparing both algorithms after each one."""
    for _ in range(max_steps):
        movable = [k for k, s in enumerate(statuses) if s in TRANSITIONS]
        if not movable:
            break
        k = data.draw(st.sampled_from(movable))
        statuses[k] = data.draw(st.sampled_from(TRANSITIONS[statuses[k]]))
        taipy.on_job_status(k, statuses[k])
        assert submission_status(statuses) is expected_for_taipod(taipy.status, statuses), statuses


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 6), st.data())
def test_equals_taipy_after_the_submit_loop(n: int, data: st.DataObject) -> None:
    """Taipy's flow: every job is decided (BLOCKED or PENDING) in creation order, then jobs progress at random.

    Once no job is SUBMITTED, the level-based function equals Taipy's incremental one at every step.
    """
    statuses = [J.SUBMITTED] * n
    taipy = TaipySubmission()
    assert submission_status(statuses) is taipy.status is SS.SUBMITTED
    for k in range(n):
        statuses[k] = data.draw(st.sampled_from([J.BLOCKED, J.PENDING]))
        taipy.on_job_status(k, statuses[k])
        assert submission_status(statuses) is expected_for_taipod(taipy.status, statuses)
    assert submission_status(statuses) is taipy.status
    for _ in range(4 * n):
        movable = [k for k, s in enumerate(statuses) if s in TRANSITIONS]
        if not movable:
            break
        k = data.draw(st.sampled_from(movable))
        statuses[k] = data.draw(st.sampled_from(TRANSITIONS[statuses[k]]))
        taipy.on_job_status(k, statuses[k])
        assert submission_status(statuses) is taipy.status, statuses


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 6), st.data())
def test_equals_taipy_for_any_order_of_transitions(n: int, data: st.DataObject) -> None:
    """taipod decides jobs one at a time, so any interleaving can happen; only the documented difference remains."""
    statuses = [J.SUBMITTED] * n
    run_steps(data, statuses, TaipySubmission(), max_steps=5 * n)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], SS.SUBMITTED),
        ([J.SUBMITTED], SS.SUBMITTED),
        ([J.SUBMITTED, J.SUBMITTED], SS.SUBMITTED),
        ([J.BLOCKED, J.BLOCKED], SS.BLOCKED),
        ([J.BLOCKED, J.PENDING], SS.PENDING),
        ([J.SUBMITTED, J.BLOCKED], SS.PENDING),  # the documented difference (Taipy: BLOCKED, transiently)
        ([J.SUBMITTED, J.COMPLETED], SS.PENDING),  # ... and never COMPLETED while a job is undecided
        ([J.PENDING, J.RUNNING, J.BLOCKED], SS.RUNNING),
        ([J.COMPLETED, J.RUNNING], SS.RUNNING),
        ([J.COMPLETED, J.BLOCKED], SS.BLOCKED),
        ([J.COMPLETED, J.SKIPPED], SS.COMPLETED),
        ([J.SKIPPED], SS.COMPLETED),
        ([J.COMPLETED, J.ABANDONED], SS.UNDEFINED),  # abandoned without a cancel: Taipy's UNDEFINED
        ([J.RUNNING, J.ABANDONED], SS.UNDEFINED),
        ([J.ABANDONED, J.CANCELED, J.COMPLETED], SS.CANCELED),
        ([J.CANCELED, J.RUNNING], SS.CANCELED),  # sticky and early: independent branches may still run
        ([J.CANCELED, J.FAILED], SS.FAILED),
        ([J.FAILED, J.RUNNING, J.PENDING], SS.FAILED),
    ],
)
def test_submission_status_table(statuses: list[Status], expected: SubmissionStatus) -> None:
    assert submission_status(statuses) is expected
    assert submission_status(reversed(statuses)) is expected
    assert submission_status(iter(statuses)) is expected
    assert submission_is_finished(statuses) is expected.is_finished()
    assert submission_is_deletable(statuses) is expected.is_deletable()


def test_finished_while_jobs_still_run() -> None:
    assert submission_is_finished([J.FAILED, J.RUNNING])
    assert not submission_is_finished([J.ABANDONED, J.COMPLETED])  # UNDEFINED is not finished...
    assert submission_is_deletable([J.ABANDONED, J.COMPLETED])  # ...but it is deletable
