"""The operator's asyncio exception handler: quiet for kopf's watch streams closed on shutdown, default otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from taipod.operator.runtime import _quiet_watch_stream_closing


class Loop:
    def __init__(self) -> None:
        self.defaults: list[dict[str, Any]] = []

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.defaults.append(context)


async def infinite_watch() -> AsyncIterator[int]:  # named as kopf's watch stream
    yield 1


async def other_stream() -> AsyncIterator[int]:
    yield 1


def test_only_a_kopf_watch_stream_closing_is_quiet() -> None:
    loop = Loop()
    for gen in (infinite_watch(), other_stream()):
        context = {"message": "an error occurred during closing of asynchronous generator", "asyncgen": gen}
        _quiet_watch_stream_closing(loop, context)  # type: ignore[arg-type]
    _quiet_watch_stream_closing(loop, {"message": "Task exception was never retrieved"})  # type: ignore[arg-type]
    assert [c.get("asyncgen").__qualname__ if c.get("asyncgen") else c["message"] for c in loop.defaults] == [
        "other_stream",
        "Task exception was never retrieved",
    ]
