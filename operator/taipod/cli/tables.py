"""What ``taipod get|list|watch`` print: the kinds and their names, status filters, table rows and output formats.

Plain Python on the API objects (dicts), no Kubernetes client: tested directly (tests/unit/test_cli_tables.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

import yaml

from taipod.api.models import StatusName, SubmissionStatusName

__all__ = [
    "KINDS",
    "OUTPUTS",
    "Kind",
    "age",
    "kind_named",
    "matches",
    "parse_statuses",
    "render",
    "render_table",
    "rows",
    "status_of",
]

OUTPUTS = ("table", "wide", "json", "yaml", "name")

Obj = Mapping[str, Any]


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def age(timestamp: str | None, now: datetime) -> str:
    """kubectl's AGE: 45s, 12m, 3h, 2d (the largest unit, rounded down); empty when unknown."""
    if not timestamp:
        return ""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _time(timestamp: str | None) -> str:
    """An RFC 3339 time as HH:MM:SS (UTC), for the table."""
    return (timestamp or "")[11:19]


@dataclasses.dataclass(frozen=True)
class Kind:
    """A taipod resource as the CLI names and shows it."""

    singular: str
    plural: str
    aliases: tuple[str, ...]
    statuses: tuple[str, ...]  # what --status accepts
    status_field: str  # where the status is in .status
    columns: tuple[str, ...]
    wide: tuple[str, ...]
    cells: Callable[[Obj, datetime], tuple[str, ...]]
    wide_cells: Callable[[Obj, datetime], tuple[str, ...]]


