"""A Lease that says "an operator serves this namespace", so the SDK starts an embedded one only when none does."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

from taipod.operator.kubeapi import ApiError, KubeApi

__all__ = ["LEASE_NAME", "PresenceLease"]

LEASE_NAME = "taipod-operator"
SERVES_ANNOTATION = "taipod.io/serves"
log = logging.getLogger("taipod.operator.lease")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PresenceLease:
    def __init__(self, api: KubeApi, namespaces: list[str], serves: str, duration: int = 30) -> None:
        self.api = api
        self.namespaces = namespaces
        self.serves = serves
        self.duration = duration
        self.identity = f"{socket.gethostname()}-{os.getpid()}"
        self._task: asyncio.Task[None] | None = None

    def _path(self, namespace: str, name: str = "") -> str:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        return f"{path}/{name}" if name else path

    def _body(self, namespace: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": LEASE_NAME,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/name": "taipod-operator"},
                "annotations": {SERVES_ANNOTATION: self.serves},
            },
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration,
                "renewTime": _now(),
            },
        }

    def renew(self) -> None:
        for namespace in self.namespaces:
            body = self._body(namespace)
            try:
                self.api.merge_patch(self._path(namespace, LEASE_NAME), body)
            except ApiError as error:
                if error.status != 404:
                    raise
                try:
                    self.api.create(self._path(namespace), body)
                except ApiError as create_error:
                    if create_error.status != 409:
                        raise

    def release(self) -> None:
        """Say "no longer served" by dropping the holder, only if that is still this operator: another one that took
        over meanwhile keeps serving, and an SDK must not see the namespace unserved. A JSON patch whose ``test`` fails
        changes nothing (422); the Lease may belong to the Helm release, and the chart grants only ``patch`` on it."""
        ops = [
            {"op": "test", "path": "/spec/holderIdentity", "value": self.identity},
            {"op": "remove", "path": "/spec/holderIdentity"},
        ]
        for namespace in self.namespaces:
            try:
                self.api.json_patch(self._path(namespace, LEASE_NAME), ops)
            except ApiError as error:
                if error.status != 422:  # 422: held by another operator now
                    log.warning("could not release the lease in %s: %s", namespace, error)
            except Exception as error:  # shutting down: best effort
                log.warning("could not release the lease in %s: %s", namespace, error)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.renew)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("could not renew the presence lease: %s", error)
            await asyncio.sleep(self.duration / 3)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="taipod-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.release)
