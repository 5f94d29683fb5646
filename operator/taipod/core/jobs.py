"""Job-level orchestration decisions: initial status, dependents, cancel and abandon (semantics.md §2.3, §5, §6).

Jobs are seen through ``JobView``: the identity, submission, status and data-node keys of one Job resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from taipod.core.dag import TaskDef
from taipod.core.readiness import DataNodeState, blocking_inputs
from taipod.core.status import NOT_STARTED, Status

__all__ = [
    "CancelPlan",
    "JobView",
    "abandon_on_failure",
    "initial_status",
    "plan_cancel",
    "subsequent_jobs",
]


@dataclass(frozen=True)
class JobView:
    """The parts of a Job that the orchestration rules need. ``inputs``/``outputs`` are data-node keys."""

    id: str
    task: str
    submission: str
    status: Status
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


def initial_status(task: TaskDef, states: Mapping[str, DataNodeState]) -> Status:
    """BLOCKED if some input is not ready for reading, else PENDING (§4.2 step 5; ``force`` does not unblock)."""
    return Status.BLOCKED if blocking_inputs(task, states) else Status.PENDING


def subsequent_jobs(target: JobView, jobs: Iterable[JobView]) -> frozenset[str]:
    """Ids of the not-started jobs of the target's submission that depend, transitively, on its outputs (§5 step 2).

    Taipy searches only BLOCKED jobs; the decisions widen this to every job "that has not started" (SUBMITTED,
    BLOCKED, PENDING). As in Taipy, only such jobs propagate the dependency: a dependent that is already running or
    finished does not carry it further. Jobs of other submissions are never included, nor is the target.
    """
    by_input: dict[str, list[JobView]] = {}
    for job in jobs:
        if job.submission == target.submission and job.status in NOT_STARTED and job.id != target.id:
            for dn in dict.fromkeys(job.inputs):
                by_input.setdefault(dn, []).append(job)
    found: set[str] = set()
    reached = set(target.outputs)
    todo = list(reached)
    while todo:
        for job in by_input.get(todo.pop(), ()):
            if job.id in found:
                continue
            found.add(job.id)
            for dn in job.outputs:
                if dn not in reached:
                    reached.add(dn)
                    todo.append(dn)
    return frozenset(found)


def abandon_on_failure(failed: JobView, jobs: Iterable[JobView]) -> frozenset[str]:
    """The jobs to mark ABANDONED when ``failed`` fails: its subsequent jobs (§6, ``_fail_subsequent_jobs``)."""
    return subsequent_jobs(failed, jobs)


@dataclass(frozen=True)
class CancelPlan:
    """What ``cancel_job(target)`` does.

    - ``refused``: why nothing changes (target FAILED, CANCELED or ABANDONED); everything else is then empty.
    - ``canceled``: the target's id when it becomes CANCELED (it had not started), else empty.
    - ``abandoned``: the subsequent jobs, which become ABANDONED.
    - ``target_unchanged``: why the target keeps its status (RUNNING, COMPLETED or SKIPPED).
    - ``unlock``: data nodes whose edit lock is released, without touching their last edit date: the outputs of the
      target (even a running one, as in Taipy) and of every abandoned job.
    """

    refused: str | None = None
    canceled: frozenset[str] = field(default_factory=frozenset)
    abandoned: frozenset[str] = field(default_factory=frozenset)
    target_unchanged: str | None = None
    unlock: frozenset[str] = field(default_factory=frozenset)


_REFUSED = {
    Status.FAILED: "has already failed and cannot be canceled",
    Status.CANCELED: "has already been canceled",
    Status.ABANDONED: "has already been abandoned and cannot be canceled",
}
_UNCHANGED = {
    Status.RUNNING: "is running and cannot be canceled",
    Status.COMPLETED: "has already been completed and cannot be canceled",
    Status.SKIPPED: "has already been skipped and cannot be canceled",
}


def plan_cancel(target: JobView, jobs: Iterable[JobView], *, terminate_running: bool = False) -> CancelPlan:
    """Taipy's cancel rules (§5) as amended by the decisions ("Cancel").

    ``terminate_running`` is taipod's optional, explicit extension: a RUNNING target is then CANCELED too (the
    caller terminates its pod) instead of keeping its status.
    """
    if target.status in _REFUSED:
        return CancelPlan(refused=f"job {target.id} {_REFUSED[target.status]}")
    job_list = list(jobs)
    abandoned = subsequent_jobs(target, job_list)
    outputs = {job.id: job.outputs for job in job_list}
    unlock = set(target.outputs)
    for job_id in abandoned:
        unlock.update(outputs[job_id])
    if target.status in _UNCHANGED and not (terminate_running and target.status is Status.RUNNING):
        consequence = "its dependents are abandoned" if abandoned else "it has no dependents to abandon"
        return CancelPlan(
            abandoned=abandoned,
            target_unchanged=f"job {target.id} {_UNCHANGED[target.status]}; {consequence}",
            unlock=frozenset(unlock),
        )
    return CancelPlan(canceled=frozenset({target.id}), abandoned=abandoned, unlock=frozenset(unlock))
