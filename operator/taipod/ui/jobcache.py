"""One list-and-watch of the Job resources, kept in memory as rows and pushed to every open page.

The API server is never polled: one LIST (in pages of 500), then one WATCH from its resourceVersion, resumed from
bookmarks, re-listed when the server says the version is gone (410). Every page of the list, every filter and every
details view reads this cache; each change reaches the pages' event streams as ``upsert`` or ``delete`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from taipod.ui.apiclient import ApiAnswer, ApiClient, Credentials
from taipod.ui.rows import JobRow, row_from_body

__all__ = ["JobCache", "jobs_path"]

_log = logging.getLogger("taipod.ui")
QUEUE_LIMIT = 20000


def jobs_path(namespace: str | None, name: str = "") -> str:
    """The Job resources of ``namespace``, or of every namespace for None."""
    base = "/apis/taipod.io/v1alpha1"
    path = f"{base}/namespaces/{namespace}/jobs" if namespace else f"{base}/jobs"
    return f"{path}/{name}" if name else path


class JobCache:
    """The rows of one namespace (or all), as seen with one user's credentials."""

    def __init__(self, api: ApiClient, credentials: Credentials, namespace: str | None) -> None:
        self.api = api
        self.credentials = credentials
        self.namespace = namespace
        self.rows: dict[str, JobRow] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self.error: ApiAnswer | None = None
        self.ready = asyncio.Event()
        self.events = 0  # watch events applied since start
        self.last_used = time.monotonic()
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- subscribers -------------------------------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)
        self.last_used = time.monotonic()

    def shutdown(self) -> None:
        """Tell every subscriber to stop (the server is stopping)."""
        self._publish({"type": "shutdown"})

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a page that stopped reading: it gets a reset and reloads its view
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"type": "reset"})

    async def wait_for(self, key: str, predicate: Callable[[JobRow | None], bool], timeout: float) -> JobRow | None:
        """Wait (on the watch, never polling) until ``predicate(row)`` holds; the row then, else after ``timeout``."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.rows.get(key))), timeout)
        return self.rows.get(key)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- list and watch ----------------------------------------------------------------------------------------------
    def _apply(self, kind: str, body: dict[str, Any]) -> None:
        row = row_from_body(body)
        if kind == "DELETED":
            self.rows.pop(row.key, None)
            self.bodies.pop(row.key, None)
            self._publish({"type": "delete", "key": row.key})
        else:
            self.rows[row.key] = row
            self.bodies[row.key] = body
            self._publish({"type": "upsert", "row": row.to_json()})
        self.events += 1

    async def _list(self) -> str | None:
        """Replace the rows with a fresh LIST; the resourceVersion to watch from, or None after an error."""
        rows: dict[str, JobRow] = {}
        bodies: dict[str, dict[str, Any]] = {}
        params = {"limit": "500"}
        while True:
            answer = await self.api.request("GET", jobs_path(self.namespace), self.credentials, params=params)
            if not answer.ok:
                self.error = answer
                self._publish({"type": "error", "status": answer.status, "message": answer.message})
                return None
            for body in answer.body.get("items") or []:
                body.setdefault("metadata", {}).setdefault("namespace", self.namespace or "")
                row = row_from_body(body)
                rows[row.key] = row
                bodies[row.key] = body
            meta = answer.body.get("metadata") or {}
            if not meta.get("continue"):
                break
            params = {"limit": "500", "continue": str(meta["continue"])}
        self.rows, self.bodies, self.error = rows, bodies, None
        self._publish({"type": "reset"})
        return str(meta.get("resourceVersion") or "")

    async def _run(self) -> None:
        while True:
            try:
                version = await self._list()
                self.ready.set()
                await self._notify()
                if version is None:
                    await asyncio.sleep(5)
                    continue
                await self._watch(version)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the API server away: say so on the pages, list again
                _log.warning("job watch interrupted: %s", error)
                self.error = ApiAnswer(503, {"message": f"the API server could not be reached: {error}"})
                self._publish({"type": "error", "status": 503, "message": self.error.message})
                self.ready.set()
                await asyncio.sleep(2)

    async def _watch(self, version: str) -> None:
        while True:
            params = {"resourceVersion": version, "allowWatchBookmarks": "true", "timeoutSeconds": "240"}
            async for event in self.api.watch(jobs_path(self.namespace), self.credentials, params):
                kind = event.get("type")
                body = event.get("object") or {}
                if kind == "ERROR":
                    if body.get("code") != 410:
                        _log.warning("job watch error: %s", body.get("message"))
                    return  # list again
                version = str((body.get("metadata") or {}).get("resourceVersion") or version)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(str(kind), body)
                    await self._notify()
