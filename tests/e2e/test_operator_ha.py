"""Two operator replicas with leader election (processes, as the chart's replicas): exactly one acts, the standby
writes nothing, killing the leader mid-run hands over and the run completes with one batch Job per job; /metrics
scraped during and after a run matches what happened."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.conftest import Taipod, dn, operator_process_env, task
from tests.k8s_helpers import Kube, wait_until

from localkube.cluster import LocalCluster

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def identity(self) -> str:
        return f"{socket.gethostname()}-{self.proc.pid}"  # taipod.operator.election.default_identity

    def scrape(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        """name -> labels -> value, from GET /metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as response:
            text = response.read().decode()
        found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
        return found

    def value(self, name: str, **labels: str) -> float:
        return self.scrape().get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def leader_gauge(self) -> float | None:
        try:
            return self.value("taipod_leader")
        except OSError:
            return None  # not serving yet (or killed)

    def writes(self) -> float:
        """Requests of any verb but GET that this replica's clients sent (the election's included)."""
        requests = self.scrape().get("taipod_api_requests_total", {})
        return sum(v for labels, v in requests.items() if dict(labels)["verb"] != "GET")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def replicas(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, s3: S3Store, tmp_path: Path
) -> Iterator[Callable[[], Replica]]:
    """``python -m taipod.operator`` with leader election (client-go's 15/10/2 s) and /metrics on a loopback port."""
    started: list[Replica] = []

    def start() -> Replica:
        port = _free_port()
        env = operator_process_env(
            cluster, namespace, s3, TAIPOD_LEADER_ELECTION="true", TAIPOD_METRICS_ADDRESS=f"127.0.0.1:{port}"
        )
        log_path = tmp_path / f"operator-{len(started)}.log"
        with log_path.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "taipod.operator"], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        replica = Replica(proc, port, log_path)
        started.append(replica)
        wait_until(lambda: replica.leader_gauge() is not None, 60, f"replica {replica.identity} serving /metrics")
        return replica

    yield start
    for replica in started:
        replica.proc.kill()
        replica.proc.wait()


def one_leader(replicas: list[Replica]) -> Replica | None:
    """The replica whose gauge says it leads, if exactly one does and every other says it does not."""
    gauges = [r.leader_gauge() for r in replicas]
    if sorted(gauges, key=lambda g: -1 if g is None else g) != [0.0] * (len(replicas) - 1) + [1.0]:
        return None
    return replicas[gauges.index(1.0)]


def lease_holder(kube: Kube, namespace: str) -> str | None:
    lease = client.CoordinationV1Api(kube.api_client).read_namespaced_lease("taipod-operator", namespace)
    return lease.spec.holder_identity  # type: ignore[no-any-return]


# 30 tasks: five chains of six one-second steps; the fifth chain fails at its fourth step (two abandoned after it).
CHAINS, STEPS = 5, 6


def thirty_tasks() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    nodes = [dn("seconds", defaultData=1)]
    tasks = []
    expected = {}
    for c in range(CHAINS):
        for s in range(STEPS):
            name = f"c{c}s{s}"
            nodes.append(dn(f"{name}_out"))
            source = "seconds" if s == 0 else f"c{c}s{s - 1}_out"
            failing = c == CHAINS - 1 and s == 3
            function = "taipod.samples:fail" if failing else "taipod.samples:sleep_seconds"
            tasks.append(task(name, function, [source], [f"{name}_out"]))
            if c == CHAINS - 1 and s > 3:
                expected[name] = "ABANDONED"
            else:
                expected[name] = "FAILED" if failing else "COMPLETED"
    return nodes, tasks, expected


def check_run(taipod: Taipod, kube: Kube, sub: str, jobs: dict[str, dict[str, Any]]) -> None:
    """One batch Job and one pod per job that ran, none for abandoned ones, no transition recorded twice."""
    ran = sorted(j["metadata"]["name"] for j in jobs.values() if j["status"]["status"] != "ABANDONED")
    batches = kube.batch.list_namespaced_job(taipod.ns, label_selector=f"taipod.io/submission={sub}").items
    assert sorted(b.metadata.name for b in batches) == ran
    pods = kube.core.list_namespaced_pod(taipod.ns, label_selector=f"taipod.io/submission={sub}").items
    assert sorted(p.metadata.labels["taipod.io/job"] for p in pods) == ran  # every task ran exactly once
    for job in jobs.values():
        history = [h["status"] for h in job["status"]["history"]]
        assert len(history) == len(set(history)), history


