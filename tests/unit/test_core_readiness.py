"""Readiness, validity and Taipy's skip rule (semantics.md §4.3, §4.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.dag import DataNodeDef, TaskDef
from taipod.core.readiness import (
    NEVER_WRITTEN,
    DataNodeState,
    blocking_inputs,
    initial_state,
    is_ready_for_reading,
    is_valid,
    needs_to_run,
)

T0 = datetime(2024, 10, 24, 12, 0, 0, tzinfo=UTC)
EARLY = T0 - timedelta(hours=1)
LATE = T0 + timedelta(hours=1)
NOW = T0 + timedelta(days=1)


def written(at: datetime = T0, *, locked: bool = False) -> DataNodeState:
    return DataNodeState(last_edit_date=at, edit_in_progress=locked, editor_job="JOB_x" if locked else None)


@pytest.mark.parametrize(
    ("state", "ready"),
    [
        (NEVER_WRITTEN, False),
        (DataNodeState(), False),
        (DataNodeState(edit_in_progress=True), False),
        (written(), True),
        (written(locked=True), False),
    ],
)
def test_is_ready_for_reading(state: DataNodeState, ready: bool) -> None:
    assert is_ready_for_reading(state) is ready


def test_initial_state_counts_default_data_as_written() -> None:
    assert initial_state(DataNodeDef("x", has_default_data=True), T0) == DataNodeState(last_edit_date=T0)
    assert initial_state(DataNodeDef("x"), T0) == NEVER_WRITTEN


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("validity", "state", "now", "valid"),
    [
        (None, NEVER_WRITTEN, T0, False),
        (HOUR, NEVER_WRITTEN, T0, False),
        (None, written(T0), T0 + timedelta(days=3650), True),  # no period: valid forever once written
        (None, written(T0, locked=True), T0, True),  # the lock plays no part in validity
        (HOUR, written(T0), T0, True),
        (HOUR, written(T0), T0 + HOUR, True),  # now == expiration date: still valid (<=)
        (HOUR, written(T0), T0 + HOUR + timedelta(microseconds=1), False),
        (timedelta(0), written(T0), T0, True),
        (timedelta(0), written(T0), T0 + timedelta(microseconds=1), False),
    ],
)
def test_is_valid(validity: timedelta | None, state: DataNodeState, now: datetime, valid: bool) -> None:
    assert is_valid(DataNodeDef("x", validity_period=validity), state, now) is valid


def test_blocking_inputs_in_input_order() -> None:
    t = TaskDef("t", "print", ("c", "a", "b", "d"), ("out",))
    states = {"a": written(), "b": written(locked=True), "d": DataNodeState()}
    assert blocking_inputs(t, states) == ["c", "b", "d"]  # c is missing: never written
    assert blocking_inputs(t, {dn: written() for dn in "abcd"}) == []
    assert blocking_inputs(TaskDef("t", "print"), {}) == []


# ---------------------------------------------------------------------------------------------------------------
# The skip rule, case by case (§4.6): True = run, False = skip.

DEFS = {
    "in1": DataNodeDef("in1"),
    "in2": DataNodeDef("in2"),
    "out1": DataNodeDef("out1"),
    "out2": DataNodeDef("out2"),
    "fresh_for_an_hour": DataNodeDef("fresh_for_an_hour", validity_period=HOUR),
}


def skippable(inputs: tuple[str, ...] = ("in1",), outputs: tuple[str, ...] = ("out1",)) -> TaskDef:
    return TaskDef("t", "mod:f", inputs, outputs, skippable=True)


SKIP_CASES: dict[str, tuple[TaskDef, dict[str, DataNodeState], datetime, bool, bool]] = {
    "force runs even when skippable and up to date": (
        skippable(),
        {"in1": written(EARLY), "out1": written(LATE)},
        NOW,
        True,
        True,
    ),
    "not skippable runs": (
        TaskDef("t", "mod:f", ("in1",), ("out1",), skippable=False),
        {"in1": written(EARLY), "out1": written(LATE)},
        NOW,
        False,
        True,
    ),
    "no outputs runs": (skippable(outputs=()), {"in1": written(EARLY)}, NOW, False, True),
    "output never written runs": (skippable(), {"in1": written(EARLY)}, NOW, False, True),
    "output missing from the states runs": (
        skippable(),
        {"in1": written(EARLY), "out2": written(LATE)},
        NOW,
        False,
        True,
    ),
    "one of two outputs never written runs": (
        skippable(outputs=("out1", "out2")),
        {"in1": written(EARLY), "out1": written(LATE)},
        NOW,
        False,
        True,
    ),
    "expired output runs": (
        skippable(outputs=("fresh_for_an_hour",)),
        {"in1": written(EARLY), "fresh_for_an_hour": written(T0)},
        T0 + 2 * HOUR,
        False,
        True,
    ),
    "output valid until exactly now skips": (
        skippable(outputs=("fresh_for_an_hour",)),
        {"in1": written(EARLY), "fresh_for_an_hour": written(T0)},
        T0 + HOUR,
        False,
        False,
    ),
    "no inputs and valid outputs skips": (skippable(inputs=()), {"out1": written(EARLY)}, NOW, False, False),
    "input newer than output runs": (skippable(), {"in1": written(LATE), "out1": written(EARLY)}, NOW, False, True),
    "input older than output skips": (skippable(), {"in1": written(EARLY), "out1": written(LATE)}, NOW, False, False),
    "equal dates skip (strict comparison)": (
        skippable(),
        {"in1": written(T0), "out1": written(T0)},
        NOW,
        False,
        False,
    ),
    "newest input against oldest output: one input newer than one output runs": (
        skippable(inputs=("in1", "in2"), outputs=("out1", "out2")),
        {"in1": written(EARLY), "in2": written(T0), "out1": written(T0 - timedelta(seconds=1)), "out2": written(LATE)},
        NOW,
        False,
        True,
    ),
    "newest input against oldest output: all outputs newer skips": (
        skippable(inputs=("in1", "in2"), outputs=("out1", "out2")),
        {"in1": written(EARLY), "in2": written(T0), "out1": written(T0), "out2": written(LATE)},
        NOW,
        False,
        False,
    ),
    "locked outputs do not matter (outputs are locked by the submission itself)": (
        skippable(),
        {"in1": written(EARLY), "out1": written(LATE, locked=True)},
        NOW,
        False,
        False,
    ),
    "force runs even with no outputs written": (skippable(), {}, NOW, True, True),
    "unwritten input runs rather than skips (never reached by the orchestrator)": (
        skippable(inputs=("in1", "in2")),
        {"in1": written(EARLY), "out1": written(LATE)},
        NOW,
        False,
        True,
    ),
}


@pytest.mark.parametrize(("task", "states", "now", "force", "run"), SKIP_CASES.values(), ids=SKIP_CASES.keys())
def test_needs_to_run(task: TaskDef, states: dict[str, DataNodeState], now: datetime, force: bool, run: bool) -> None:
    assert needs_to_run(task, DEFS, states, now, force) is run


def test_needs_to_run_microsecond_difference_runs() -> None:
    states = {"in1": written(T0 + timedelta(microseconds=1)), "out1": written(T0)}
    assert needs_to_run(skippable(), DEFS, states, NOW, False) is True
