"""A job's status history as timeline segments, and a submission's jobs as a Gantt chart. Plain Python.

A segment is the time a job spent in one status: from its transition to the next one (or ``now`` while it is the
current, unfinished status). A finished status is a point (start == end). Times are offsets in seconds from the
chart's start, so the page only scales them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taipod.core.history import Transition

__all__ = ["Bar", "Gantt", "Segment", "gantt", "segments"]


@dataclass(frozen=True)
class Segment:
    status: str
    start: datetime
    end: datetime
    reason: str | None = None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_json(self, origin: datetime | None = None) -> dict[str, Any]:
        base: dict[str, Any] = {"status": self.status, "start": self.start.isoformat(), "end": self.end.isoformat()}
        base["seconds"] = self.seconds
        base["reason"] = self.reason or ""
        if origin is not None:
            base["from"] = (self.start - origin).total_seconds()
            base["to"] = (self.end - origin).total_seconds()
        return base


def segments(history: Sequence[Transition], now: datetime) -> list[Segment]:
    """One segment per transition, in order. A record out of order (clock skew) never yields a negative length."""
    found: list[Segment] = []
    for index, record in enumerate(history):
        if index + 1 < len(history):
            end = history[index + 1].at
        elif record.status.is_finished():
            end = record.at
        else:
            end = max(now, record.at)
        found.append(Segment(record.status.name, record.at, max(end, record.at), record.reason))
    return found


@dataclass(frozen=True)
class Bar:
    """One job of a Gantt chart: its label and its segments."""

    id: str
    task: str
    status: str
    segments: list[Segment]


@dataclass(frozen=True)
class Gantt:
    start: datetime | None
    end: datetime | None
    bars: list[Bar]

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds() if self.start and self.end else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "seconds": self.seconds,
            "bars": [
                {
                    "id": bar.id,
                    "task": bar.task,
                    "status": bar.status,
                    "segments": [s.to_json(self.start) for s in bar.segments],
                }
                for bar in self.bars
            ],
        }


def gantt(jobs: Sequence[tuple[str, str, Sequence[Transition]]], now: datetime) -> Gantt:
    """The Gantt chart of ``(job id, task, history)`` triples: bars ordered by their first transition, then task."""
    bars = [
        Bar(job_id, task, history[-1].status.name if history else "SUBMITTED", segments(history, now))
        for job_id, task, history in jobs
    ]
    bars.sort(key=lambda bar: (bar.segments[0].start if bar.segments else now, bar.task, bar.id))
    starts = [bar.segments[0].start for bar in bars if bar.segments]
    ends = [bar.segments[-1].end for bar in bars if bar.segments]
    return Gantt(min(starts, default=None), max(ends, default=None), bars)
