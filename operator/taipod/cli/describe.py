"""``taipod describe job|submission|scenario NAME``: everything a person asks about one object, as text.

A job: its status history with times and the time spent in each status, reason, message, exit code, stacktrace,
attempts (when the status has them), the batch Job and pod names. A submission: its target, times, counts and its
jobs. A scenario: phase, problems, tasks, data nodes (last edit, lock holder) and its submissions. The ``describe_*``
functions are pure (tested in tests/unit/test_cli_describe.py); ``cmd_describe`` reads the objects.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from taipod.api import datanodes
from taipod.cli import tables
from taipod.cli.reading import add_selection_arguments
from taipod.cli.session import EPILOG, EXIT_USAGE, CliError, connect, get_object, list_objects

__all__ = ["add_parser", "describe_job", "describe_scenario", "describe_submission", "seconds_between"]

Obj = Mapping[str, Any]


def _parse(timestamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_between(start: str | None, end: str | None) -> str:
    """``end - start`` for display: 0.153s, 12.4s, 3m05s, 2h01m; empty when either is unknown."""
    a, b = _parse(start or ""), _parse(end or "")
    if a is None or b is None:
        return ""
    seconds = (b - a).total_seconds()
    if seconds < 1:
        return f"{seconds:.3f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _fields(pairs: Sequence[tuple[str, Any]]) -> list[str]:
    shown = [(k, v) for k, v in pairs if v not in (None, "", [], {})]
    width = max((len(k) for k, _ in shown), default=0) + 2
    return [f"{(k + ':').ljust(width)}{v}" for k, v in shown]


def _header(obj: Obj) -> list[tuple[str, Any]]:
    meta = obj["metadata"]
    return [("Name", meta["name"]), ("Namespace", meta.get("namespace")), ("Created", meta.get("creationTimestamp"))]


def _history(history: Sequence[Mapping[str, Any]], end: str | None) -> list[str]:
    """One line per status the job took: when, for how long (until the next one, or ``end`` for the last)."""
    table = [("STATUS", "AT", "FOR", "REASON")]
    for i, record in enumerate(history):
        until = history[i + 1].get("at") if i + 1 < len(history) else end
        table.append(
            (
                str(record.get("status", "")),
                str(record.get("at", "")),
                seconds_between(record.get("at"), until),
                str(record.get("reason") or ""),
            )
        )
    return ["  " + line for line in tables.render_table(table).splitlines()]


def describe_job(job: Obj, now: str | None = None) -> str:
    """``now`` (RFC 3339) is where an unfinished job's current status has lasted until."""
    spec, status = job.get("spec") or {}, job.get("status") or {}
    batch = status.get("batchJob") or {}
    lines = _fields(
        [
            *_header(job),
            ("Scenario", spec.get("scenario")),
            ("Submission", spec.get("submission")),
            ("Task", spec.get("task")),
            ("Force", "yes" if spec.get("force") else None),
            ("Status", status.get("status") or "SUBMITTED"),
            ("Reason", status.get("reason")),
            ("Message", status.get("message")),
            ("Exit code", status.get("exitCode")),
            ("Started", status.get("runAt")),
            ("Finished", status.get("finishedAt")),
            ("Duration", status.get("duration")),
            ("Batch Job", batch.get("name")),
            ("Pod", status.get("pod")),
            ("Cancel", status.get("cancel")),
        ]
    )
    history = status.get("history") or []
    if history:
        lines += ["History:", *_history(history, status.get("finishedAt") or now)]
    attempts = status.get("attempts")
    if attempts:
        lines.append("Attempts:")
        for i, attempt in enumerate(attempts, 1):
            detail = ", ".join(f"{k}={v}" for k, v in attempt.items()) if isinstance(attempt, Mapping) else attempt
            lines.append(f"  {i}. {detail}")
    stacktrace = status.get("stacktrace") or []
    if stacktrace:
        lines.append("Stacktrace:")
        lines += ["  " + line for part in stacktrace for line in str(part).rstrip("\n").splitlines()]
    return "\n".join(lines)


