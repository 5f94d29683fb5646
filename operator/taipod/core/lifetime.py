"""Deadlines and time-to-live, taipod's extensions to Taipy: when a submission must stop, when a finished submission
is deleted, and when the pods of a finished job are removed. Pure functions of recorded times, so an operator
restart decides the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DEADLINE_REASON", "Due", "deadline_of", "due", "first_set"]

DEADLINE_REASON = "SubmissionDeadlineExceeded"


@dataclass(frozen=True)
class Due:
    """Whether something timed is due now, or in how many seconds it will be."""

    now: bool
    in_seconds: float = 0.0


def due(since: datetime | None, after: timedelta | None, now: datetime) -> Due | None:
    """``since + after`` against ``now``; None when either is unknown (nothing is scheduled)."""
    if since is None or after is None:
        return None
    at = since + after
    if now >= at:
        return Due(True)
    return Due(False, (at - now).total_seconds())


def deadline_of(created_at: datetime, active_deadline_seconds: int | None) -> datetime | None:
    """A submission's deadline: its creation plus ``activeDeadlineSeconds`` (None: no deadline)."""
    if active_deadline_seconds is None:
        return None
    return created_at + timedelta(seconds=active_deadline_seconds)


def first_set(*values: int | None) -> int | None:
    """The first value that is set: the submission's, else the scenario's, else the operator's default."""
    return next((v for v in values if v is not None), None)
