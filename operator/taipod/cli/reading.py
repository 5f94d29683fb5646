"""``taipod list KIND`` and ``taipod get KIND NAME``: scenarios, submissions and jobs, as kubectl shows objects.

``-A`` lists every namespace, ``--status RUNNING,FAILED`` filters, ``-o json|yaml|wide|name`` chooses the form (a
table by default; json and yaml are the API objects). An empty list in an existing namespace is exit 0 with
"No jobs found in namespace X." on standard error, as kubectl says it; a missing namespace or name is exit 3.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from taipod.cli import tables
from taipod.cli.session import EPILOG, EXIT_USAGE, CliError, check_namespace, connect, get_object, list_objects

__all__ = ["add_parser", "add_selection_arguments"]


def _kind(word: str) -> tables.Kind:
    try:
        return tables.kind_named(word)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def _statuses(kind: tables.Kind, text: str | None) -> frozenset[str]:
    try:
        return tables.parse_statuses(kind, text)
    except ValueError as error:
        raise CliError(str(error), EXIT_USAGE) from None


def cmd_list(args: argparse.Namespace) -> int:
    kind = _kind(args.kind)
    statuses = _statuses(kind, args.status)
    if args.submission and kind.plural != "jobs":
        raise CliError(f"--submission selects jobs, not {kind.plural}", EXIT_USAGE)
    api, namespace = connect(args)
    where = None if args.all_namespaces else namespace
    selector = f"taipod.io/submission={args.submission}" if args.submission else None
    listed = list_objects(api, where, kind, selector)
    items: list[dict[str, Any]] = [o for o in listed["items"] if tables.matches(kind, o, statuses, args.submission)]
    if not items:
        if where is not None:
            check_namespace(api, where)  # a missing namespace is an error, not an empty list
        if args.output in ("table", "wide"):
            place = "any namespace" if where is None else f"namespace {where}"
            print(f"No {kind.plural} found in {place}.", file=sys.stderr)
            return 0
    if args.output in ("json", "yaml"):
        listed["items"] = items
        print(tables.render(kind, [listed], args.output, single=True))
    elif items:
        print(tables.render(kind, items, args.output, namespaces=where is None))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    kind = _kind(args.kind)
    api, namespace = connect(args)
    objects = [get_object(api, namespace, kind, name, args.prog) for name in args.names]
    print(tables.render(kind, objects, args.output, single=len(objects) == 1))
    return 0


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """``-n`` and ``--kubeconfig`` also after the verb (``taipod list jobs -n x``), as kubectl takes them."""
    parser.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace (default: the context's)")
    parser.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file")


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", default="table", choices=tables.OUTPUTS, help="table (default), wide, json, yaml or name"
    )


def add_parser(commands: Any) -> None:
    listing = commands.add_parser(
        "list",
        help="list scenarios, submissions or jobs (-A, --status, -o json|yaml|wide|name)",
        epilog=EPILOG,
    )
    listing.add_argument("kind", help="jobs, submissions or scenarios (singular and short names work too)")
    add_selection_arguments(listing)
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="list every namespace")
    listing.add_argument("--status", help="only these statuses, comma-separated: RUNNING,FAILED (scenarios: Ready)")
    listing.add_argument("--submission", help="jobs only: the jobs of this submission")
    _output(listing)
    listing.set_defaults(run=cmd_list)
    getting = commands.add_parser("get", help="show scenarios, submissions or jobs by name", epilog=EPILOG)
    getting.add_argument("kind", help="job, submission or scenario")
    getting.add_argument("names", nargs="+", metavar="NAME")
    add_selection_arguments(getting)
    _output(getting)
    getting.set_defaults(run=cmd_get)
