"""A submission's status, derived from the current statuses of its jobs (semantics.md §3.3).

Taipy updates the submission status incrementally, on each job status change, with sticky flags and three sets
(§3.3). taipod derives it instead from the jobs' *current* statuses, which is idempotent and survives operator
restarts and missed events. Why the two agree:

- FAILED, CANCELED, ABANDONED, COMPLETED and SKIPPED are finished: a job never leaves them (§2.3). So Taipy's sticky
  flags (``is_canceled``, ``is_abandoned``, ``is_completed``) and its sticky FAILED are true exactly when some job
  currently has that status.
- FAILED stops Taipy's processing and CANCELED/ABANDONED take precedence over the sets, so the sets only matter while
  no job is FAILED, CANCELED or ABANDONED. Then every job moves along SUBMITTED -> BLOCKED -> PENDING -> RUNNING ->
  COMPLETED (or PENDING -> SKIPPED), and the bookkeeping keeps ``blocked_jobs``, ``pending_jobs`` and
  ``running_jobs`` equal to the sets of jobs currently BLOCKED, PENDING and RUNNING. (A CANCELED job stays in Taipy's
  sets, but CANCELED then wins anyway.)
- Hence, in Taipy's order: any FAILED -> FAILED; any CANCELED -> CANCELED; any ABANDONED -> UNDEFINED; any RUNNING
  -> RUNNING; any PENDING -> PENDING; any BLOCKED -> BLOCKED; any COMPLETED or SKIPPED -> COMPLETED.
- Zero jobs, or every job still SUBMITTED: Taipy has seen no status change yet (creating a job emits none), so the
  submission is still SUBMITTED (§3.3, consequences).

One deliberate difference: a job still SUBMITTED next to decided jobs counts as PENDING. Taipy never shows that
mix outside its atomic submit loop (where it could briefly report BLOCKED), but taipod's operator decides jobs one
reconcile at a time, and Taipy's literal rule would then call a submission COMPLETED while a job is still undecided.
"""

from __future__ import annotations

from collections.abc import Iterable

from taipod.core.status import Status, SubmissionStatus

__all__ = ["submission_is_deletable", "submission_is_finished", "submission_status"]

# (job status present, resulting submission status), first match wins; see the module docstring.
_PRECEDENCE: tuple[tuple[frozenset[Status], SubmissionStatus], ...] = (
    (frozenset({Status.FAILED}), SubmissionStatus.FAILED),
    (frozenset({Status.CANCELED}), SubmissionStatus.CANCELED),
    (frozenset({Status.ABANDONED}), SubmissionStatus.UNDEFINED),
    (frozenset({Status.RUNNING}), SubmissionStatus.RUNNING),
    (frozenset({Status.PENDING, Status.SUBMITTED}), SubmissionStatus.PENDING),
    (frozenset({Status.BLOCKED}), SubmissionStatus.BLOCKED),
    (frozenset({Status.COMPLETED, Status.SKIPPED}), SubmissionStatus.COMPLETED),
)


def submission_status(statuses: Iterable[Status]) -> SubmissionStatus:
    """The submission status for jobs currently in ``statuses`` (Taipy's rule, §3.3, as a function of the present)."""
    present = set(statuses)
    if present <= {Status.SUBMITTED}:
        return SubmissionStatus.SUBMITTED
    for trigger, result in _PRECEDENCE:
        if present & trigger:
            return result
    return SubmissionStatus.UNDEFINED  # unreachable: every job status is covered above


def submission_is_finished(statuses: Iterable[Status]) -> bool:
    """COMPLETED, FAILED or CANCELED, even if independent jobs still run (§3.3: FAILED/CANCELED come early)."""
    return submission_status(statuses).is_finished()


def submission_is_deletable(statuses: Iterable[Status]) -> bool:
    """Finished or UNDEFINED (§3.2)."""
    return submission_status(statuses).is_deletable()
