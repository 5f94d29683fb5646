"""Running the task: load the function, read the inputs, call it, write the outputs, report (semantics.md §4.5).

Exit codes: 0 the outputs are written; 1 the task failed (any ``Exception`` while loading, reading, calling or
writing); 2 ``TAIPOD_TASK`` is malformed. The termination message (``taipod.runner.message``) goes to the file named
by ``TAIPOD_TERMINATION_LOG``, ``/dev/termination-log`` by default.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taipod import storage
from taipod.runner.errors import DataNodeWritingError, MalformedTaskError, NoData, TaskFunctionExit
from taipod.runner.loader import load_function
from taipod.runner.message import exception_message, failure_message, success_message
from taipod.runner.results import map_results
from taipod.runner.task import InputSpec, TaskSpec, parse_task

__all__ = ["EXIT_FAILED", "EXIT_MALFORMED", "EXIT_OK", "main", "read_input", "run_task", "write_outputs"]

EXIT_OK, EXIT_FAILED, EXIT_MALFORMED = 0, 1, 2
DEFAULT_TERMINATION_LOG = "/dev/termination-log"


def log(text: str) -> None:
    print(f"taipod runner: {text}", flush=True)


def read_input(spec: InputSpec, access: storage.Access | None = None) -> Any:
    """The input's stored value, else its default data when the task carries it (older operators), else ``NoData``.

    The operator writes default data to the store before any task reads it, so a missing value means never written.
    """
    try:
        return storage.read(spec.url, spec.storage_type, access)
    except FileNotFoundError:
        if spec.has_default:
            return storage.as_if_written(spec.storage_type, spec.default)
        raise NoData(f"data node {spec.name} was never written ({spec.url})") from None


def write_outputs(task: TaskSpec, result: Any, access: storage.Access | None = None) -> list[tuple[str, Any]]:
    """Write the result to the outputs; on a write error, still write the others, then raise (like Taipy)."""
    pairs = map_results(task.task, result, [o.name for o in task.outputs])
    errors: list[tuple[str, Exception]] = []
    for spec, (_, value) in zip(task.outputs, pairs, strict=True):
        try:
            storage.write(spec.url, spec.storage_type, value, access)
        except Exception as exc:
            print(f"taipod runner: writing data node {spec.name} ({spec.url}) failed:", file=sys.stderr)
            traceback.print_exception(exc)
            errors.append((spec.name, exc))
    if errors:
        details = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in errors)
        raise DataNodeWritingError(
            f"could not write {len(errors)} of {len(pairs)} outputs of task {task.task} ({details})"
        ) from errors[0][1]
    return pairs


def run_task(task: TaskSpec, access: storage.Access | None = None) -> list[tuple[str, Any]]:
    """Run the task; the (output, value) pairs written."""
    function = load_function(task.function, task.pickled)
    args = [read_input(spec, access) for spec in task.inputs]
    try:
        result = function(*args)
    except SystemExit as exc:
        # Exiting from the function would end the pod with the outputs unwritten, maybe with code 0.
        raise TaskFunctionExit(f"the task function called sys.exit({exc.code!r})") from exc
    return write_outputs(task, result, access)


def _reason(exc: BaseException) -> str | None:
    """``StorageUnavailable`` when the store, not the task, failed (the error or one of its causes)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, storage.StorageUnavailableError):
            return "StorageUnavailable"
        seen = seen.__cause__ or seen.__context__
    return None


def write_termination_log(path: str, message: str) -> None:
    """Write the message where Kubernetes reads it; outside a pod the file may be impossible to write: skip it."""
    try:
        Path(path).write_bytes(message.encode("utf-8"))
    except OSError as exc:
        print(f"taipod runner: cannot write the termination message to {path}: {exc}", file=sys.stderr)


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the task described by ``TAIPOD_TASK`` in ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    termination_log = env.get("TAIPOD_TERMINATION_LOG") or DEFAULT_TERMINATION_LOG
    try:
        task = parse_task(env.get("TAIPOD_TASK"))
    except MalformedTaskError as exc:
        print(f"taipod runner: {exc}", file=sys.stderr)
        write_termination_log(termination_log, failure_message(f"MalformedTaskError: {exc}", ""))
        return EXIT_MALFORMED
    shipped = " (pickled)" if task.pickled is not None else ""
    log(f"job {task.job} task {task.task} function {task.function}{shipped}")
    try:
        written = run_task(task, storage.Access.from_env(env))
    except Exception as exc:
        sys.stdout.flush()
        traceback.print_exception(exc)
        sys.stderr.flush()
        write_termination_log(termination_log, exception_message(exc, _reason(exc)))
        return EXIT_FAILED
    names = ", ".join(name for name, _ in written) or "none"
    log(f"job {task.job} task {task.task} completed (outputs: {names})")
    write_termination_log(termination_log, success_message(written))
    return EXIT_OK
