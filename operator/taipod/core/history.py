"""A job's status history and the times and durations derived from it (semantics.md §2.4, §3.1).

Taipy keeps only the last timestamp per status name; taipod keeps every transition (decisions, "Entities and where
state lives") and derives Taipy's values from the last record per status, so they are the same.
All datetimes are timezone-aware UTC; durations are in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from taipod.core.status import Status

__all__ = [
    "JobTimes",
    "SubmissionTimes",
    "Transition",
    "append",
    "blocked_duration",
    "current_status",
    "execution_duration",
    "job_times",
    "pending_duration",
    "submission_execution_duration",
    "submission_times",
]


@dataclass(frozen=True)
class Transition:
    """One entry of a Job's status history: ``{status, at, reason?}``."""

    status: Status
    at: datetime
    reason: str | None = None


def append(
    history: Sequence[Transition], status: Status, at: datetime, reason: str | None = None
) -> tuple[Transition, ...]:
    """``history`` with a transition to ``status`` at ``at``.

    Idempotent: if ``status`` is already the current status the history is returned unchanged (a reconcile that
    repeats itself records nothing). A transition out of a finished status raises ``ValueError`` (§2.3: the
    orchestrator never performs one).
    """
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: status times must be timezone-aware (UTC)")
    if history:
        last = history[-1].status
        if last is status:
            return tuple(history)
        if last.is_finished():
            raise ValueError(f"a job in the finished status {last} cannot become {status}")
    return (*history, Transition(status, at, reason))


def current_status(history: Sequence[Transition]) -> Status | None:
    """The status of the last transition, or None for an empty history."""
    return history[-1].status if history else None


def _last_records(history: Iterable[Transition]) -> dict[Status, datetime]:
    """Taipy's ``status_change_records``: the last time each status was entered."""
    return {t.status: t.at for t in history}


@dataclass(frozen=True)
class JobTimes:
    """The derived timestamps of a Job status."""

    submitted_at: datetime | None = None
    blocked_at: datetime | None = None
    pending_at: datetime | None = None
    run_at: datetime | None = None
    finished_at: datetime | None = None


def _finished_at(history: Sequence[Transition]) -> datetime | None:
    """The time of the current status if it is finished, else None (§2.4)."""
    return history[-1].at if history and history[-1].status.is_finished() else None


def job_times(history: Sequence[Transition]) -> JobTimes:
    """Last record per status, and ``finished_at`` as the time of the current status if it is finished (§2.4)."""
    records = _last_records(history)
    return JobTimes(
        submitted_at=records.get(Status.SUBMITTED),
        blocked_at=records.get(Status.BLOCKED),
        pending_at=records.get(Status.PENDING),
        run_at=records.get(Status.RUNNING),
        finished_at=_finished_at(history),
    )


def execution_duration(history: Sequence[Transition], now: datetime) -> float | None:
    """None if the job never ran; else until ``finished_at`` if finished, until ``now`` otherwise (§2.4)."""
    run_at = _last_records(history).get(Status.RUNNING)
    if run_at is None:
        return None
    return ((_finished_at(history) or now) - run_at).total_seconds()


def pending_duration(history: Sequence[Transition], now: datetime) -> float | None:
    """None if the job was never PENDING; else until RUNNING if it ran, else until ``now`` while unfinished (§2.4).

    Taipy raises ``KeyError`` for a job that went PENDING -> SKIPPED or PENDING -> CANCELED (no RUNNING record);
    taipod must not raise and measures up to ``finished_at`` instead.
    """
    records = _last_records(history)
    pending_at = records.get(Status.PENDING)
    if pending_at is None:
        return None
    status = history[-1].status
    if not (status.is_finished() or status is Status.RUNNING):
        return (now - pending_at).total_seconds()
    # RUNNING - PENDING; a job that finished without running (SKIPPED, CANCELED, ABANDONED) has no RUNNING record:
    # it was pending until it finished.
    end = records.get(Status.RUNNING, history[-1].at)
    return (end - pending_at).total_seconds()


def blocked_duration(history: Sequence[Transition], now: datetime) -> float | None:
    """None if the job was never BLOCKED; else until PENDING, else until ``finished_at`` if finished, else ``now``."""
    records = _last_records(history)
    blocked_at = records.get(Status.BLOCKED)
    if blocked_at is None:
        return None
    end = records.get(Status.PENDING) or _finished_at(history) or now
    return (end - blocked_at).total_seconds()


class SubmissionTimes(NamedTuple):
    """A submission's derived times (§3.1)."""

    submitted_at: datetime | None
    run_at: datetime | None
    finished_at: datetime | None


def submission_times(histories: Iterable[Sequence[Transition]], now: datetime | None = None) -> SubmissionTimes:
    """Earliest ``submitted_at`` and ``run_at``, and latest ``finished_at`` only if every job has one (§3.1).

    ``now`` is accepted for symmetry with the duration helpers: these times do not depend on it. With no jobs every
    time is None (Taipy's ``max()`` of nothing would raise).
    """
    del now
    times = [job_times(history) for history in histories]
    submitted = [t.submitted_at for t in times if t.submitted_at is not None]
    run = [t.run_at for t in times if t.run_at is not None]
    finished = [t.finished_at for t in times if t.finished_at is not None]
    return SubmissionTimes(
        submitted_at=min(submitted, default=None),
        run_at=min(run, default=None),
        finished_at=max(finished) if times and len(finished) == len(times) else None,
    )


def submission_execution_duration(histories: Iterable[Sequence[Transition]], now: datetime) -> float | None:
    """``finished_at - run_at``, or ``now - run_at`` while unfinished, or None if nothing ran (§3.1)."""
    times = submission_times(histories)
    if times.run_at is None:
        return None
    return ((times.finished_at or now) - times.run_at).total_seconds()
