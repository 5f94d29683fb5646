"""The upstream end a job's dispatch latency is measured from (taipod.core.dispatch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from taipod.core.dag import DataNodeDef, TaskDef, build_dag
from taipod.core.dispatch import upstream_end

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAG = build_dag(
    [DataNodeDef(n) for n in ("src", "a", "b", "c", "side")],
    [
        TaskDef("first", "m:f", ("src",), ("a",)),
        TaskDef("left", "m:f", ("a",), ("b",)),
        TaskDef("right", "m:f", ("a",), ("side",)),
        TaskDef("join", "m:f", ("b", "side"), ("c",)),
    ],
)


def test_a_first_task_has_nothing_to_measure_from() -> None:
    assert upstream_end(DAG, "first", {}) is None
    assert upstream_end(DAG, "first", {"left": T0}) is None  # ends of unrelated tasks do not count


def test_the_end_of_the_producer_of_an_input() -> None:
    assert upstream_end(DAG, "left", {"first": T0}) == T0


def test_the_latest_of_several_producers() -> None:
    ends = {"first": T0, "left": T0 + timedelta(seconds=3), "right": T0 + timedelta(seconds=5)}
    assert upstream_end(DAG, "join", ends) == T0 + timedelta(seconds=5)


def test_producers_that_have_not_ended_are_left_out() -> None:
    assert upstream_end(DAG, "join", {"left": T0}) == T0
    assert upstream_end(DAG, "join", {"first": T0}) is None  # not a direct producer
