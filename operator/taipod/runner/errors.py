"""Why a task failed, named after Taipy's exceptions where there is one (semantics.md §4.5, §6)."""

from __future__ import annotations

__all__ = [
    "DataNodeWritingError",
    "FunctionLoadError",
    "MalformedTaskError",
    "NoData",
    "PythonVersionMismatch",
    "TaskFunctionExit",
]


class MalformedTaskError(ValueError):
    """``TAIPOD_TASK`` is missing or does not follow the contract: an operator bug, not a task failure (exit 2)."""


class FunctionLoadError(ImportError):
    """The task function cannot be imported or unpickled."""


class PythonVersionMismatch(FunctionLoadError):
    """The function was pickled with another Python version than the task image's."""


class NoData(Exception):
    """An input data node was never written and has no default data."""


class DataNodeWritingError(Exception):
    """The results do not match the outputs, or an output could not be written."""


class TaskFunctionExit(Exception):
    """The task function called ``sys.exit``: the outputs were not written, so the task cannot succeed."""
