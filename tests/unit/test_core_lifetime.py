"""Deadlines and time-to-live (taipod.core.lifetime): pure functions of recorded times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from taipod.core.lifetime import Due, deadline_of, due, first_set

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_due_now_later_or_never() -> None:
    five = timedelta(seconds=5)
    assert due(T0, five, T0 + timedelta(seconds=5)) == Due(True)
    assert due(T0, five, T0 + timedelta(seconds=50)) == Due(True)
    assert due(T0, five, T0 + timedelta(seconds=2)) == Due(False, 3.0)
    assert due(T0, timedelta(0), T0) == Due(True)
    assert due(None, five, T0) is None
    assert due(T0, None, T0) is None


def test_deadline_of_a_submission() -> None:
    assert deadline_of(T0, 30) == T0 + timedelta(seconds=30)
    assert deadline_of(T0, None) is None


def test_first_set_prefers_the_submission_then_the_scenario_then_the_operator() -> None:
    assert first_set(5, 10, 20) == 5
    assert first_set(None, 10, 20) == 10
    assert first_set(None, None, 20) == 20
    assert first_set(0, 10) == 0  # zero is a value: delete at once
    assert first_set(None, None, None) is None
