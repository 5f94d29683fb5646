"""The operator killed (SIGKILL) at any moment and started again: no job is lost, duplicated or left stuck."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import pytest
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e


FIVE_TASKS = (
    [dn("seconds", defaultData=1), dn("a"), dn("b"), dn("c"), dn("d"), dn("e"), dn("x", defaultData=5)],
    [
        task("t1", "taipod.samples:sleep_seconds", ["seconds"], ["a"]),
        task("t2", "taipod.samples:sleep_seconds", ["a"], ["b"]),
        task("t3", "taipod.samples:double", ["a"], ["c"]),
        task("t4", "taipod.samples:add", ["b", "c"], ["d"]),
        task("t5", "taipod.samples:fail", ["x"], ["e"]),
    ],
)
EXPECTED = {"t1": "COMPLETED", "t2": "COMPLETED", "t3": "COMPLETED", "t4": "COMPLETED", "t5": "FAILED"}


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("moment", ["right after submitting", "while pods run"])
def test_operator_killed_and_restarted_converges(
    moment: str,
    taipod: Taipod,
    kube: Kube,
    operator_process: Callable[[], subprocess.Popen[bytes]],
    start_operator: Callable[[], EmbeddedOperator],
) -> None:
    taipod.scenario("five", *FIVE_TASKS)
    first = operator_process()
    sub = taipod.submit("five")
    if moment == "right after submitting":
        wait_until(lambda: len(taipod.jobs(sub)) >= 1, 60, "the first job created")
    else:
        wait_until(lambda: "RUNNING" in taipod.job_statuses(sub).values(), 60, "a job running")
    kill(first)
    second = operator_process()  # a second life, killed while the chain is half done
    wait_until(lambda: sum(s == "COMPLETED" for s in taipod.job_statuses(sub).values()) >= 1, 60, "one completion")
    kill(second)
    start_operator()
    jobs = taipod.wait_jobs(sub, EXPECTED, timeout=90)
    assert taipod.data_node("five", "d")["value"] == 3  # add(b=1, c=double(1))
    assert len(jobs) == 5
    for job in jobs.values():
        history = [h["status"] for h in job["status"]["history"]]
        assert len(history) == len(set(history)), history  # no transition recorded twice
        assert [h["at"] for h in job["status"]["history"]] == sorted(h["at"] for h in job["status"]["history"])
    pods = kube.core.list_namespaced_pod(taipod.ns, label_selector=f"taipod.io/submission={sub}").items
    assert sorted(p.metadata.labels["taipod.io/job"] for p in pods) == sorted(
        j["metadata"]["name"] for j in jobs.values()
    )  # every task ran exactly once
    assert taipod.wait_submission(sub, "FAILED")
