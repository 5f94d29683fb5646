"""One row of the job list per Job resource, and which actions its status allows (Taipy's job selector rules).

Plain Python, no Kubernetes imports. The rules are the core's: a cancel is allowed unless ``plan_cancel`` refuses it
(FAILED, CANCELED, ABANDONED); a job is deletable when finished (``FINISHED``); the durations are
``taipod.core.history``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from taipod.core import history as core_history
from taipod.core.history import Transition
from taipod.core.jobs import JobView, plan_cancel
from taipod.core.status import FINISHED, Status
from taipod.operator.names import ANNOTATION_CANCEL, ANNOTATION_CREATED_AT, parse_time

__all__ = ["JobRow", "can_cancel", "is_deletable", "parse_history", "row_from_body", "status_of"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def can_cancel(status: Status) -> bool:
    """Whether a cancel request is allowed: the core's ``plan_cancel`` refuses FAILED, CANCELED and ABANDONED jobs.

    A RUNNING, COMPLETED or SKIPPED job may be canceled: it keeps its status and its dependents are abandoned.
    """
    return plan_cancel(JobView("", "", "", status), []).refused is None


def is_deletable(status: Status) -> bool:
    """A finished job (COMPLETED, FAILED, CANCELED, SKIPPED, ABANDONED) is deletable; others only when forced."""
    return status in FINISHED


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(str(text))
    except ValueError:
        return None


def status_of(body: Mapping[str, Any]) -> Status:
    raw = (body.get("status") or {}).get("status")
    return Status[str(raw)] if raw in Status.__members__ else Status.SUBMITTED


def _created(body: Mapping[str, Any]) -> datetime:
    meta = body.get("metadata") or {}
    history = (body.get("status") or {}).get("history") or []
    if history and history[0].get("status") == "SUBMITTED":
        found = _time(history[0].get("at"))
        if found is not None:
            return found
    for text in ((meta.get("annotations") or {}).get(ANNOTATION_CREATED_AT), meta.get("creationTimestamp")):
        found = _time(text)
        if found is not None:
            return found
    return _EPOCH


def parse_history(body: Mapping[str, Any]) -> list[Transition]:
    """The Job's status history; without one (no operator yet), SUBMITTED at its creation."""
    records: list[Transition] = []
    for entry in (body.get("status") or {}).get("history") or []:
        if entry.get("status") in Status.__members__:
            records.append(
                Transition(Status[str(entry["status"])], _time(entry.get("at")) or _EPOCH, entry.get("reason"))
            )
    if not records:
        records.append(Transition(Status.SUBMITTED, _created(body)))
        current = status_of(body)
        if current is not Status.SUBMITTED:
            records.append(Transition(current, _created(body)))
    return records


@dataclass(frozen=True)
class JobRow:
    """What the list shows of a job, and what its status allows."""

    id: str
    namespace: str
    task: str
    scenario: str
    submission: str
    created: datetime
    status: Status
    reason: str
    history: tuple[Transition, ...]
    cancel_requested: bool
    cancel_answer: str

    @property
    def key(self) -> str:
        """Unique across namespaces."""
        return f"{self.namespace}/{self.id}"

    @property
    def submitted_label(self) -> str:
        """The submitted entity: the scenario the submission ran (its Kubernetes name)."""
        return self.scenario

    @property
    def submitted_id(self) -> str:
        return f"Scenario/{self.scenario}"

    @property
    def can_cancel(self) -> bool:
        return can_cancel(self.status)

    @property
    def deletable(self) -> bool:
        return is_deletable(self.status)

    def durations(self, now: datetime) -> dict[str, float | None]:
        """Seconds blocked, pending and executing (None: never in that status), by the core's rules."""
        return {
            "blocked": core_history.blocked_duration(self.history, now),
            "pending": core_history.pending_duration(self.history, now),
            "execution": core_history.execution_duration(self.history, now),
        }

    def to_json(self) -> dict[str, Any]:
        """The row as the page receives it (text only: the page renders every field as text)."""
        return {
            "key": self.key,
            "id": self.id,
            "namespace": self.namespace,
            "task": self.task,
            "scenario": self.scenario,
            "submittedLabel": self.submitted_label,
            "submittedId": self.submitted_id,
            "submission": self.submission,
            "created": self.created.isoformat(),
            "status": self.status.name,
            "reason": self.reason,
            "canCancel": self.can_cancel,
            "deletable": self.deletable,
            "cancelRequested": self.cancel_requested,
            "cancelAnswer": self.cancel_answer,
        }


def row_from_body(body: Mapping[str, Any]) -> JobRow:
    """The row of one Job resource (``jobs.taipod.io``) as the API server returns it."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    return JobRow(
        id=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        task=str(spec.get("task", "")),
        scenario=str(spec.get("scenario", "")),
        submission=str(spec.get("submission", "")),
        created=_created(body),
        status=status_of(body),
        reason=str(status.get("reason") or ""),
        history=tuple(parse_history(body)),
        cancel_requested=bool((meta.get("annotations") or {}).get(ANNOTATION_CANCEL)),
        cancel_answer=str(status.get("cancel") or ""),
    )