def test_killing_the_leader_mid_run_hands_over_and_the_run_completes(
    taipod: Taipod, kube: Kube, replicas: Callable[[], Replica]
) -> None:
    nodes, tasks, expected = thirty_tasks()
    assert len(tasks) == 30
    taipod.scenario("thirty", nodes, tasks)
    leader = replicas()
    wait_until(lambda: leader.leader_gauge() == 1.0, 60, "the first replica leading")
    standby = replicas()  # started once the Lease is held: it never sees it free, so it never writes
    assert one_leader([leader, standby]) is leader
    assert lease_holder(kube, taipod.ns) == leader.identity
    sub = taipod.submit("thirty")

    def completed() -> int:
        return sum(s == "COMPLETED" for s in taipod.job_statuses(sub).values())

    wait_until(lambda: completed() >= CHAINS, 120, "the first step of each chain completed")
    statuses = taipod.job_statuses(sub)
    assert sum(s in ("COMPLETED", "FAILED", "ABANDONED") for s in statuses.values()) < 30, "not mid-run"
    # The standby has written nothing at all while the leader ran the first steps, and never even tried to.
    assert standby.writes() == 0
    assert standby.value("taipod_writes_refused_total") == 0
    assert standby.value("taipod_job_transitions_total", status="COMPLETED") == 0
    assert standby.value("taipod_leader") == 0
    assert lease_holder(kube, taipod.ns) == leader.identity

    leader.kill()
    killed = time.monotonic()
    wait_until(lambda: standby.leader_gauge() == 1.0, 60, "the standby leading")
    print(f"handover: the standby leads {time.monotonic() - killed:.1f} s after the leader was killed (SIGKILL)")
    assert lease_holder(kube, taipod.ns) == standby.identity

    jobs = taipod.wait_jobs(sub, expected, timeout=240)
    assert len(jobs) == 30
    check_run(taipod, kube, sub, jobs)
    assert taipod.wait_submission(sub, "FAILED")
    # The new leader wrote what was left: at least the last step of each chain that ran to its end.
    assert standby.value("taipod_job_transitions_total", status="COMPLETED") >= CHAINS - 1


