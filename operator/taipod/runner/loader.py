"""Finding the task function: ``module:qualname`` in the task image, a builtin, or a cloudpickle file."""

from __future__ import annotations

import builtins
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle

from taipod.runner.errors import FunctionLoadError, PythonVersionMismatch
from taipod.runner.task import PickledFunction

__all__ = ["check_python_version", "load_function", "load_pickled", "resolve_name"]

SHIP_HINT = "make the function importable in the image and name it as module:qualname"


def running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def check_python_version(pickled_with: str, running: str | None = None) -> None:
    """Pickled functions only load reliably on the Python (major.minor) that pickled them."""
    running = running or running_python()
    if pickled_with != running:
        raise PythonVersionMismatch(
            f"the function was pickled with Python {pickled_with} but the task image runs Python {running}: "
            f"use a task image with Python {pickled_with} (spec.tasks[].image) or {SHIP_HINT}"
        )


def resolve_name(name: str) -> Callable[..., Any]:
    """The callable ``module:qualname`` (qualname may be dotted, e.g. ``Class.method``) or ``builtins.<name>``."""
    module_name, sep, qualname = name.partition(":")
    if not sep:
        module_name, qualname = "builtins", name
    if not module_name or not qualname:
        raise FunctionLoadError(f"task function {name!r} is not of the form module:qualname or a builtin name")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise FunctionLoadError(f"task function {name!r} is local to another function: it cannot be imported by name")
    try:
        target: Any = builtins if module_name == "builtins" else importlib.import_module(module_name)
    except ImportError as exc:
        raise FunctionLoadError(
            f"cannot import module {module_name!r} of task function {name!r} ({exc}): "
            "install the module in the task image (or put it on its PYTHONPATH)"
        ) from exc
    for i, attr in enumerate(qualname.split(".")):
        try:
            target = getattr(target, attr)
        except AttributeError:
            owner = ".".join([module_name, *qualname.split(".")[:i]])
            raise FunctionLoadError(f"task function {name!r} not found: {owner} has no attribute {attr!r}") from None
    if not callable(target):
        raise FunctionLoadError(f"task function {name!r} is not callable (it is a {type(target).__name__})")
    return target  # type: ignore[no-any-return]


def load_pickled(pickled: PickledFunction) -> Callable[..., Any]:
    """The function cloudpickled at ``pickled.path``, after checking the Python version."""
    check_python_version(pickled.python_version)
    try:
        with Path(pickled.path).open("rb") as f:
            function = cloudpickle.load(f)
    except OSError as exc:
        raise FunctionLoadError(f"cannot read the pickled task function at {pickled.path}: {exc}") from exc
    except Exception as exc:
        raise FunctionLoadError(
            f"cannot unpickle the task function at {pickled.path} ({type(exc).__name__}: {exc}): the modules it "
            f"uses must be installed in the task image, or {SHIP_HINT}"
        ) from exc
    if not callable(function):
        raise FunctionLoadError(f"the pickled task function at {pickled.path} is a {type(function).__name__}")
    return function  # type: ignore[no-any-return]


def load_function(name: str, pickled: PickledFunction | None) -> Callable[..., Any]:
    """The task function: unpickled when it was shipped by value, imported by name otherwise."""
    return load_pickled(pickled) if pickled is not None else resolve_name(name)
