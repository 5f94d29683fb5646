"""Data-node readiness, validity and Taipy's skip rule (semantics.md §4.3, §4.6).

A data node's state lives in the Scenario status (decisions, "Entities and where state lives"); these functions
decide on a snapshot of it. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from taipod.core.dag import DataNodeDef, TaskDef

__all__ = [
    "NEVER_WRITTEN",
    "DataNodeState",
    "blocking_inputs",
    "initial_state",
    "is_ready_for_reading",
    "is_valid",
    "needs_to_run",
]


@dataclass(frozen=True)
class DataNodeState:
    """What the operator knows of one data node: when it was last written and whether a job holds its edit lock."""

    last_edit_date: datetime | None = None
    edit_in_progress: bool = False
    editor_job: str | None = None


NEVER_WRITTEN = DataNodeState()
"""The state of a data node absent from the Scenario status."""


def initial_state(defn: DataNodeDef, now: datetime) -> DataNodeState:
    """The state at scenario creation: default data counts as a write (§9, "default_data")."""
    return DataNodeState(last_edit_date=now if defn.has_default_data else None)


def is_ready_for_reading(state: DataNodeState) -> bool:
    """Written at least once and not locked by a job writing it (§4.3)."""
    return state.last_edit_date is not None and not state.edit_in_progress


def is_valid(defn: DataNodeDef, state: DataNodeState, now: datetime) -> bool:
    """Written, and not expired: ``now <= last_edit_date + validity_period`` when a period is set (§4.6, step 3).

    Like Taipy, the edit lock plays no part here.
    """
    if state.last_edit_date is None:
        return False
    return defn.validity_period is None or now <= state.last_edit_date + defn.validity_period


def blocking_inputs(task: TaskDef, states: Mapping[str, DataNodeState]) -> list[str]:
    """The inputs of ``task`` that are not ready for reading, in input order; a job with any is BLOCKED (§4.2)."""
    return [dn for dn in task.inputs if not is_ready_for_reading(states.get(dn, NEVER_WRITTEN))]


def needs_to_run(
    task: TaskDef,
    defs: Mapping[str, DataNodeDef],
    states: Mapping[str, DataNodeState],
    now: datetime,
    force: bool,
) -> bool:
    """Taipy's ``_needs_to_run`` (§4.6), checked in Taipy's order; False means the job is SKIPPED."""
    if force or not task.skippable or not task.outputs:
        return True
    outputs = [states.get(dn, NEVER_WRITTEN) for dn in task.outputs]
    if not all(is_valid(defs[dn], state, now) for dn, state in zip(task.outputs, outputs, strict=True)):
        return True
    if not task.inputs:
        return False
    input_dates = [states.get(dn, NEVER_WRITTEN).last_edit_date for dn in task.inputs]
    if any(date is None for date in input_dates):
        # Not reachable from the orchestrator (a job with an unwritten input is BLOCKED, never dispatched) and
        # undefined in Taipy (max() over None raises). Running is the safe answer: the job then fails with a clear
        # "no data" error instead of being silently skipped.
        return True
    latest_input = max(date for date in input_dates if date is not None)
    oldest_output = min(state.last_edit_date for state in outputs if state.last_edit_date is not None)
    return latest_input > oldest_output  # strict: equal timestamps skip
