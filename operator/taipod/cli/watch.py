"""``taipod watch [--submission S]``: a live table of jobs, redrawn from a Kubernetes watch (no polling).

On a terminal the whole table is redrawn at each change; otherwise (a pipe, a file) the table is printed once and then
one row per change, as ``kubectl get -w`` does. It ends on Ctrl-C with exit 0. A watch the API server ends (its
timeout) is resumed from the last resourceVersion; an expired one (410 Gone) by a new list.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

import urllib3

from taipod.cli import tables
from taipod.cli.reading import add_selection_arguments
from taipod.cli.session import EPILOG, EXIT_USAGE, CliError, check_namespace, connect, list_objects, stream_lines
from taipod.operator.kubeapi import ApiError, KubeApi, custom_path

WATCH_SECONDS = 240  # the API server ends each watch after this; the client gives up on a silent one 30 s later

__all__ = ["CLEAR", "add_parser", "apply_event", "draw_table"]

JOBS = tables.KINDS["jobs"]
CLEAR = "\x1b[H\x1b[2J"


def apply_event(jobs: dict[tuple[str, str], dict[str, Any]], event: dict[str, Any]) -> dict[str, Any] | None:
    """Fold one watch event into ``jobs`` (keyed by namespace and name); the object it changed, or None for a
    bookmark or an event of another kind."""
    kind, obj = event.get("type"), event.get("object") or {}
    if kind not in ("ADDED", "MODIFIED", "DELETED"):
        return None
    key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    if kind == "DELETED":
        jobs.pop(key, None)
    else:
        jobs[key] = obj
    return obj


def draw_table(args: argparse.Namespace, jobs: dict[tuple[str, str], dict[str, Any]], tty: bool) -> None:
    shown = sorted(
        (j for j in jobs.values() if tables.matches(JOBS, j, args.statuses)),
        key=lambda j: (j["metadata"].get("namespace", ""), j["metadata"]["creationTimestamp"], j["metadata"]["name"]),
    )
    now = datetime.now(UTC)
    table = tables.render_table(tables.rows(JOBS, shown, now, wide=args.wide, namespaces=args.all_namespaces))
    stamp = f"{args.prog} watch: {len(shown)} job(s), {now:%H:%M:%S} UTC (Ctrl-C ends)"
    sys.stdout.write((CLEAR if tty else "") + table + "\n" + (stamp + "\n" if tty else ""))
    sys.stdout.flush()


def _row(args: argparse.Namespace, job: dict[str, Any]) -> None:
    if not tables.matches(JOBS, job, args.statuses):
        return
    row = tables.rows(JOBS, [job], datetime.now(UTC), wide=args.wide, namespaces=args.all_namespaces)[1]
    print("   ".join(row).rstrip(), flush=True)


def _watch(api: KubeApi, args: argparse.Namespace, namespace: str | None, selector: str | None) -> None:
    tty = sys.stdout.isatty()
    path = "/apis/taipod.io/v1alpha1/jobs" if namespace is None else custom_path(namespace, "jobs")
    while True:  # a new list after a 410 Gone
        listed = list_objects(api, namespace, JOBS, selector)
        jobs = {(j["metadata"].get("namespace", ""), j["metadata"]["name"]): j for j in listed["items"]}
        draw_table(args, jobs, tty)
        version = listed["metadata"]["resourceVersion"]
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        if selector:
            params["labelSelector"] = selector
        try:
            while True:  # the API server ends a watch after its timeout: resume where it was
                lines = stream_lines(api, path, {**params, "resourceVersion": version}, WATCH_SECONDS + 30)
                try:
                    for line in lines:
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            raise ApiError(int(event["object"].get("code", 500)), "watch", event["object"])
                        version = event["object"]["metadata"].get("resourceVersion", version)
                        changed = apply_event(jobs, event)
                        if changed is None:
                            continue
                        if tty:
                            draw_table(args, jobs, tty)
                        else:
                            _row(args, changed)
                except urllib3.exceptions.ReadTimeoutError:  # a connection gone silent past the server's timeout
                    continue
        except ApiError as error:
            if error.status != 410:
                raise


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        args.statuses = tables.parse_statuses(JOBS, args.status)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None
    api, namespace = connect(args)
    where = None if args.all_namespaces else namespace
    if where is not None:
        check_namespace(api, where)
    try:
        _watch(api, args, where, f"taipod.io/submission={args.submission}" if args.submission else None)
    except KeyboardInterrupt:
        return 0
    return 0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "watch", help="a live table of jobs, redrawn at each change (Ctrl-C ends)", epilog=EPILOG
    )
    parser.add_argument("--submission", help="only the jobs of this submission")
    parser.add_argument("--status", help="only these statuses, comma-separated: RUNNING,FAILED")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("--wide", action="store_true", help="also the scenario, end time, reason and pod")
    add_selection_arguments(parser)
    parser.set_defaults(run=cmd_watch)
