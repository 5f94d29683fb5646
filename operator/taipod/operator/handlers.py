"""kopf registrations: indexes that cache taipod's resources and event handlers that only mark scenarios dirty; the
startup handler also starts the informers that cache batch Jobs and pods (taipod.operator.informer)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from taipod import storage
from taipod.api.models import GROUP, VERSION
from taipod.operator.config import OperatorConfig
from taipod.operator.election import LeaderElector, election_configuration
from taipod.operator.events import EventPoster
from taipod.operator.informer import Informer
from taipod.operator.kopf_storage import NoDiffBaseStorage, NoProgressStorage
from taipod.operator.kubeapi import KubeApi, batch_path, load_configuration
from taipod.operator.lease import PresenceLease
from taipod.operator.metrics import MetricsServer, OperatorMetrics
from taipod.operator.names import LABEL_JOB, LABEL_SCENARIO
from taipod.operator.reconciler import Caches, Reconciler, job_statuses
from taipod.operator.records import (
    BatchRecord,
    PodRecord,
    batch_record,
    job_record,
    pod_record,
    resource_version,
    scenario_record,
    submission_record,
)

__all__ = ["OperatorState", "build_registry", "settings_for"]

log = logging.getLogger("taipod.operator")
_SHARED_SCOPES = ("GLOBAL", "CYCLE")


class OperatorState:
    """Everything one operator instance owns; several can live in one process (tests, embedded SDK)."""

    def __init__(self, config: OperatorConfig, kubeconfig: str | None = None) -> None:
        self.config = config
        self.kubeconfig = kubeconfig
        self.caches = Caches()
        self.reconciler: Reconciler | None = None
        self.events: EventPoster | None = None
        self.lease: PresenceLease | None = None
        self.api: KubeApi | None = None
        self.informers: list[Informer[Any]] = []
        self.metrics = OperatorMetrics()
        self.metrics_server: MetricsServer | None = None
        self.elector: LeaderElector | None = None
        self.stop_flag: Any = None  # set to stop the operator (run_operator's stop flag)
        self.lost_leadership = False

    def may_write(self) -> bool:
        """The write guard of the operator's API client: only the leader writes (always true without election)."""
        if self.elector is None or self.elector.may_act():
            return True
        self.metrics.writes_refused.inc()
        return False

    def started_leading(self) -> None:
        assert self.reconciler is not None and self.lease is not None
        self.metrics.set_leader(True)
        self.lease.start()  # the other served namespaces' presence Leases
        self.reconciler.leading.set()
        asyncio.get_running_loop().create_task(_check_storage(self.config), name="taipod-check-storage")

    def stopped_leading(self, *, lost: bool) -> None:
        if self.reconciler is not None:
            self.reconciler.leading.clear()
        self.metrics.set_leader(False)
        if lost:  # a leader that lost its lease stops; its next life starts as a standby with fresh caches
            self.lost_leadership = True
            if self.stop_flag is not None:
                self.stop_flag.set()


