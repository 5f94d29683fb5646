"""Lean list-and-watch caches of the batch Jobs and pods that run taipod's jobs.

kopf handles taipod's own resources. Batch Jobs and pods are not ours, yet they bring most of the watch events (seven
of a job's dozen: binding, kwok or kubelet status, finalizer removal, the Job controller's counters). Through kopf's
handler machinery each cost the operator about 1.7 ms of CPU (the benchmark's py-spy profile); here an event is
decoded, reduced to a compact record and, only when that record changed, wakes its scenario. Most of these updates
change nothing the operator reads and wake nothing.

Semantics of a client-go informer: LIST (paged) then WATCH from the list's resourceVersion with bookmarks; a watch
that ends is resumed from the last version seen; "410 Gone" (the version was compacted) relists and diffs, so a
deletion missed meanwhile is still seen. Server-side label selection keeps other workloads' pods out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import aiohttp

__all__ = ["Informer", "ssl_context"]

log = logging.getLogger("taipod.operator")
R = TypeVar("R")
Key = tuple[str, str]  # (namespace, scenario label)
_WATCH_SECONDS = 290  # the server ends a watch after this; it is resumed from the last resourceVersion


class _Expired(Exception):
    """The resourceVersion to resume from is gone (410): relist."""


def ssl_context(configuration: Any) -> ssl.SSLContext:
    """TLS as the official client's configuration describes it (CA, client certificate, verification)."""
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Informer(Generic[R]):
    """A cache of one resource's objects carrying ``scenario_label``, as compact records grouped by scenario.

    ``get((namespace, scenario))`` gives that scenario's records (the reconciler's ``Index`` protocol);
    ``on_change(namespace, scenario)`` is called in the event loop whenever a record appears, changes or goes.
    Records must compare equal when nothing the operator reads changed (resourceVersions excluded from equality).
    """

    def __init__(
        self,
        configuration: Any,
        *,
        path: Callable[[str | None], str],
        namespaces: Sequence[str],
        label_selector: str,
        scenario_label: str,
        record: Callable[[Mapping[str, Any]], R],
        on_change: Callable[[str, str], None],
        what: str,
    ) -> None:
        self.configuration = configuration
        self._path = path
        self._namespaces: list[str | None] = list(namespaces) or [None]  # None: every namespace
        self._selector = label_selector
        self._scenario_label = scenario_label
        self._record = record
        self._on_change = on_change
        self._what = what
        self._buckets: dict[Key, dict[str, R]] = {}
        self._where: dict[tuple[str, str], Key] = {}  # (namespace, object name) -> its bucket
        self._listed: set[str | None] = set()
        self._synced = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.events = 0  # watch events handled (benchmarks, tests)

    # -- the cache -------------------------------------------------------------------------------------------------
    def get(self, key: Any, default: Any = None) -> Any:
        bucket = self._buckets.get(key)
        return bucket.values() if bucket else default

    def __len__(self) -> int:
        return len(self._where)

    def _put(self, body: Mapping[str, Any]) -> Key | None:
        meta = body.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        key = (namespace, (meta.get("labels") or {}).get(self._scenario_label, ""))
        record = self._record(body)
        moved = self._where.get((namespace, name))
        if moved is not None and moved != key:  # relabelled: not done by taipod, but keep the index exact
            self._changed([self._drop(namespace, name)])
        bucket = self._buckets.setdefault(key, {})
        if bucket.get(name) == record:
            bucket[name] = record  # the newer resourceVersion, nothing the operator reads changed
            return None
        bucket[name] = record
        self._where[(namespace, name)] = key
        return key

    def _drop(self, namespace: str, name: str) -> Key | None:
        key = self._where.pop((namespace, name), None)
        if key is None:
            return None
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.pop(name, None)
            if not bucket:
                del self._buckets[key]
        return key

    def _changed(self, keys: Iterable[Key | None]) -> None:
        for key in set(keys):
            if key is not None and key[1]:
                self._on_change(*key)

    # -- running ---------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start listing and watching; returns once every namespace has been listed (the cache is complete)."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(self.configuration)),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=_WATCH_SECONDS + 60),
        )
        self._tasks = [
            asyncio.create_task(self._run(namespace), name=f"taipod-informer-{self._what}-{namespace or 'all'}")
            for namespace in self._namespaces
        ]
        await self._synced.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "taipod-operator"}
        token = self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")  # refreshed
        if token:
            headers["Authorization"] = token
        return headers

    def _url(self, namespace: str | None, params: dict[str, str]) -> str:
        return f"{self.configuration.host}{self._path(namespace)}?{urlencode(params)}"

    async def _run(self, namespace: str | None) -> None:
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    version = await self._list(namespace)
                    self._listed.add(namespace)
                    if len(self._listed) == len(self._namespaces):
                        self._synced.set()
                version = await self._watch(namespace, version)
                failures = 0
            except asyncio.CancelledError:
                raise
            except _Expired:
                version = None
            except Exception as error:
                failures += 1
                # Capped low: after an API server outage the caches must be current within seconds of it being back
                # (a retry every 2 s costs the server nothing while it is down).
                delay = min(0.25 * 2**failures, 2.0)
                where = namespace or "all namespaces"
                log.warning("watching %s in %s failed (retry in %.1fs): %s", self._what, where, delay, error)
                if failures >= 3:
                    version = None  # relist: whatever was missed is diffed in
                await asyncio.sleep(delay)

    async def _list(self, namespace: str | None) -> str:
        assert self._session is not None
        items: list[Mapping[str, Any]] = []
        params = {"labelSelector": self._selector, "limit": "500"}
        while True:
            async with self._session.get(self._url(namespace, params), headers=self._headers()) as response:
                data = await response.json(loads=json.loads)
                if response.status >= 400:
                    raise RuntimeError(f"listing {self._what}: {response.status} {data.get('message', '')}")
            items.extend(data.get("items") or [])
            meta = data.get("metadata") or {}
            if not meta.get("continue"):
                break
            params = {**params, "continue": meta["continue"]}
        seen = {(m.get("namespace", ""), m.get("name", "")) for m in (i.get("metadata") or {} for i in items)}
        gone = [where for where in self._where if (namespace is None or where[0] == namespace) and where not in seen]
        changed = [self._drop(*where) for where in gone]
        changed += [self._put(item) for item in items]
        self._changed(changed)
        return str(meta.get("resourceVersion") or "")

    async def _watch(self, namespace: str | None, version: str) -> str:
        assert self._session is not None
        params = {
            "watch": "true",
            "labelSelector": self._selector,
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(_WATCH_SECONDS),
        }
        async with self._session.get(self._url(namespace, params), headers=self._headers()) as response:
            if response.status == 410:
                raise _Expired
            if response.status >= 400:
                raise RuntimeError(f"watching {self._what}: {response.status} {(await response.text())[:200]}")
            pending = b""
            async for chunk in response.content.iter_any():
                *lines, pending = (pending + chunk).split(b"\n")
                changed = []
                for line in lines:
                    if line.strip():
                        key, version = self._handle(json.loads(line), version)
                        changed.append(key)
                self._changed(changed)
        return version

    def _handle(self, event: Mapping[str, Any], version: str) -> tuple[Key | None, str]:
        kind = event.get("type")
        body = event.get("object") or {}
        if kind == "ERROR":
            if body.get("code") == 410:
                raise _Expired
            raise RuntimeError(f"watch error on {self._what}: {body.get('message', body)}")
        self.events += 1
        meta = body.get("metadata") or {}
        version = str(meta.get("resourceVersion") or version)
        if kind == "BOOKMARK":
            return None, version
        if kind == "DELETED":
            return self._drop(meta.get("namespace", ""), meta.get("name", "")), version
        return self._put(body), version
