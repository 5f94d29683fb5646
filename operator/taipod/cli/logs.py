"""``taipod logs JOB [-f]``: the task pod's log, read through the API server (as ``kubectl logs`` does).

The pod's name is the one the job's status recorded. A pod not there yet is waited for with ``-f`` (until it has
started; ``--timeout``); a pod already removed (deleted, or cleaned up after the job finished) is exit 3 with the
message that the job's status keeps its reason, message and stacktrace (``taipod describe job``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from taipod.cli import tables
from taipod.cli.reading import add_selection_arguments
from taipod.cli.session import EPILOG, EXIT_NOT_FOUND, CliError, connect, get_object, stream_lines
from taipod.operator.kubeapi import ApiError, KubeApi

__all__ = ["add_parser"]

WAITING = ("waiting to start", "ContainerCreating", "PodInitializing")
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED", "SKIPPED", "ABANDONED"})


def _pod_of(api: KubeApi, namespace: str, args: argparse.Namespace) -> tuple[str, str]:
    """The job's pod and status; with ``-f``, waits (``--timeout``) for a job not started yet to have one."""
    deadline = time.monotonic() + args.timeout
    while True:
        job = get_object(api, namespace, tables.KINDS["jobs"], args.job, args.prog)
        status = job.get("status") or {}
        state = str(status.get("status") or "SUBMITTED")
        if status.get("pod"):
            return str(status["pod"]), state
        if state in FINISHED:
            raise CliError(f"job {args.job} is {state} and has no pod: it never ran one", EXIT_NOT_FOUND)
        if not args.follow:
            raise CliError(
                f"job {args.job} is {state} and has no pod yet. Fix: `{args.prog} logs {args.job} -f` waits for it",
                EXIT_NOT_FOUND,
            )
        if time.monotonic() > deadline:
            raise CliError(f"job {args.job} is still {state} with no pod after {args.timeout} s", EXIT_NOT_FOUND)
        time.sleep(0.5)


def cmd_logs(args: argparse.Namespace) -> int:
    try:
        return _print_logs(args)
    except KeyboardInterrupt:  # Ctrl-C ends `logs -f`, also while it waits for the pod: exit 0, as documented
        return 0


def _print_logs(args: argparse.Namespace) -> int:
    api, namespace = connect(args)
    pod, state = _pod_of(api, namespace, args)
    params = {"follow": "true"} if args.follow else {}
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            for line in stream_lines(api, f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params):
                sys.stdout.buffer.write(line + b"\n")
                sys.stdout.flush()
            return 0
        except ApiError as error:
            message = str(error.body.get("message") or error)
            if error.status == 404:
                raise CliError(
                    f"the pod {pod} of job {args.job} ({state}) is gone, and its log with it: the job's status keeps "
                    f"its reason, message and stacktrace (`{args.prog} describe job {args.job}`)",
                    EXIT_NOT_FOUND,
                ) from None
            waiting = error.status == 400 and any(w in message for w in WAITING)
            if waiting and args.follow and time.monotonic() < deadline:
                time.sleep(0.5)  # the container has not started yet: its log is not there to read
                continue
            raise


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("logs", help="print (or follow with -f) a job's task pod log", epilog=EPILOG)
    parser.add_argument("job")
    parser.add_argument("-f", "--follow", action="store_true", help="stream the log until the pod ends (or Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for a pod not started yet")
    add_selection_arguments(parser)
    parser.set_defaults(run=cmd_logs)