def settings_for(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.peering.standalone = True  # one replica (Recreate); the presence Lease tells SDKs an operator runs
    settings.scanning.disabled = True  # CRDs are installed before the operator (chart, tests)
    settings.posting.enabled = False  # the operator posts its own Events (OperatorConfig.events)
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    # kopf's retries of failed API calls (a 429 "storage is (re)initializing" right after an API server restart,
    # 5xx): its default backoffs add up to a minute of idling once the server is back. Short, many retries instead.
    settings.networking.error_backoffs = [0.25, 0.5, 1.0] + [2.0] * 30
    settings.watching.reconnect_backoff = 0.5
    settings.persistence.diffbase_storage = NoDiffBaseStorage()
    settings.persistence.progress_storage = NoProgressStorage()
    return settings


def _shared_keys(body: Any) -> list[str]:
    spec = body.get("spec") or {}
    keys = []
    for dn in spec.get("dataNodes") or []:
        if dn.get("scope") == "GLOBAL":
            keys.append(f"global/{dn.get('name')}")
        elif dn.get("scope") == "CYCLE":
            keys.append(f"cycle/{spec.get('cycle') or 'default'}/{dn.get('name')}")
    return keys


def _pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def _batch_jobs_path(namespace: str | None) -> str:
    return batch_path(namespace) if namespace else "/apis/batch/v1/jobs"


def _informer(
    state: OperatorState,
    configuration: Any,
    path: Callable[[str | None], str],
    record: Callable[[Mapping[str, Any]], Any],
    what: str,
) -> Informer[Any]:
    """Batch Jobs or pods of taipod's jobs (selected server-side), cached outside kopf: see taipod.operator.informer."""

    def changed(namespace: str, scenario: str) -> None:
        if state.reconciler is not None:
            state.reconciler.trigger((namespace, scenario))

    return Informer(
        configuration,
        path=path,
        namespaces=state.config.namespaces,
        label_selector=LABEL_JOB,
        scenario_label=LABEL_SCENARIO,
        record=record,
        on_change=changed,
        what=what,
    )


async def _check_storage(config: OperatorConfig) -> None:
    """Create the embedded store's bucket when asked to, and say at once when the store cannot be used: jobs then
    wait (their scenario's passes retry) rather than fail, and the log names the cause and the fix."""
    loop = asyncio.get_running_loop()
    try:
        if config.storage_create_bucket and await loop.run_in_executor(
            None, storage.ensure_bucket, config.storage_url, config.access()
        ):
            log.info("created the bucket of %s", config.storage_url)
        await loop.run_in_executor(None, storage.check_bucket, config.storage_url, config.access())
    except storage.StorageUnavailableError as error:
        log.error("the data store is not usable yet: %s", error)


def build_registry(state: OperatorState) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    caches = state.caches
    stopping = asyncio.Event()  # set by the cleanup handler: a leader that stops then releases, it did not lose

    def trigger(namespace: str, scenario: str) -> None:
        # Only kopf's event handlers call this, and kopf runs them once every index is filled: passes may start.
        if state.reconciler is not None:
            state.reconciler.open()
            if scenario:
                state.reconciler.trigger((namespace, scenario))

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # The same credentials as the operator's own client (an explicit kubeconfig for embedded operators).
        conf = load_configuration(state.kubeconfig)
        header = conf.get_api_key_with_prefix("BearerToken", alias="authorization") or ""
        scheme, _space, token = header.partition(" ") if " " in header else ("", "", header)
        return kopf.ConnectionInfo(
            server=conf.host,
            ca_path=conf.ssl_ca_cert,
            insecure=not conf.verify_ssl,
            scheme=scheme or None,
            token=token or None,
            certificate_path=conf.cert_file,
            private_key_path=conf.key_file,
        )

    @kopf.on.startup(registry=registry)
    async def startup(**kwargs: Any) -> None:
        caches.jobs = kwargs["taipod_jobs"]
        caches.scenarios = kwargs["taipod_scenarios"]
        caches.submissions = kwargs["taipod_submissions"]
        caches.shared = kwargs["taipod_shared"]
        configuration = load_configuration(state.kubeconfig)
        metrics = state.metrics
        state.api = KubeApi(configuration, may_write=state.may_write, observe=metrics.record_api)
        state.events = EventPoster(state.api, state.config.events)
        state.reconciler = Reconciler(state.config, state.api, caches, state.events, metrics)
        metrics.watch_jobs(lambda: job_statuses(caches.jobs))
        if state.config.metrics_address:
            server = MetricsServer(metrics, state.config.metrics_address)
            try:
                await server.start()
                state.metrics_server = server
            except OSError as error:  # metrics are optional: the operator reconciles without them
                log.error(
                    "cannot serve metrics on %s (%s): set TAIPOD_METRICS_ADDRESS (the chart's metrics.port) to a free "
                    "port",
                    state.config.metrics_address,
                    error,
                )
        state.events.start(state.reconciler.executor)
        state.reconciler.start()  # its passes wait for reconciler.open(): the first kopf event handler
        batches: Informer[BatchRecord] = _informer(state, configuration, _batch_jobs_path, batch_record, "batch Jobs")
        pods: Informer[PodRecord] = _informer(state, configuration, _pods_path, pod_record, "pods")
        state.informers = [batches, pods]
        caches.batches, caches.pods = batches, pods
        # Listed before kopf starts its watchers (it waits for startup handlers), so complete before any pass.
        await asyncio.gather(*(informer.start() for informer in state.informers))
        namespaces = list(state.config.namespaces) or [os.environ.get("POD_NAMESPACE", "default")]
        serves = ",".join(state.config.namespaces) or "*"
        if state.config.leader_election:
            # The first served namespace's presence Lease is the election's lock; only the leader renews the others.
            state.lease = PresenceLease(state.api, namespaces[1:], serves, state.config.lease_seconds)
            state.reconciler.leading.clear()
            state.elector = LeaderElector(
                KubeApi(election_configuration(configuration), observe=metrics.record_api),  # its own, never guarded
                namespaces[0],
                serves,
                state.config.election,
                on_started=state.started_leading,
                on_stopped=lambda: state.stopped_leading(lost=not stopping.is_set()),
            )
            metrics.leader.set(0)
            state.elector.start()
            log.info("taipod operator started as a candidate for leader (namespaces: %s)", serves)
            return
        state.lease = PresenceLease(state.api, namespaces, serves, state.config.lease_seconds)
        try:  # held before the operator reports ready, so an SDK sees it as soon as start() returns
            await asyncio.get_running_loop().run_in_executor(None, state.lease.renew)
        except Exception as error:
            log.warning("could not take the presence lease yet: %s", error)
        state.lease.start()
        metrics.leader.set(1)
        await _check_storage(state.config)
        log.info("taipod operator started (namespaces: %s)", serves)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        stopping.set()
        # Writers first: a released Lease may be taken by a standby at once.
        if state.reconciler is not None:
            await state.reconciler.stop()
        if state.events is not None:
            await state.events.stop()
        if state.elector is not None:
            await state.elector.stop()
        if state.lease is not None:
            await state.lease.stop()
        if state.metrics_server is not None:
            await state.metrics_server.stop()
        for informer in state.informers:
            await informer.stop()
        if state.api is not None:
            state.api.close()

    # -- caches (async: kopf would run a plain function in its thread pool, a hop that cost more than the function,
    # 7% of the operator's CPU under load) ---------------------------------------------------------------------------
    @kopf.index(GROUP, VERSION, "jobs", id="taipod_jobs", registry=registry)
    async def taipod_jobs(body: Any, **_: Any) -> Any:
        record = job_record(body)
        return {(record.namespace, record.scenario): record}

    @kopf.index(GROUP, VERSION, "scenarios", id="taipod_scenarios", registry=registry)
    async def taipod_scenarios(body: Any, **_: Any) -> Any:
        record = scenario_record(body)
        return {(record.namespace, record.name): record}

    @kopf.index(GROUP, VERSION, "scenarios", id="taipod_shared", registry=registry)
    async def taipod_shared(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> Any:
        return {(namespace or "", key): name for key in _shared_keys(body)}

    @kopf.index(GROUP, VERSION, "submissions", id="taipod_submissions", registry=registry)
    async def taipod_submissions(body: Any, **_: Any) -> Any:
        record = submission_record(body)
        return {(record.namespace, record.scenario): record}

    # -- triggers (run once every index is filled, so the first passes see the whole cluster); async, so that they
    # run in the event loop that owns the work queue -------------------------------------------------------------
    def echo(kind: str, type: str, namespace: str, name: str, body: kopf.Body) -> bool:
        return type != "DELETED" and caches.is_own_write(kind, namespace, name, resource_version(body))

    @kopf.on.event(GROUP, VERSION, "scenarios", registry=registry)
    async def scenario_event(type: str, namespace: str | None, name: str, body: kopf.Body, **_: Any) -> None:
        namespace = namespace or ""
        if type == "DELETED":
            caches.forget("scenario", namespace, name)
        elif echo("scenario", type, namespace, name, body):
            trigger(namespace, "")
            return
        trigger(namespace, name)
        for key in _shared_keys(body):  # other scenarios sharing a node may now be unblocked
            for other in caches.shared.get((namespace, key)) or ():
                trigger(namespace, other)

    @kopf.on.event(GROUP, VERSION, "submissions", registry=registry)
    async def submission_event(
        type: str, namespace: str | None, name: str, spec: kopf.Spec, body: kopf.Body, **_: Any
    ) -> None:
        namespace = namespace or ""
        if type == "DELETED":
            caches.forget("submission", namespace, name)
        trigger(namespace, "" if echo("submission", type, namespace, name, body) else spec.get("scenario", ""))

    @kopf.on.event(GROUP, VERSION, "jobs", registry=registry)
    async def job_event(
        type: str, namespace: str | None, name: str, spec: kopf.Spec, body: kopf.Body, **_: Any
    ) -> None:
        namespace = namespace or ""
        if type == "DELETED":
            caches.forget("job", namespace, name)
        trigger(namespace, "" if echo("job", type, namespace, name, body) else spec.get("scenario", ""))

    return registry
