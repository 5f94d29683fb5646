"""The operator's Prometheus metrics and the ``/metrics`` endpoint that serves them (prometheus-client).

One registry per operator instance (several run in one process in tests and in the SDK). The reconciler and the API
client call the few ``record_*`` methods below; gauges that are a view of the caches (jobs by status, queue depth,
leader) are read at scrape time, so they cannot drift from what the operator knows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from taipod.core.status import Status

__all__ = ["MetricsServer", "OperatorMetrics", "parse_address"]

log = logging.getLogger("taipod.operator.metrics")

# Pass durations from a millisecond (a pass that finds nothing to do) to a minute (thousands of jobs).
PASS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DISPATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _JobsByStatus(Collector):
    """``taipod_jobs{status}``: the jobs in the operator's caches, by status (every status listed, 0 included)."""

    def __init__(self, statuses: Callable[[], Iterable[Status]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = {status.name: 0 for status in Status}
        for status in self._statuses():
            counts[status.name] += 1
        family = GaugeMetricFamily("taipod_jobs", "Jobs known to the operator, by status", labels=["status"])
        for name, count in counts.items():
            family.add_metric([name], count)
        yield family


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._jobs: _JobsByStatus | None = None
        self.transitions = Counter(
            "taipod_job_transitions",
            "Job status transitions written by this replica, by the status entered",
            ["status"],
            registry=self.registry,
        )
        self.batch_jobs_created = Counter(
            "taipod_batch_jobs_created",
            "batch/v1 Jobs created by this replica (one per job run)",
            registry=self.registry,
        )
        self.pass_duration = Histogram(
            "taipod_reconcile_duration_seconds",
            "Duration of one reconcile pass of a scenario",
            ["result"],
            buckets=PASS_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "taipod_reconcile_queue_depth", "Scenarios waiting for a reconcile pass", registry=self.registry
        )
        self.dispatch_latency = Histogram(
            "taipod_dispatch_latency_seconds",
            "From the recorded end of a job's last upstream job to the creation of its batch Job",
            buckets=DISPATCH_BUCKETS,
            registry=self.registry,
        )
        self.api_requests = Counter(
            "taipod_api_requests",
            "Kubernetes API requests of the operator's client, by verb and HTTP code ('error': no answer)",
            ["verb", "code"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "taipod_api_errors",
            "Kubernetes API requests answered with an error code or not answered, by verb and code",
            ["verb", "code"],
            registry=self.registry,
        )
        self.writes_refused = Counter(
            "taipod_writes_refused",
            "Writes refused before they were sent because this replica did not lead",
            registry=self.registry,
        )
        self.leader = Gauge("taipod_leader", "1 while this replica leads (reconciles), else 0", registry=self.registry)
        self.leader_transitions = Counter(
            "taipod_leader_changes", "Times this replica started or stopped leading", ["event"], registry=self.registry
        )

    # -- called by the operator --------------------------------------------------------------------------------------
    def watch_jobs(self, statuses: Callable[[], Iterable[Status]]) -> None:
        """Count the jobs of ``statuses``; again replaces it (kopf may run the startup handler more than once)."""
        if self._jobs is not None:
            self.registry.unregister(self._jobs)
        self._jobs = _JobsByStatus(statuses)
        self.registry.register(self._jobs)

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def record_api(self, verb: str, code: str) -> None:
        self.api_requests.labels(verb, code).inc()
        if code == "error" or int(code) >= 400:
            self.api_errors.labels(verb, code).inc()

    def record_transitions(self, statuses: Iterable[Status]) -> None:
        for status in statuses:
            self.transitions.labels(status.name).inc()

    def record_dispatch(self, upstream_end: datetime | None, now: datetime) -> None:
        self.batch_jobs_created.inc()
        if upstream_end is not None:
            self.dispatch_latency.observe(max((now - upstream_end).total_seconds(), 0.0))

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)
        self.leader_transitions.labels("started" if leading else "stopped").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``:port`` or a bare port: every interface)."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"TAIPOD_METRICS_ADDRESS={text!r}: expected host:port, for example 0.0.0.0:9090") from None
    if not 0 < number < 65536:
        raise ValueError(f"TAIPOD_METRICS_ADDRESS={text!r}: the port must be between 1 and 65535")
    return host or "0.0.0.0", number


class MetricsServer:
    """``GET /metrics`` in the Prometheus text format, served in the operator's event loop (aiohttp)."""

    def __init__(self, metrics: OperatorMetrics, address: str) -> None:
        self.metrics = metrics
        self.host, self.port = parse_address(address)
        self._runner: web.AppRunner | None = None

    async def _handle(self, _request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