def _job_cells(job: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(job)
    return (
        _name(job),
        str(_spec(job).get("task", "")),
        str(_spec(job).get("submission", "")),
        str(status.get("status") or "SUBMITTED"),
        _time(status.get("runAt")),
        str(status.get("duration") or ""),
        age(job["metadata"].get("creationTimestamp"), now),
    )


def _job_wide(job: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(job)
    return (
        str(_spec(job).get("scenario", "")),
        _time(status.get("finishedAt")),
        str(status.get("reason") or ""),
        str(status.get("pod") or ""),
    )


def _target(spec: Mapping[str, Any]) -> str:
    if spec.get("task"):
        return f"task/{spec['task']}"
    if spec.get("sequence"):
        return f"sequence/{spec['sequence']}"
    return "scenario"


def _submission_cells(sub: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(sub)
    return (
        _name(sub),
        str(_spec(sub).get("scenario", "")),
        _target(_spec(sub)),
        str(status.get("submissionStatus") or "SUBMITTED"),
        str(status.get("finished") or ""),
        age(sub["metadata"].get("creationTimestamp"), now),
    )


def _submission_wide(sub: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(sub)
    return (
        "yes" if _spec(sub).get("force") else "",
        _time(status.get("runAt")),
        _time(status.get("finishedAt")),
        str(status.get("reason") or ""),
        str(status.get("message") or ""),
    )


def _scenario_cells(scenario: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(scenario)
    return (
        _name(scenario),
        str(status.get("phase") or ""),
        str(status.get("tasks") if status.get("tasks") is not None else len(_spec(scenario).get("tasks") or [])),
        str(status.get("unfinishedSubmissions") or 0),
        age(scenario["metadata"].get("creationTimestamp"), now),
    )


def _scenario_wide(scenario: Obj, now: datetime) -> tuple[str, ...]:
    status = _status(scenario)
    return (
        str(len(_spec(scenario).get("dataNodes") or [])),
        str(status.get("storageRoot") or ""),
        str(status.get("message") or ""),
    )


KINDS: dict[str, Kind] = {
    "jobs": Kind(
        "job",
        "jobs",
        ("job", "jobs", "tpjob", "tpjobs"),
        get_args(StatusName),
        "status",
        ("NAME", "TASK", "SUBMISSION", "STATUS", "STARTED", "DURATION", "AGE"),
        ("SCENARIO", "FINISHED", "REASON", "POD"),
        _job_cells,
        _job_wide,
    ),
    "submissions": Kind(
        "submission",
        "submissions",
        ("submission", "submissions", "sub", "subs", "tpsub", "tpsubmission"),
        get_args(SubmissionStatusName),
        "submissionStatus",
        ("NAME", "SCENARIO", "TARGET", "STATUS", "FINISHED", "AGE"),
        ("FORCE", "STARTED", "ENDED", "REASON", "MESSAGE"),
        _submission_cells,
        _submission_wide,
    ),
    "scenarios": Kind(
        "scenario",
        "scenarios",
        ("scenario", "scenarios", "tps", "tpscenario"),
        ("Ready", "Invalid"),
        "phase",
        ("NAME", "PHASE", "TASKS", "UNFINISHED", "AGE"),
        ("DATANODES", "STORAGE", "MESSAGE"),
        _scenario_cells,
        _scenario_wide,
    ),
}


def kind_named(word: str) -> Kind:
    """The kind a word names (job, jobs, tpjob, submission, sub, scenario, ...); ValueError naming the choices."""
    for kind in KINDS.values():
        if word.lower() in kind.aliases:
            return kind
    raise ValueError(f"unknown resource type {word!r}: use job, submission or scenario (or their plurals)")


def parse_statuses(kind: Kind, text: str | None) -> frozenset[str]:
    """``--status RUNNING,FAILED`` as the set of statuses (case-insensitive); empty: no filter. ValueError naming
    the statuses the kind has."""
    if not text:
        return frozenset()
    by_upper = {s.upper(): s for s in kind.statuses}
    chosen = set()
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word.upper() not in by_upper:
            raise ValueError(
                f"--status {word!r} is not a status of {kind.plural}: use one or more of {', '.join(kind.statuses)} "
                "(comma-separated)"
            )
        chosen.add(by_upper[word.upper()])
    return frozenset(chosen)


def status_of(kind: Kind, obj: Obj) -> str:
    """The object's status as the table shows it (a job or submission without one yet is SUBMITTED)."""
    value = _status(obj).get(kind.status_field)
    if value:
        return str(value)
    return "" if kind.plural == "scenarios" else "SUBMITTED"


def matches(kind: Kind, obj: Obj, statuses: frozenset[str], submission: str | None = None) -> bool:
    if statuses and status_of(kind, obj) not in statuses:
        return False
    return submission is None or _spec(obj).get("submission") == submission


def rows(
    kind: Kind, objects: Iterable[Obj], now: datetime, *, wide: bool = False, namespaces: bool = False
) -> list[tuple[str, ...]]:
    """The header and one row per object; with ``namespaces`` (``-A``) a NAMESPACE column first."""
    header = (*kind.columns, *(kind.wide if wide else ()))
    out = [("NAMESPACE", *header) if namespaces else header]
    for obj in objects:
        cells = (*kind.cells(obj, now), *(kind.wide_cells(obj, now) if wide else ()))
        out.append((str(obj["metadata"].get("namespace", "")), *cells) if namespaces else cells)
    return out


def render_table(table: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table)


def _list_object(kind: Kind, objects: Sequence[Obj]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": [dict(o) for o in objects], "metadata": {}}


def render(
    kind: Kind,
    objects: Sequence[Obj],
    output: str,
    now: datetime | None = None,
    *,
    single: bool = False,
    namespaces: bool = False,
) -> str:
    """The objects in the ``-o`` format: table (default), wide, name (kind/name per line), or the API objects as
    JSON or YAML (one object for ``get``, a ``List`` for ``list``, like kubectl)."""
    now = now or datetime.now(UTC)
    if output in ("table", "wide"):
        return render_table(rows(kind, objects, now, wide=output == "wide", namespaces=namespaces))
    if output == "name":
        return "\n".join(f"{kind.singular}/{_name(o)}" for o in objects)
    document: Any = dict(objects[0]) if single and objects else _list_object(kind, objects)
    if output == "json":
        return json.dumps(document, indent=2, sort_keys=False)
    if output == "yaml":
        return yaml.safe_dump(document, sort_keys=False).rstrip("\n")
    raise ValueError(f"unknown output format {output!r}: use one of {', '.join(OUTPUTS)}")
