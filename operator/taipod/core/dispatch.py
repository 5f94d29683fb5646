"""When a job became runnable: the end of the last of its upstream jobs (for the dispatch-latency metric)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from taipod.core.dag import Dag

__all__ = ["upstream_end"]


def upstream_end(dag: Dag, task: str, ends: Mapping[str, datetime]) -> datetime | None:
    """The latest end among the tasks that write one of ``task``'s inputs, given when tasks of the same submission
    ended (``ends``: task -> end). None when no such task ended: a first task, or inputs written by the SDK, or
    producers outside the submission, leave nothing to measure from. Cost: the task's inputs times their producers."""
    found = [
        ends[producer]
        for dn in dag.tasks[task].inputs
        for producer in dag.producers(dn)
        if producer != task and producer in ends
    ]
    return max(found, default=None)