def describe_submission(submission: Obj, jobs: Sequence[Obj], now: datetime) -> str:
    spec, status = submission.get("spec") or {}, submission.get("status") or {}
    target = (spec.get("task") and f"task {spec['task']}") or (spec.get("sequence") and f"sequence {spec['sequence']}")
    counts = status.get("counts") or {}
    lines = _fields(
        [
            *_header(submission),
            ("Scenario", spec.get("scenario")),
            ("Target", target or "the whole scenario"),
            ("Force", "yes" if spec.get("force") else None),
            ("Status", status.get("submissionStatus") or "SUBMITTED"),
            ("Reason", status.get("reason")),
            ("Message", status.get("message")),
            ("Jobs", f"{status.get('finished') or '0/' + str(status.get('jobs') or 0)} finished"),
            ("Counts", ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)),
            ("Submitted", status.get("submittedAt")),
            ("Started", status.get("runAt")),
            ("Finished", status.get("finishedAt")),
            ("Duration", seconds_between(status.get("submittedAt"), status.get("finishedAt"))),
        ]
    )
    if jobs:
        lines += [
            "Jobs:",
            *("  " + line for line in tables.render(tables.KINDS["jobs"], jobs, "table", now).splitlines()),
        ]
    return "\n".join(lines)


def describe_scenario(scenario: Obj, submissions: Sequence[Obj], now: datetime) -> str:
    spec, status = scenario.get("spec") or {}, scenario.get("status") or {}
    problems = status.get("problems") or []
    lines = _fields(
        [
            *_header(scenario),
            ("Phase", status.get("phase")),
            ("Message", status.get("message")),
            ("Storage", status.get("storageRoot")),
            ("Unfinished submissions", status.get("unfinishedSubmissions") or 0),
            ("Sequences", ", ".join(s.get("name", "") for s in spec.get("sequences") or [])),
        ]
    )
    if problems:
        lines += ["Problems:", *(f"  {p.get('field')}: {p.get('message')}" for p in problems)]
    tasks = spec.get("tasks") or []
    lines.append(f"Tasks ({len(tasks)}):")
    for task in tasks:
        arrow = f"{', '.join(task.get('inputs') or []) or '-'} -> {', '.join(task.get('outputs') or []) or '-'}"
        lines.append(f"  {task.get('name')}: {task.get('function', '(pickled)')} ({arrow})")
    entries = datanodes.entries(status)
    nodes = spec.get("dataNodes") or []
    table = [("NAME", "STORAGE", "SCOPE", "LAST EDIT", "LOCKED BY", "DEFAULT")]
    for node in nodes:
        entry = entries.get(node.get("name", "")) or {}
        table.append(
            (
                str(node.get("name", "")),
                str(node.get("storageType", "pickle")),
                str(node.get("scope", "SCENARIO")),
                str(entry.get("lastEditDate") or "never written"),
                str(entry.get("editor") or "") if entry.get("editInProgress") else "",
                "yes" if node.get("defaultData") is not None else "",
            )
        )
    lines += [f"Data nodes ({len(nodes)}):", *("  " + line for line in tables.render_table(table).splitlines())]
    if submissions:
        subs = tables.render(tables.KINDS["submissions"], submissions, "table", now)
        lines += ["Submissions:", *("  " + line for line in subs.splitlines())]
    return "\n".join(lines)


def cmd_describe(args: argparse.Namespace) -> int:
    try:
        kind = tables.kind_named(args.kind)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    api, namespace = connect(args)
    obj = get_object(api, namespace, kind, args.name, args.prog)
    now = datetime.now().astimezone()
    if kind.plural == "jobs":
        text = describe_job(obj, now.isoformat())
    elif kind.plural == "submissions":
        jobs = list_objects(api, namespace, tables.KINDS["jobs"], f"taipod.io/submission={args.name}")["items"]
        text = describe_submission(obj, jobs, now)
    else:
        subs = [
            s
            for s in list_objects(api, namespace, tables.KINDS["submissions"])["items"]
            if (s.get("spec") or {}).get("scenario") == args.name
        ]
        text = describe_scenario(obj, subs, now)
    print(text)
    return 0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "describe",
        help="history, reason, stacktrace, data nodes and pod of a job, submission or scenario",
        epilog=EPILOG,
    )
    parser.add_argument("kind", help="job, submission or scenario")
    parser.add_argument("name")
    add_selection_arguments(parser)
    parser.set_defaults(run=cmd_describe)
