"""Mapping a task function's result onto its outputs, as Taipy does (semantics.md §4.5, step 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taipod.runner.errors import DataNodeWritingError

__all__ = ["map_results"]


def map_results(task: str, result: Any, outputs: Sequence[str]) -> list[tuple[str, Any]]:
    """``(output, value)`` pairs in output order.

    No output: the result is ignored. One output: the result as is. Several: the result must be a sequence (a tuple,
    a list, ...) with one value per output, else ``DataNodeWritingError``. Taipy only takes ``len()`` of the result;
    requiring a ``Sequence`` also refuses sets, mappings and DataFrames, which would be split in no promised order.
    """
    if not outputs:
        return []
    if len(outputs) == 1:
        return [(outputs[0], result)]
    ordered = isinstance(result, Sequence)
    values = list(result) if ordered else [result]
    if len(values) != len(outputs):
        kind = "" if ordered else f" (a {type(result).__name__}, not a sequence)"
        raise DataNodeWritingError(
            f"wrong number of results: task {task} returned {len(values)} value{'s' if len(values) != 1 else ''}{kind} "
            f"for {len(outputs)} outputs {', '.join(outputs)}"
        )
    return list(zip(outputs, values, strict=True))
