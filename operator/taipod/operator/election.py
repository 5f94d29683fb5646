"""Leader election among operator replicas on the presence Lease ``taipod-operator`` (taipod.core.election decides).

The Lease that tells SDKs "an operator serves this namespace" is also the election's lock: only the leader holds and
renews it, so it says both that the namespace is served and by which replica. The lock is the Lease of the first
served namespace (or of the operator's own namespace when it serves every namespace); the leader renews the Leases of
the other served namespaces as presence only (taipod.operator.lease).

The elector has its own API client and threads: a reconciler saturating its pool never delays a renewal. Losing the
lease is timed, not polled: ``may_act()`` turns False at the deadline even while a renewal hangs, and the operator's
write guard refuses every write from then on.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from taipod.core.election import Action, LeaseRecord, Observation, Timing, decide, leads_until
from taipod.operator.kubeapi import ApiError, KubeApi
from taipod.operator.lease import LEASE_NAME, SERVES_ANNOTATION

__all__ = ["LeaderElector", "default_identity", "election_configuration"]

log = logging.getLogger("taipod.operator.election")


def default_identity() -> str:
    """The pod's name in a Deployment (its hostname), with the process id for several processes on one host."""
    return f"{socket.gethostname()}-{os.getpid()}"


def election_configuration(configuration: Any) -> Any:
    """The operator's client configuration without urllib3's retries: a request of the elector gives up at its own
    timeout (the renew deadline) instead of three times later, and the campaign's next round is the retry."""
    own = copy.deepcopy(configuration)
    own.retries = False
    return own


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(body: dict[str, Any]) -> LeaseRecord:
    spec = body.get("spec") or {}
    return LeaseRecord(
        version=str((body.get("metadata") or {}).get("resourceVersion") or ""),
        holder=spec.get("holderIdentity") or None,
        duration=spec.get("leaseDurationSeconds"),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


class LeaderElector:
    """Campaigns for the Lease ``namespace/taipod-operator``; calls ``on_started`` once it leads and ``on_stopped``
    once it stops leading (lost or released). A replica that lost the lease never leads again in this life: the
    operator stops, and its next life starts as a standby with fresh caches."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        serves: str,
        timing: Timing,
        *,
        identity: str | None = None,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.serves = serves
        self.timing = timing
        self.identity = identity or default_identity()
        self.on_started = on_started
        self.on_stopped = on_stopped
        self.acquired_at: float | None = None  # monotonic, when this replica last became the leader
        self._observed: Observation | None = None
        self._must_read = True  # the leader skips the read while its last write of the Lease succeeded
        self._until = 0.0  # monotonic: leads until then
        self._leading = False
        self._ended = False
        self._expiry: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="taipod-election")

    # -- what the rest of the operator asks ------------------------------------------------------------------------
    def may_act(self) -> bool:
        """Whether this replica leads now: checked before every write of the operator (its write guard)."""
        return self._leading and time.monotonic() < self._until

    @property
    def leading(self) -> bool:
        return self._leading

    # -- the Lease -------------------------------------------------------------------------------------------------
    def _path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{LEASE_NAME}"

    def _held(self, record: LeaseRecord | None, acquiring: bool) -> dict[str, Any]:
        now = _now_text()
        spec: dict[str, Any] = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.timing.lease_duration),
            "renewTime": now,
        }
        if acquiring:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = record.transitions + 1 if record is not None else 0
        return spec

    def _read(self) -> LeaseRecord | None:
        try:
            return _record(self.api.request("GET", self._path(), timeout=self.timing.renew_deadline))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def _write(self, action: Action, record: LeaseRecord | None) -> LeaseRecord:
        timeout = self.timing.renew_deadline
        spec = self._held(record, action is not Action.RENEW)
        meta: dict[str, Any] = {
            "labels": {"app.kubernetes.io/name": "taipod-operator"},
            "annotations": {SERVES_ANNOTATION: self.serves},
        }
        if action is Action.CREATE:
            body = {"metadata": {"name": LEASE_NAME, "namespace": self.namespace, **meta}, "spec": spec}
            path = self._path().rsplit("/", 1)[0]
            return _record(self.api.request("POST", path, body, timeout=timeout))
        assert record is not None
        # Conditional on the version read: of two replicas acquiring at once, one gets 409 Conflict.
        patch = {"metadata": {"resourceVersion": record.version, **meta}, "spec": spec}
        return _record(
            self.api.request("PATCH", self._path(), patch, content_type="application/merge-patch+json", timeout=timeout)
        )

    def _release(self) -> None:
        record = self._observed.record if self._observed is not None else None
        if record is None or record.holder != self.identity:
            return
        patch = {"metadata": {"resourceVersion": record.version}, "spec": {"holderIdentity": None}}
        try:
            self.api.request("PATCH", self._path(), patch, content_type="application/merge-patch+json", timeout=5)
        except ApiError as error:
            if error.status not in (404, 409):  # gone, or taken by another replica meanwhile
                log.warning("could not release the leader lease: %s", error)
        except Exception as error:  # shutting down: best effort (it expires anyway)
            log.warning("could not release the leader lease: %s", error)

    # -- the campaign ----------------------------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def try_once(self) -> None:
        """One round: read the Lease unless this replica holds it, decide, write if taking or renewing it."""
        observed = self._observed
        if self._must_read or not self._leading:
            record = await self._call(self._read)
            now = time.monotonic()
            observed = (
                None
                if record is None
                else (self._observed.updated(record, now) if self._observed is not None else Observation(record, now))
            )
            self._observed = observed
        action = decide(self.identity, observed, time.monotonic(), self.timing)
        if action is Action.WAIT:
            return
        self._must_read = True  # until this write is known to have succeeded
        # The deadline counts from the write, not from the round: a read that waited on a slow API server must not
        # shorten (or, past the deadline, cancel) the lead this write earns.
        started = time.monotonic()
        try:
            written = await self._call(self._write, action, observed.record if observed else None)
        except ApiError as error:
            if error.status in (409, 404):  # changed, taken or deleted meanwhile: read it again next round
                return
            raise
        self._observed = Observation(written, time.monotonic())
        self._must_read = False
        if self._ended:
            return
        self._until = leads_until(started, self.timing)
        self._schedule_expiry()
        if not self._leading:
            self._leading = True
            self.acquired_at = time.monotonic()
            log.info("%s leads (lease %s/%s)", self.identity, self.namespace, LEASE_NAME)
            self.on_started()

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        loop = asyncio.get_running_loop()
        delay = self._until - time.monotonic()
        self._expiry = loop.call_later(max(delay, 0.0), self._check_expiry)

    def _check_expiry(self) -> None:
        if self._leading and time.monotonic() >= self._until:
            log.error(
                "%s could not renew the leader lease within %.1f s: it stops acting",
                self.identity,
                self.timing.renew_deadline,
            )
            self._stop_leading()

    def _stop_leading(self) -> None:
        if not self._leading:
            return
        self._leading = False
        self._ended = True
        self._until = 0.0
        if self._expiry is not None:
            self._expiry.cancel()
        self.on_stopped()

    async def _loop(self) -> None:
        while not self._ended:
            try:
                await self.try_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("leader election: %s", error)
            await asyncio.sleep(self.timing.retry_period)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="taipod-election")

    async def stop(self) -> None:
        """Stop campaigning; a leader stops leading first, then releases the Lease so a standby takes over at once.
        The caller stops its own writers before (a released Lease may be taken right away)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        was_leading = self._leading
        self._stop_leading()
        if was_leading:
            await self._call(self._release)
        self._executor.shutdown(wait=False, cancel_futures=True)
