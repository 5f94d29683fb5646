"""The operator's metrics (taipod.operator.metrics) and its election and metrics settings."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from taipod.core.election import Timing
from taipod.core.status import Status
from taipod.operator.config import OperatorConfig
from taipod.operator.metrics import MetricsServer, OperatorMetrics, parse_address


def samples(metrics: OperatorMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_api_requests_and_errors_by_verb_and_code() -> None:
    metrics = OperatorMetrics()
    for verb, code in [("GET", "200"), ("GET", "200"), ("PATCH", "409"), ("POST", "201"), ("PATCH", "error")]:
        metrics.record_api(verb, code)
    found = samples(metrics)
    assert found[("taipod_api_requests_total", (("code", "200"), ("verb", "GET")))] == 2
    assert found[("taipod_api_requests_total", (("code", "409"), ("verb", "PATCH")))] == 1
    assert found[("taipod_api_errors_total", (("code", "409"), ("verb", "PATCH")))] == 1
    assert found[("taipod_api_errors_total", (("code", "error"), ("verb", "PATCH")))] == 1
    assert ("taipod_api_errors_total", (("code", "201"), ("verb", "POST"))) not in found


def test_jobs_by_status_every_status_listed_and_read_at_scrape_time() -> None:
    metrics = OperatorMetrics()
    current = [Status.RUNNING, Status.RUNNING, Status.COMPLETED]
    metrics.watch_jobs(lambda: current)
    assert samples(metrics)[("taipod_jobs", (("status", "RUNNING"),))] == 2
    assert samples(metrics)[("taipod_jobs", (("status", "ABANDONED"),))] == 0
    current = [Status.COMPLETED] * 3
    assert samples(metrics)[("taipod_jobs", (("status", "COMPLETED"),))] == 3


def test_watching_jobs_again_replaces_the_source() -> None:
    """kopf may run the startup handler more than once: a second registration must not fail as a duplicate."""
    metrics = OperatorMetrics()
    metrics.watch_jobs(lambda: [Status.RUNNING])
    metrics.watch_jobs(lambda: [Status.FAILED, Status.FAILED])
    assert samples(metrics)[("taipod_jobs", (("status", "FAILED"),))] == 2
    assert samples(metrics)[("taipod_jobs", (("status", "RUNNING"),))] == 0


def test_transitions_queue_depth_leader_and_dispatch() -> None:
    metrics = OperatorMetrics()
    metrics.record_transitions([Status.PENDING, Status.RUNNING, Status.COMPLETED])
    metrics.record_transitions([Status.COMPLETED])
    depth = [7]
    metrics.watch_queue(lambda: depth[0])
    metrics.set_leader(True)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    metrics.record_dispatch(now - timedelta(seconds=0.3), now)
    metrics.record_dispatch(None, now)  # a first task: created, nothing to measure
    found = samples(metrics)
    assert found[("taipod_job_transitions_total", (("status", "COMPLETED"),))] == 2
    assert found[("taipod_reconcile_queue_depth", ())] == 7
    assert found[("taipod_leader", ())] == 1
    assert found[("taipod_batch_jobs_created_total", ())] == 2
    assert found[("taipod_dispatch_latency_seconds_count", ())] == 1
    assert found[("taipod_dispatch_latency_seconds_bucket", (("le", "0.5"),))] == 1
    assert found[("taipod_dispatch_latency_seconds_bucket", (("le", "0.25"),))] == 0


def test_the_endpoint_serves_the_text_format() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = OperatorMetrics()
    metrics.set_leader(False)

    async def scrape() -> tuple[str, str]:
        server = MetricsServer(metrics, f"127.0.0.1:{port}")
        await server.start()
        try:
            loop = asyncio.get_running_loop()
            with await loop.run_in_executor(None, urllib.request.urlopen, f"http://127.0.0.1:{port}/metrics") as r:
                return r.headers["Content-Type"], r.read().decode()
        finally:
            await server.stop()

    content_type, text = asyncio.run(scrape())
    assert content_type.startswith("text/plain")
    assert "taipod_leader 0.0" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.0.0.0:9090", ("0.0.0.0", 9090)), (":8000", ("0.0.0.0", 8000)), ("9100", ("0.0.0.0", 9100))],
)
def test_metrics_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


def test_settings_from_the_environment() -> None:
    config = OperatorConfig.from_env(
        {
            "TAIPOD_LEADER_ELECTION": "true",
            "TAIPOD_LEADER_ELECTION_LEASE_DURATION": "8",
            "TAIPOD_LEADER_ELECTION_RENEW_DEADLINE": "5",
            "TAIPOD_LEADER_ELECTION_RETRY_PERIOD": "1",
            "TAIPOD_METRICS_ADDRESS": "127.0.0.1:9090",
        }
    )
    assert config.leader_election and config.election == Timing(8, 5, 1)
    assert config.metrics_address == "127.0.0.1:9090"
    default = OperatorConfig.from_env({})
    assert not default.leader_election and default.election == Timing(15, 10, 2) and not default.metrics_address


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TAIPOD_LEADER_ELECTION": "maybe"}, "TAIPOD_LEADER_ELECTION='maybe' is not a boolean"),
        ({"TAIPOD_LEADER_ELECTION_RENEW_DEADLINE": "20"}, "must be shorter than the lease duration"),
        ({"TAIPOD_LEADER_ELECTION_RETRY_PERIOD": "soon"}, "TAIPOD_LEADER_ELECTION_RETRY_PERIOD='soon' is not a number"),
        ({"TAIPOD_METRICS_ADDRESS": "localhost:http"}, "expected host:port"),
        ({"TAIPOD_METRICS_ADDRESS": "0.0.0.0:70000"}, "between 1 and 65535"),
    ],
)
def test_bad_settings_name_the_variable_and_the_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        OperatorConfig.from_env(env)


def test_a_pods_end_is_read_from_its_container_and_changes_nothing_the_planner_reads() -> None:
    from taipod.operator.records import pod_record

    def pod(finished: str | None) -> dict[str, object]:
        terminated = {"exitCode": 0, "reason": "Completed", "startedAt": "2026-01-01T00:00:00Z"}
        if finished:
            terminated["finishedAt"] = finished
        return {
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "5", "labels": {"taipod.io/job": "j"}},
            "status": {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": terminated}}]},
        }

    ended = pod_record(pod("2026-01-01T00:00:03Z"))
    assert ended.ended_at == datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC)
    assert pod_record(pod(None)).ended_at is None
    assert ended == pod_record(pod(None))  # not part of what the informer compares
