"""List-then-watch of taipod objects: wait for a condition, or stream changes, driven by the API server's watch.

A watch resumes from the last resourceVersion it saw when the server ends it (``timeoutSeconds``), and lists again
when that version is too old (410 Gone), so no change is missed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines
from urllib3.exceptions import HTTPError as Urllib3Error

from taipod.sdk import names
from taipod.sdk.cluster import Cluster

__all__ = ["Snapshot", "Streamer", "WatchTimeout", "wait_for"]

T = TypeVar("T")
Snapshot = dict[str, dict[str, Any]]
"""The watched objects by name."""

_SERVER_TIMEOUT = 55


class WatchTimeout(TimeoutError):
    """The condition did not hold before the deadline."""


class _Gone(Exception):
    """The resourceVersion is too old: list again."""


class _Stream:
    """One watch request, which another thread may close."""

    def __init__(self) -> None:
        self._response: Any = None
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # best effort: the stream may already be closed
                response.shutdown()

    def events(
        self,
        cluster: Cluster,
        plural: str,
        resource_version: str,
        timeout: float,
        label_selector: str | None,
        field_selector: str | None,
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "watch": True,
            "resource_version": resource_version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": max(1, int(timeout)),
            "_preload_content": False,
            "_request_timeout": (10, max(1, int(timeout)) + 15),
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        response: Any = cluster.call(
            f"watch {plural}.{names.GROUP}",
            cluster.custom.list_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            cluster.namespace,
            plural,
            **kwargs,
        )
        with self._lock:
            if self._closed:
                response.close()
                return
            self._response = response
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    obj = event.get("object") or {}
                    if obj.get("code") == 410:
                        raise _Gone
                    raise ApiException(status=obj.get("code"), reason=f"{obj.get('reason')}: {obj.get('message')}")
                yield event
        except (Urllib3Error, OSError):
            if not self._closed:
                raise
        finally:
            with self._lock:
                self._response = None
            response.release_conn()


def _list(
    cluster: Cluster, plural: str, label_selector: str | None, field_selector: str | None
) -> tuple[str, Snapshot]:
    kwargs: dict[str, Any] = {}
    if label_selector:
        kwargs["label_selector"] = label_selector
    if field_selector:
        kwargs["field_selector"] = field_selector
    listed: dict[str, Any] = cluster.call(
        f"list {plural}.{names.GROUP}",
        cluster.custom.list_namespaced_custom_object,
        names.GROUP,
        names.VERSION,
        cluster.namespace,
        plural,
        **kwargs,
    )
    items = {item["metadata"]["name"]: item for item in listed.get("items") or []}
    return str(listed["metadata"]["resourceVersion"]), items


def _apply(snapshot: Snapshot, event: dict[str, Any]) -> str | None:
    """Apply a watch event; return the new resourceVersion (None for events that carry none)."""
    obj = event.get("object") or {}
    meta = obj.get("metadata") or {}
    if event.get("type") == "BOOKMARK":
        return meta.get("resourceVersion")
    name = meta.get("name")
    if name is None:
        return None
    if event.get("type") == "DELETED":
        snapshot.pop(name, None)
    else:
        snapshot[name] = obj
    return meta.get("resourceVersion")


def wait_for(
    cluster: Cluster,
    plural: str,
    check: Callable[[Snapshot], T | None],
    timeout: float | None,
    label_selector: str | None = None,
    field_selector: str | None = None,
) -> T:
    """The first non-None ``check(snapshot)``, evaluated after the list and after every change.

    Raises ``WatchTimeout`` if ``timeout`` (seconds; None waits forever) elapses first.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        version, snapshot = _list(cluster, plural, label_selector, field_selector)
        result = check(snapshot)
        if result is not None:
            return result
        try:
            while True:
                remaining = _SERVER_TIMEOUT if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    raise WatchTimeout(f"timed out waiting on {plural}.{names.GROUP}")
                for event in _Stream().events(
                    cluster, plural, version, min(remaining, _SERVER_TIMEOUT), label_selector, field_selector
                ):
                    version = _apply(snapshot, event) or version
                    if event.get("type") == "BOOKMARK":
                        continue
                    result = check(snapshot)
                    if result is not None:
                        return result
        except (_Gone, Urllib3Error, ConnectionError):
            continue  # list again (a cluster that went away then fails the list with a clear error)


class Streamer:
    """Calls ``on_change(obj)`` in a background thread for every listed object, then for every added or modified
    one, until stopped.

    After a 410 or a network error the objects are listed again and passed to ``on_change`` again, so the callback
    must be idempotent.
    """

    def __init__(
        self,
        cluster: Cluster,
        plural: str,
        on_change: Callable[[dict[str, Any]], None],
        label_selector: str | None = None,
        on_error: Callable[[Exception], None] | None = None,
        name: str = "taipod-watch",
    ) -> None:
        self._cluster = cluster
        self._plural = plural
        self._on_change = on_change
        self._label_selector = label_selector
        self._on_error = on_error
        self._stop = threading.Event()
        self._started = threading.Event()
        self._stream = _Stream()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Start, and return once the first list has been processed (or ``timeout`` elapsed)."""
        self._thread.start()
        self._started.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._stream.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                version, snapshot = _list(self._cluster, self._plural, self._label_selector, None)
                for obj in snapshot.values():
                    self._on_change(obj)
                self._started.set()
                while not self._stop.is_set():
                    self._stream = _Stream()
                    if self._stop.is_set():
                        break
                    events = self._stream.events(
                        self._cluster, self._plural, version, _SERVER_TIMEOUT, self._label_selector, None
                    )
                    for event in events:
                        version = _apply({}, event) or version
                        if self._stop.is_set():
                            break
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            self._on_change(event["object"])
            except _Gone:
                continue
            except Exception as exc:  # keep watching through network errors
                if self._stop.is_set():
                    break
                if self._on_error is not None:
                    self._on_error(exc)
                self._started.set()
                self._stop.wait(1.0)
