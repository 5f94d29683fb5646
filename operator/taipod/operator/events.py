"""Kubernetes Events for job transitions, posted in the background (best effort, never blocking a pass).

``level`` picks which: "warnings" (the default: failures, abandons, retries, invalid specs, failed or canceled
submissions, and the answer to a cancel request), "all" (also one Event per job status write and per submission
status change) or "none" (``OperatorConfig.events``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from taipod.operator.kubeapi import ApiError, KubeApi

__all__ = ["EventPoster"]

log = logging.getLogger("taipod.operator.events")


class EventPoster:
    """A bounded queue drained by a few tasks; when it is full (a burst of thousands of jobs) events are dropped and
    counted rather than slowing the reconciler down."""

    def __init__(self, api: KubeApi, level: str = "warnings", capacity: int = 10000, workers: int = 4) -> None:
        self.api = api
        self.level = level
        self.dropped = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(capacity)
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._instance = os.environ.get("HOSTNAME", "taipod-operator")
        self.executor: Any = None

    def start(self, executor: Any) -> None:
        self.executor = executor
        self._tasks = [asyncio.create_task(self._drain(), name=f"taipod-events-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def post(self, obj: Mapping[str, Any], type_: str, reason: str, message: str, notable: bool = False) -> None:
        """Queue an Event. At the "warnings" level only Warnings and ``notable`` ones (answers to a user's request,
        such as a cancel) are posted."""
        if self.level == "none" or (self.level == "warnings" and type_ != "Warning" and not notable):
            return
        meta = obj.get("metadata") or {}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "metadata": {"generateName": f"{meta.get('name', 'taipod')}.", "namespace": meta.get("namespace")},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": "taipod-operator"},
            "reportingComponent": "taipod.io/operator",
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            event = await self._queue.get()
            path = f"/api/v1/namespaces/{event['metadata']['namespace']}/events"
            try:
                await loop.run_in_executor(self.executor, self.api.create, path, event)
            except ApiError as error:
                if error.status not in (403, 404, 409):  # namespace gone or no right to post: events are optional
                    log.warning("could not post event %s: %s", event["reason"], error)
            except Exception as error:
                log.warning("could not post event %s: %s", event["reason"], error)
