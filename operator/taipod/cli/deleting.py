"""``taipod delete [job|submission|scenario] NAME [--force]``: delete with the delete guard's answer.

A bare name is a job's (the verb's original form, kept). The admission policy refuses an unfinished job, a submission
with unfinished jobs and a scenario with unfinished submissions: the CLI prints the policy's own message, which names
the fix, and exits 1. ``--force`` sets the force annotation first, as ``tp.delete_job(job, force=True)`` does;
Kubernetes then deletes what the object owns (a scenario's submissions, a submission's jobs, a job's batch Job and
pod).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from taipod.cli import tables
from taipod.cli.reading import add_selection_arguments
from taipod.cli.session import EPILOG, EXIT_USAGE, CliError, connect, get_object
from taipod.operator.kubeapi import ApiError, custom_path
from taipod.operator.names import ANNOTATION_FORCE_DELETE

__all__ = ["add_parser"]


def cmd_delete_owned(args: argparse.Namespace) -> int:
    """A submission or a scenario."""
    kind = tables.kind_named(args.words[0])
    name = args.words[1]
    api, namespace = connect(args)
    get_object(api, namespace, kind, name, args.prog)  # exit 3 naming the namespace or the name when missing
    path = custom_path(namespace, kind.plural, name)
    if args.force:
        api.merge_patch(path, {"metadata": {"annotations": {ANNOTATION_FORCE_DELETE: "true"}}})
    try:
        api.delete(path)
    except ApiError as error:
        if error.status == 404:  # deleted meanwhile
            raise CliError(f"no {kind.singular} {name!r} in namespace {namespace}", 3) from None
        raise  # the guard's refusal: its message names the fix (exit 1)
    print(f"{kind.singular} {name} deleted")
    return 0


def add_parser(commands: Any, delete_job: Callable[[argparse.Namespace], int]) -> None:
    """``delete_job`` is the job deletion of cli/main.py (``args.job``, ``args.force``)."""

    def run(args: argparse.Namespace) -> int:
        if len(args.words) == 1:
            args.job = args.words[0]
            return delete_job(args)
        if len(args.words) != 2:
            raise CliError("delete takes [job|submission|scenario] NAME", EXIT_USAGE)
        try:
            kind = tables.kind_named(args.words[0])
        except ValueError as error:
            raise CliError(str(error), EXIT_USAGE) from None
        if kind.plural == "jobs":
            args.job = args.words[1]
            return delete_job(args)
        return cmd_delete_owned(args)

    delete = commands.add_parser(
        "delete",
        help="delete a finished job, submission or scenario (--force: even an unfinished one)",
        usage="%(prog)s [job|submission|scenario] NAME [--force]",
        epilog=EPILOG,
    )
    delete.add_argument("words", nargs="+", metavar="NAME", help="a job's name, or job|submission|scenario NAME")
    delete.add_argument("--force", action="store_true", help="set the force annotation first (the guard lets it go)")
    add_selection_arguments(delete)
    delete.set_defaults(run=run)