def test_metrics_scraped_during_and_after_a_run_match_what_happened(
    taipod: Taipod, kube: Kube, replicas: Callable[[], Replica]
) -> None:
    nodes, tasks, expected = thirty_tasks()
    taipod.scenario("thirty", nodes, tasks)
    leader = replicas()
    wait_until(lambda: leader.leader_gauge() == 1.0, 60, "the first replica leading")
    standby = replicas()  # started once the Lease is held: it never sees it free, so it never writes
    assert one_leader([leader, standby]) is leader
    sub = taipod.submit("thirty")

    def batch_jobs() -> int:
        return len(kube.batch.list_namespaced_job(taipod.ns, label_selector=f"taipod.io/submission={sub}").items)

    # During the run: the counter catches up with what the cluster showed before (a write is counted once its answer
    # is read, just after it is stored) and is never ahead of what it shows after; gauge 1 on one replica.
    def completed() -> int:
        return sum(s == "COMPLETED" for s in taipod.job_statuses(sub).values())

    def counted(scraped: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> float:
        return scraped.get("taipod_job_transitions_total", {}).get((("status", "COMPLETED"),), 0.0)

    before = wait_until(lambda: (n := completed()) >= CHAINS and n, 120, "mid-run")
    during = wait_until(lambda: d if counted(d := leader.scrape()) >= before else None, 30, "the counter")
    completed_after = completed()
    assert during["taipod_leader"][()] == 1.0 and standby.value("taipod_leader") == 0.0
    assert before <= counted(during) <= completed_after < 30
    assert 0 < during["taipod_batch_jobs_created_total"][()] <= batch_jobs()
    assert during["taipod_reconcile_duration_seconds_count"][(("result", "ok"),)] > 0
    assert () in during["taipod_reconcile_queue_depth"]

    jobs = taipod.wait_jobs(sub, expected, timeout=240)
    check_run(taipod, kube, sub, jobs)
    taipod.wait_submission(sub, "FAILED")
    finals = Counter(expected.values())  # 24 + 3 COMPLETED, 1 FAILED, 2 ABANDONED
    ran = finals["COMPLETED"] + finals["FAILED"]

    def settled() -> dict[str, dict[tuple[tuple[str, str], ...], float]] | None:
        scraped = leader.scrape()
        jobs_gauge = {dict(k)["status"]: v for k, v in scraped["taipod_jobs"].items()}
        wanted = {status: float(n) for status, n in finals.items()}
        written = sum(scraped["taipod_job_transitions_total"].get((("status", s),), 0.0) for s in wanted)
        return scraped if {s: jobs_gauge[s] for s in wanted} == wanted and written >= len(expected) else None

    # Once the gauge shows the final statuses and a final transition is counted per job (counted as answers are read).
    after = wait_until(settled, 30, "the jobs gauge and the counters to show the final statuses")
    transitions = {dict(k)["status"]: v for k, v in after["taipod_job_transitions_total"].items()}
    assert transitions["COMPLETED"] == finals["COMPLETED"]
    assert transitions["FAILED"] == finals["FAILED"] == 1
    assert transitions["ABANDONED"] == finals["ABANDONED"] == 2
    assert after["taipod_batch_jobs_created_total"][()] == ran == batch_jobs()
    # Every job but the first of each chain waited for an upstream pod's end: one latency each.
    assert after["taipod_dispatch_latency_seconds_count"][()] == ran - CHAINS
    requests = {(dict(k)["verb"], dict(k)["code"]): v for k, v in after["taipod_api_requests_total"].items()}
    assert requests[("POST", "201")] >= 30 + ran  # the 30 Job resources and the batch Jobs, plus Events
    assert requests[("PATCH", "200")] >= 30  # job statuses, submission status, Lease renewals
    errors = after.get("taipod_api_errors_total", {})
    assert all(dict(k)["code"] != "error" for k in errors)
    # The standby: no transition, no batch Job, no write of any kind, gauge 0 from start to end.
    assert standby.writes() == 0
    assert standby.value("taipod_batch_jobs_created_total") == 0
    assert standby.value("taipod_leader") == 0 and leader.value("taipod_leader") == 1


def test_a_leader_that_cannot_renew_stops_acting_and_the_standby_takes_over(
    cluster: ClusterHandle, taipod: Taipod, kube: Kube, replicas: Callable[[], Replica]
) -> None:
    """The API server frozen (a real fault, local cluster only) until the leader gives up: it cannot renew, so at
    its renew deadline it stops acting and exits (code 1), while the API server is still frozen; once the server is
    back the standby takes over after the lease duration, and the run completes with one batch Job per job."""
    if cluster.local is None:
        pytest.skip("the API server can be frozen on the local cluster only")
    node: LocalCluster = cluster.local
    nodes, tasks, expected = thirty_tasks()
    taipod.scenario("thirty", nodes, tasks)
    leader = replicas()
    wait_until(lambda: leader.leader_gauge() == 1.0, 60, "the first replica leading")
    standby = replicas()
    sub = taipod.submit("thirty")
    wait_until(lambda: "COMPLETED" in taipod.job_statuses(sub).values(), 120, "the run under way")
    frozen, frozen_at = time.monotonic(), time.time()
    node.pause("kube-apiserver")
    try:
        # The fault under test lasts until the leader gives up (bounded: a leader that never does fails the test).
        wait_until(lambda: leader.proc.poll() is not None, 90, "the leader exiting while the API server is frozen")
        gave_up = time.monotonic() - frozen
    finally:
        node.resume("kube-apiserver")
    resumed = time.monotonic()
    assert leader.proc.returncode == 1, leader.log()[-3000:]
    assert "could not renew the leader lease" in leader.log()
    assert "stopped after losing the leader lease" in leader.log()
    wait_until(lambda: standby.leader_gauge() == 1.0, 120, "the standby leading")
    (line,) = [line for line in leader.log().splitlines() if "could not renew the leader lease" in line]
    stopped_acting = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() - frozen_at
    print(
        f"the leader stopped acting {stopped_acting:.1f} s and exited {gave_up:.1f} s after the API server froze "
        f"(renew deadline 10 s after its last renewal); the standby led {time.monotonic() - resumed:.1f} s after the "
        "server was back"
    )
    jobs = taipod.wait_jobs(sub, expected, timeout=240)
    check_run(taipod, kube, sub, jobs)
