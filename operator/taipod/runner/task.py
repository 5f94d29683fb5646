"""The task description the operator gives the runner in ``TAIPOD_TASK`` (a JSON object).

``{"job": str, "task": str, "function": "module:qualname" | builtin name,
"pickled": null | {"path": str, "pythonVersion": "3.11"},
"inputs": [{"name": str, "storageType": str, "url": str, "hasDefault": bool, "default": <json>}],
"outputs": [{"name": str, "storageType": str, "url": str}]}``

Inputs are passed to the function positionally in the given order; outputs are written in the given order.
Keys not listed here are ignored, so the operator can add some before every runner knows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taipod.runner.errors import MalformedTaskError
from taipod.storage import EXTENSIONS

__all__ = ["InputSpec", "OutputSpec", "PickledFunction", "TaskSpec", "parse_task"]


@dataclass(frozen=True)
class PickledFunction:
    """A function shipped by value: a cloudpickle file and the Python version it was pickled with."""

    path: str
    python_version: str


@dataclass(frozen=True)
class InputSpec:
    name: str
    storage_type: str
    url: str
    has_default: bool = False
    default: Any = None


@dataclass(frozen=True)
class OutputSpec:
    name: str
    storage_type: str
    url: str


@dataclass(frozen=True)
class TaskSpec:
    job: str
    task: str
    function: str
    pickled: PickledFunction | None
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedTaskError(f"TAIPOD_TASK: {where} must be a JSON object, not {type(value).__name__}")
    return value


# ``prefix`` locates a field in error messages: "" at the top level, "inputs[0]." in the first input.
def _str(obj: Mapping[str, Any], key: str, prefix: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedTaskError(f"TAIPOD_TASK: {prefix}{key} must be a non-empty string, got {value!r}")
    return value


def _storage_type(obj: Mapping[str, Any], prefix: str) -> str:
    storage_type = _str(obj, "storageType", prefix)
    if storage_type not in EXTENSIONS:
        raise MalformedTaskError(
            f"TAIPOD_TASK: {prefix}storageType {storage_type!r} is not one of {', '.join(EXTENSIONS)}"
        )
    return storage_type


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise MalformedTaskError(f"TAIPOD_TASK: {key} must be a JSON array, not {type(value).__name__}")
    return value


def _input(value: Any, where: str) -> InputSpec:
    obj = _object(value, where)
    prefix = f"{where}."
    has_default = obj.get("hasDefault", False)
    if not isinstance(has_default, bool):
        raise MalformedTaskError(f"TAIPOD_TASK: {prefix}hasDefault must be a boolean, got {has_default!r}")
    return InputSpec(
        name=_str(obj, "name", prefix),
        storage_type=_storage_type(obj, prefix),
        url=_str(obj, "url", prefix),
        has_default=has_default,
        default=obj.get("default"),
    )


def _output(value: Any, where: str) -> OutputSpec:
    obj = _object(value, where)
    prefix = f"{where}."
    return OutputSpec(
        name=_str(obj, "name", prefix), storage_type=_storage_type(obj, prefix), url=_str(obj, "url", prefix)
    )


def _pickled(value: Any) -> PickledFunction | None:
    if value is None:
        return None
    obj = _object(value, "pickled")
    return PickledFunction(path=_str(obj, "path", "pickled."), python_version=_str(obj, "pythonVersion", "pickled."))


def parse_task(text: str | None) -> TaskSpec:
    """The task described by the JSON ``text``; ``MalformedTaskError`` naming the faulty field when it is invalid."""
    if text is None:
        raise MalformedTaskError("TAIPOD_TASK is not set: the runner only runs in task pods made by the operator")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise MalformedTaskError(f"TAIPOD_TASK is not valid JSON: {exc}") from None
    obj = _object(raw, "the task")
    return TaskSpec(
        job=_str(obj, "job", ""),
        task=_str(obj, "task", ""),
        function=_str(obj, "function", ""),
        pickled=_pickled(obj.get("pickled")),
        inputs=tuple(_input(v, f"inputs[{i}]") for i, v in enumerate(_list(obj, "inputs"))),
        outputs=tuple(_output(v, f"outputs[{i}]") for i, v in enumerate(_list(obj, "outputs"))),
    )
