"""Section ``handover`` (issue 15): two operator replicas with leader election (the chart's defaults, 15/10/2 s)
running a chain of real pods; the leader is killed (SIGKILL) or stopped (SIGTERM) mid-run, several times. Printed:
how long until the standby leads (its /metrics gauge) and until the next job transition is written (the first
history entry dated after the kill). Figures only, never asserted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.bench import shapes
from tests.bench.harness import Api, Pinning, custom, log, wait_until

if TYPE_CHECKING:
    from tests.bench.sections import Bench

__all__ = ["handover"]

ROUNDS = 3  # kills; then one graceful stop


class Replica:
    def __init__(self, bench: Bench, namespace: str, index: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAIPOD_", "AWS_"))}
        env.update(
            {
                "KUBECONFIG": str(bench.operator_kubeconfig),
                "TAIPOD_NAMESPACES": namespace,
                "TAIPOD_LIVENESS_ENDPOINT": "",
                "TAIPOD_LEADER_ELECTION": "true",
                "TAIPOD_METRICS_ADDRESS": f"127.0.0.1:{self.port}",
                "PYTHONUNBUFFERED": "1",
                **bench.storage_env(),
            }
        )
        log_path: Path = bench.run_dir / "logs" / f"operator-handover-{index}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as sink:
            self.proc = subprocess.Popen(
                # On the controllers' CPU, as the throughput runs' operator (taskset execs: the pid is the replica's).
                [*Pinning.prefix(bench.pinning.controllers), sys.executable, "-m", bench.args.operator_module],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        wait_until(lambda: self.leader() is not None, 90, f"replica {index} serving /metrics")

    def leader(self) -> float | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("taipod_leader "):
                return float(line.split()[1])
        return None

    def stop(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _latest_transition(api: Api, namespace: str) -> float:
    from tests.bench.sections import parse_at

    latest = 0.0
    for job in api.list_all(custom(namespace, "jobs")):
        for entry in (job.get("status") or {}).get("history") or []:
            latest = max(latest, parse_at(entry["at"]))
    return latest


def _measure(bench: Bench, ns: str, leader: Replica, standby: Replica, sig: signal.Signals) -> tuple[float, float]:
    api = bench.api
    before = _latest_transition(api, ns)
    wait_until(lambda: _latest_transition(api, ns) > before, 120, "a transition by the leader")
    stopped = time.time()
    started = time.monotonic()
    leader.stop(sig)
    wait_until(lambda: standby.leader() == 1.0, 120, "the standby leading")
    leads = time.monotonic() - started
    written = wait_until(
        lambda: (t := _latest_transition(api, ns)) > stopped and t, 120, "a transition by the new leader"
    )
    return leads, float(written) - stopped


def handover(bench: Bench) -> None:
    from tests.bench.sections import spread

    api, report = bench.api, bench.report
    ns = "bench-handover"
    api.ensure_namespace(ns)
    section = "6. leader handover (2 replicas, lease 15 s / renew 10 s / retry 2 s)"
    replicas: list[Replica] = []
    try:
        replicas.append(Replica(bench, ns, 0))
        wait_until(lambda: replicas[0].leader() == 1.0, 90, "the first replica leading")
        replicas.append(Replica(bench, ns, 1))
        api.create(custom(ns, "scenarios"), shapes.scenario("long", shapes.chain(200)))
        api.create(custom(ns, "submissions"), shapes.submission("long-1", "long"))
        kills: list[tuple[float, float]] = []
        for i in range(ROUNDS):
            leader, standby = (replicas[-2], replicas[-1])
            if leader.leader() != 1.0:
                leader, standby = standby, leader
            kills.append(_measure(bench, ns, leader, standby, signal.SIGKILL))
            log(f"kill {i + 1}: leads after {kills[-1][0]:.1f} s, first transition after {kills[-1][1]:.1f} s")
            replicas.append(Replica(bench, ns, len(replicas)))  # the next standby
        leader, standby = replicas[-2], replicas[-1]
        if leader.leader() != 1.0:
            leader, standby = standby, leader
        graceful = _measure(bench, ns, leader, standby, signal.SIGTERM)
    finally:
        for replica in replicas:
            replica.stop()
    report.add(section, "SIGKILL: the standby leads after", spread([k[0] for k in kills]), "", None)
    report.add(section, "SIGKILL: first job transition after", spread([k[1] for k in kills]), "", None)
    report.add(section, "SIGTERM: the standby leads after", f"{graceful[0]:.1f} s", "", None)
    report.add(section, "SIGTERM: first job transition after", f"{graceful[1]:.1f} s", "", None)
    raw: dict[str, Any] = {"kills": kills, "graceful": graceful}
    report.raw["handover"] = raw
