"""Taipy's status enums (semantics.md §2.2, §3.2) and the data-node ``Scope`` (§9).

Names and values are Taipy's, so ``print(job.status)`` prints ``Status.RUNNING`` exactly as in Taipy's documentation
(the default ``Enum.__str__``; do not override it).
"""

from __future__ import annotations

import enum

__all__ = ["FINISHED", "NOT_STARTED", "Scope", "Status", "SubmissionStatus"]


class Status(enum.Enum):
    """The status of a job (semantics.md §2.2)."""

    SUBMITTED = 1
    BLOCKED = 2
    PENDING = 3
    RUNNING = 4
    CANCELED = 5
    FAILED = 6
    COMPLETED = 7
    SKIPPED = 8
    ABANDONED = 9

    def is_finished(self) -> bool:
        """True for COMPLETED, FAILED, CANCELED, SKIPPED and ABANDONED: no transition leaves these."""
        return self in FINISHED

    def is_submitted(self) -> bool:
        return self is Status.SUBMITTED

    def is_blocked(self) -> bool:
        return self is Status.BLOCKED

    def is_pending(self) -> bool:
        return self is Status.PENDING

    def is_running(self) -> bool:
        return self is Status.RUNNING

    def is_canceled(self) -> bool:
        return self is Status.CANCELED

    def is_failed(self) -> bool:
        return self is Status.FAILED

    def is_completed(self) -> bool:
        return self is Status.COMPLETED

    def is_skipped(self) -> bool:
        return self is Status.SKIPPED

    def is_abandoned(self) -> bool:
        return self is Status.ABANDONED


FINISHED: frozenset[Status] = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.CANCELED, Status.SKIPPED, Status.ABANDONED}
)
"""Statuses a job never leaves (Taipy's ``_is_finished``)."""

NOT_STARTED: frozenset[Status] = frozenset({Status.SUBMITTED, Status.BLOCKED, Status.PENDING})
"""Statuses of a job whose task has not started: these can be canceled or abandoned (decisions, "Cancel")."""


class SubmissionStatus(enum.Enum):
    """The status of a submission (semantics.md §3.2)."""

    SUBMITTED = 0
    UNDEFINED = 1
    BLOCKED = 2
    PENDING = 3
    RUNNING = 4
    CANCELED = 5
    FAILED = 6
    COMPLETED = 7

    def is_finished(self) -> bool:
        """COMPLETED, FAILED or CANCELED. UNDEFINED is *not* finished (Taipy's ``Submission.is_finished``)."""
        return self in (SubmissionStatus.COMPLETED, SubmissionStatus.FAILED, SubmissionStatus.CANCELED)

    def is_deletable(self) -> bool:
        """Finished or UNDEFINED (Taipy's ``_SubmissionManager._is_deletable``)."""
        return self.is_finished() or self is SubmissionStatus.UNDEFINED


class Scope(enum.Enum):
    """Where a data node is shared (semantics.md §9): per scenario (default), per cycle or globally."""

    SCENARIO = 1
    CYCLE = 2
    GLOBAL = 3
