"""The runner's termination message: the summary Kubernetes keeps in the pod status (at most 4096 bytes).

Success: ``{"ok": true, "outputs": {"<output>": {"value": <json>}}}``. An output's entry holds ``value`` only when
the value is small plain JSON that reads back equal (so the operator can record it inline, decisions "Data nodes");
an output without an entry, or whose entry has no ``value``, is read from the storage.

Failure: ``{"ok": false, "error": "<ExceptionType>: <message>", "stacktrace": "<tail of the traceback>"}``, plus
``"reason": "StorageUnavailable"`` when the store rather than the task failed. The tail keeps the last frames and the
exception line; a cut traceback starts with ``"...\\n"``.

Messages are compact UTF-8 JSON; sizes are counted in bytes.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ERROR_LIMIT",
    "MESSAGE_LIMIT",
    "VALUE_LIMIT",
    "describe",
    "exception_message",
    "failure_message",
    "format_traceback",
    "inline_value",
    "success_message",
]

MESSAGE_LIMIT = 4096
"""What Kubernetes keeps of a termination message (bytes)."""
VALUE_LIMIT = 256
"""The largest output value recorded inline (bytes of its JSON text)."""
ERROR_LIMIT = 500
"""The longest error summary (characters); the stacktrace gets the rest."""
LINE_LIMIT = 800
"""The longest traceback line, or exception text, kept whole (characters); a longer one keeps its start and end."""
ELLIPSIS = "...\n"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _clean(text: str) -> str:
    # Lone surrogates (e.g. undecodable file names in a message) cannot be encoded to UTF-8.
    return text.encode("utf-8", "replace").decode("utf-8")


def _is_plain_json(value: Any) -> bool:
    """Whether ``value`` is made of dict (str keys), list, str, int, float, bool and None only, within a size bound.

    Exact types only: a tuple, an enum or a subclass would read back as something else. Each item takes at least
    one byte of JSON, so the walk gives up past ``VALUE_LIMIT`` items: big values cost little.
    """
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        kind = type(item)
        if seen > VALUE_LIMIT or (kind in (dict, list, str) and len(item) > VALUE_LIMIT):
            return False
        if kind is dict:
            if any(type(k) is not str for k in item):
                return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind not in (str, int, float, bool, type(None)):
            return False
    return True


def inline_value(value: Any) -> str | None:
    """The JSON text of ``value`` when it is plain JSON of at most ``VALUE_LIMIT`` bytes, else None."""
    if not _is_plain_json(value):
        return None
    try:
        text = _dumps(value)
        size = _size(text)
    except (ValueError, UnicodeEncodeError):  # NaN or infinity, a lone surrogate
        return None
    return text if size <= VALUE_LIMIT else None


def success_message(outputs: Sequence[tuple[str, Any]]) -> str:
    """The message of a successful task, with the values of ``outputs`` (name, value) that fit."""
    entries: dict[str, dict[str, Any]] = {}
    size = _size(_dumps({"ok": True, "outputs": entries}))
    for name, value in outputs:
        if name in entries:  # names are unique in a valid task; never count one twice
            continue
        text = inline_value(value)
        for entry in ({"value": json.loads(text)}, {}) if text is not None else ({},):
            # The entry's cost: its key and value, and a comma unless it is the first.
            cost = _size(_dumps({name: entry})) - 2 + (1 if entries else 0)
            if size + cost <= MESSAGE_LIMIT:
                entries[name] = entry
                size += cost
                break
    return _dumps({"ok": True, "outputs": entries})


def _shorten(line: str) -> str:
    if len(line) <= LINE_LIMIT:
        return line
    head, tail = LINE_LIMIT * 3 // 5, LINE_LIMIT // 5
    return f"{line[:head]} [... {len(line) - head - tail} characters ...] {line[-tail:]}"


def _last_lines(text: str) -> tuple[str, bool]:
    """The last lines of ``text`` that can fit in a message, each long one shortened in the middle so that the
    exception's type and frames survive a huge message; and whether earlier lines were dropped."""
    lines: list[str] = []
    kept, end = 0, len(text)
    while kept < MESSAGE_LIMIT:
        start = text.rfind("\n", 0, end) + 1
        lines.append(_shorten(text[start:end]))
        kept += len(lines[-1]) + 1
        if start == 0:
            return "\n".join(reversed(lines)), False
        end = start - 1
    return "\n".join(reversed(lines)), True


def _tail(stacktrace: str, budget: int) -> str:
    """``ELLIPSIS`` and the longest end of ``stacktrace`` that fit in ``budget`` bytes of JSON string content."""

    def fits(k: int) -> bool:
        return _size(_dumps(ELLIPSIS + stacktrace[len(stacktrace) - k :])) - 2 <= budget

    if not fits(0):
        return ""
    # Binary search on the length kept; every character takes at least one byte, so no longer end can fit.
    low, high = 0, min(len(stacktrace), budget)
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    cut = len(stacktrace) - low
    tail = stacktrace[cut:]
    # Start at a line boundary, unless the last line alone is all there is room for.
    newline = tail.find("\n")
    if cut > 0 and stacktrace[cut - 1] != "\n" and 0 <= newline < len(tail) - 1:
        tail = tail[newline + 1 :]
    return ELLIPSIS + tail


def failure_message(error: str, stacktrace: str, reason: str | None = None) -> str:
    """The message of a failed task: ``error`` cut to about ``ERROR_LIMIT`` characters, its ``reason`` if any, then
    as much of the end of ``stacktrace`` as fits."""
    if len(error) > ERROR_LIMIT:
        error = error[: ERROR_LIMIT - 3] + "..."
    error = _clean(error)
    text, dropped = _last_lines(stacktrace.rstrip("\n"))
    text = _clean(text)
    head: dict[str, Any] = {"ok": False, "error": error}
    if reason:
        head["reason"] = reason
    budget = MESSAGE_LIMIT - _size(_dumps({**head, "stacktrace": ""}))
    if dropped or _size(_dumps(text)) - 2 > budget:
        text = _tail(text, budget)
    return _dumps({**head, "stacktrace": text})


def describe(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"``, or the type alone when the message is empty."""
    try:
        text = str(exc)
    except Exception:
        text = "<exception str() failed>"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def format_traceback(exc: BaseException) -> str:
    """The traceback as Python prints it (causes included), the final exception's text shortened in the middle when
    it is long, so that a huge or many-line message leaves room for the last frames."""
    formatted = traceback.TracebackException.from_exception(exc)
    text = "".join(formatted.format())
    exception_only = "".join(formatted.format_exception_only())
    if len(exception_only) <= LINE_LIMIT or not text.endswith(exception_only):
        return text
    return text[: -len(exception_only)] + _shorten(exception_only.rstrip("\n")) + "\n"


def exception_message(exc: BaseException, reason: str | None = None) -> str:
    """The failure message of ``exc``, with the end of its traceback."""
    return failure_message(describe(exc), format_traceback(exc), reason)
