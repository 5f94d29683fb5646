"""The job selector's filters, sort and paging (server side, on the rows of the watch cache)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.history import Transition
from taipod.core.status import Status
from taipod.ui.query import COLUMNS, MAX_LIMIT, Query, QueryError, parse_query, select
from taipod.ui.rows import JobRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(name: str, status: Status, minutes: int, task: str = "t", scenario: str = "s", ns: str = "a") -> JobRow:
    created = T0 + timedelta(minutes=minutes)
    return JobRow(
        id=name,
        namespace=ns,
        task=task,
        scenario=scenario,
        submission=f"sub-{scenario}",
        created=created,
        status=status,
        reason="",
        history=(Transition(Status.SUBMITTED, created),),
        cancel_requested=False,
        cancel_answer="",
    )


ROWS = [
    row("j1", Status.COMPLETED, 0, task="Clean", scenario="alpha"),
    row("j2", Status.RUNNING, 5, task="train", scenario="beta"),
    row("j3", Status.FAILED, 10, task="clean_more", scenario="alpha"),
    row("j4", Status.BLOCKED, 1440, task="score", scenario="gamma", ns="b"),
    row("j5", Status.COMPLETED, 20, task="train", scenario="beta"),
]


def ids(query: Query) -> list[str]:
    return [r.id for r in select(ROWS, query).rows]


def test_default_is_newest_first_everything() -> None:
    query = parse_query({})
    assert (query.sort, query.descending, query.offset, query.limit) == ("created", True, 0, 100)
    assert ids(query) == ["j4", "j5", "j3", "j2", "j1"]
    page = select(ROWS, query)
    assert (page.total, page.matched) == (5, 5)


def test_status_is_a_multi_select() -> None:
    assert ids(parse_query({"status": "completed,FAILED"})) == ["j5", "j3", "j1"]
    assert select(ROWS, parse_query({"status": "RUNNING"})).matched == 1


@pytest.mark.parametrize(
    ("column", "needle", "expected"),
    [
        ("task", "CLEAN", ["j3", "j1"]),  # case-insensitive substring
        ("id", "j2", ["j2"]),
        ("id", "b", ["j4"]),  # the namespace is part of the id column
        ("submitted", "scenario/beta", ["j5", "j2"]),
        ("submission", "sub-gamma", ["j4"]),
    ],
)
def test_text_filters_match_substrings(column: str, needle: str, expected: list[str]) -> None:
    assert ids(parse_query({column: needle})) == expected


def test_filters_combine_with_and() -> None:
    assert ids(parse_query({"task": "train", "status": "COMPLETED"})) == ["j5"]
    assert ids(parse_query({"task": "train", "status": "FAILED"})) == []


def test_date_range_includes_the_whole_last_day() -> None:
    assert ids(parse_query({"from": "2026-03-02"})) == ["j4"]
    assert ids(parse_query({"to": "2026-03-01"})) == ["j5", "j3", "j2", "j1"]
    assert ids(parse_query({"from": "2026-03-01T12:04", "to": "2026-03-01T12:10"})) == ["j3", "j2"]


@pytest.mark.parametrize("column", COLUMNS)
def test_every_column_sorts_both_ways(column: str) -> None:
    up = ids(parse_query({"sort": column}))
    down = ids(parse_query({"sort": f"-{column}"}))
    assert sorted(up) == sorted(down) == sorted(r.id for r in ROWS)
    if column != "created":
        keys = {r.id: r for r in ROWS}
        values = [getattr(keys[i], {"submitted": "scenario"}.get(column, column)) for i in up]
        values = [v.value if isinstance(v, Status) else (v.lower() if isinstance(v, str) else v) for v in values]
        assert values == sorted(values)


def test_status_sorts_in_lifecycle_order_with_ties_by_creation() -> None:
    assert ids(parse_query({"sort": "status"})) == [
        "j4",
        "j2",
        "j3",
        "j1",
        "j5",
    ]  # BLOCKED, RUNNING, FAILED, COMPLETED twice


def test_paging() -> None:
    page = select(ROWS, parse_query({"sort": "created", "offset": "2", "limit": "2"}))
    assert [r.id for r in page.rows] == ["j3", "j5"] and page.offset == 2
    past = select(ROWS, parse_query({"offset": "50", "limit": "2"}))
    assert past.offset == 4 and len(past.rows) == 1  # a page past the end shows the last page
    assert select([], parse_query({"offset": "10"})).offset == 0


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"status": "DONE"}, ["status", "SUBMITTED"]),
        ({"sort": "colour"}, ["sort", "task"]),
        ({"from": "yesterday"}, ["from", "ISO 8601"]),
        ({"limit": "0"}, ["limit", str(MAX_LIMIT)]),
        ({"offset": "x"}, ["offset", "whole number"]),
    ],
)
def test_bad_parameters_are_named_with_the_fix(params: dict[str, str], words: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(params)
    assert all(word in str(caught.value) for word in words)


def test_five_thousand_rows_are_paged_to_one_screen() -> None:
    many = [row(f"job-{i:04d}", list(Status)[i % 9], i, task=f"task{i % 50}") for i in range(5000)]
    page = select(many, parse_query({"status": "RUNNING", "task": "task3", "sort": "-id"}))
    assert page.total == 5000
    assert all(r.status is Status.RUNNING and "task3" in r.task for r in page.rows)
    assert [r.id for r in page.rows] == sorted((r.id for r in page.rows), reverse=True)
