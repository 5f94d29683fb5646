"""Filters, sort and paging of the job list (what Taipy's job selector filters, plus the sort its users ask for).

A ``Query`` is read from the page's query parameters; ``select`` applies it to rows. Plain Python: the server keeps
every row in memory (one watch) and answers each page from there, so 5,000 jobs cost the page one screenful.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from taipod.core.status import Status
from taipod.ui.rows import JobRow

__all__ = ["COLUMNS", "MAX_LIMIT", "TEXT_COLUMNS", "Page", "Query", "QueryError", "parse_query", "select"]

TEXT_COLUMNS = ("id", "task", "submitted", "submission")
COLUMNS = (*TEXT_COLUMNS, "created", "status")
MAX_LIMIT = 500


class QueryError(ValueError):
    """A query parameter the page cannot use: the message names it and says what it accepts."""


@dataclass(frozen=True)
class Query:
    statuses: frozenset[Status] = frozenset()  # empty: every status
    text: Mapping[str, str] = field(default_factory=dict)  # column -> case-insensitive substring
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: str = "created"
    descending: bool = True
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class Page:
    total: int  # every row
    matched: int  # rows passing the filters
    offset: int
    rows: list[JobRow]


def _date(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}={text!r} is not a date: use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise QueryError(f"{name}={value} is out of range: use {low} to {high}")
    return value


def parse_query(params: Mapping[str, str]) -> Query:
    """The query of ``status=A,B``, ``id=``/``task=``/``submitted=``/``submission=`` (substrings), ``from=``/``to=``
    (creation dates), ``sort=COLUMN`` or ``sort=-COLUMN`` (descending), ``offset=`` and ``limit=``."""
    statuses: set[Status] = set()
    for name in filter(None, (s.strip().upper() for s in params.get("status", "").split(","))):
        if name not in Status.__members__:
            raise QueryError(f"status={name!r} is not a job status: use {', '.join(Status.__members__)}")
        statuses.add(Status[name])
    text = {column: params[column].strip() for column in TEXT_COLUMNS if params.get(column, "").strip()}
    created_from = _date("from", params["from"]) if params.get("from") else None
    created_to = _date("to", params["to"]) if params.get("to") else None
    if created_to is not None and len(params["to"]) <= 10:  # a bare date includes that whole day
        created_to = created_to.replace(hour=23, minute=59, second=59, microsecond=999999)
    sort = params.get("sort", "-created") or "-created"
    descending = sort.startswith("-")
    sort = sort.lstrip("-+")
    if sort not in COLUMNS:
        raise QueryError(f"sort={sort!r} is not a column: use one of {', '.join(COLUMNS)} (prefix - for descending)")
    return Query(
        statuses=frozenset(statuses),
        text=text,
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        descending=descending,
        offset=_int("offset", params.get("offset", "0"), 0, 10**9),
        limit=_int("limit", params.get("limit", "100"), 1, MAX_LIMIT),
    )


_TEXT: dict[str, Callable[[JobRow], str]] = {
    "id": lambda r: f"{r.id} {r.namespace}",
    "task": lambda r: r.task,
    "submitted": lambda r: f"{r.submitted_label} {r.submitted_id}",
    "submission": lambda r: r.submission,
}
_SORT: dict[str, Callable[[JobRow], Any]] = {
    "id": lambda r: r.id,
    "task": lambda r: r.task.lower(),
    "submitted": lambda r: r.submitted_label.lower(),
    "submission": lambda r: r.submission,
    "created": lambda r: r.created,
    "status": lambda r: r.status.value,  # lifecycle order, SUBMITTED first
}


def _matches(row: JobRow, query: Query, needles: Mapping[str, str]) -> bool:
    if query.statuses and row.status not in query.statuses:
        return False
    if query.created_from is not None and row.created < query.created_from:
        return False
    if query.created_to is not None and row.created > query.created_to:
        return False
    return all(needle in _TEXT[column](row).lower() for column, needle in needles.items())


def select(rows: Iterable[JobRow], query: Query) -> Page:
    """The rows passing every filter (AND), sorted (ties by creation then id, stable), then one page of them."""
    everything = list(rows)
    needles = {column: value.lower() for column, value in query.text.items()}
    matched = [row for row in everything if _matches(row, query, needles)]
    # Secondary order first, then the primary key: Python's sort is stable.
    matched.sort(key=lambda r: (r.created, r.key), reverse=query.descending)
    if query.sort != "created":
        matched.sort(key=_SORT[query.sort], reverse=query.descending)
    offset = min(query.offset, (len(matched) - 1) // query.limit * query.limit) if matched else 0
    return Page(len(everything), len(matched), offset, matched[offset : offset + query.limit])
