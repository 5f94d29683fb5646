"""Cancel and delete, exactly as the decisions say, requested the kubectl way (annotations)."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import CompletedProcess

import pytest
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
Kubectl = Callable[..., CompletedProcess[str]]


def chain(taipod: Taipod, name: str, seconds: int) -> None:
    """first sleeps ``seconds`` then writes them; second doubles the result."""
    taipod.scenario(
        name,
        [dn("seconds", defaultData=seconds), dn("slept"), dn("doubled")],
        [
            task("first", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
            task("second", "taipod.samples:double", ["slept"], ["doubled"]),
        ],
    )


def cancel(kubectl: Kubectl, job: dict[str, object], how: str = "true") -> None:
    name = job["metadata"]["name"]  # type: ignore[index]
    kubectl("annotate", "jobs.taipod.io", name, f"taipod.io/cancel={how}")


def test_cancel_blocked_job(taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator) -> None:
    chain(taipod, "blocked", 3)
    sub = taipod.submit("blocked")
    blocked = taipod.wait_job(sub, "second", {"BLOCKED"})
    cancel(kubectl, blocked)
    jobs = taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "CANCELED"}, timeout=60)
    assert jobs["second"]["status"]["cancel"].endswith("canceled")
    assert taipod.wait_submission(sub, "CANCELED")


def test_cancel_running_job_keeps_it_running_and_abandons_dependents(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    chain(taipod, "running", 3)
    sub = taipod.submit("running")
    running = taipod.wait_job(sub, "first", {"RUNNING"})
    cancel(kubectl, running)
    wait_until(
        lambda: taipod.job_statuses(sub) == {"first": "RUNNING", "second": "ABANDONED"},
        30,
        lambda: f"first still RUNNING, second ABANDONED (now {taipod.job_statuses(sub)})",
    )
    jobs = taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "ABANDONED"}, timeout=60)
    assert "is running and cannot be canceled" in jobs["first"]["status"]["cancel"]
    assert taipod.wait_submission(sub, "UNDEFINED")
    assert taipod.data_node("running", "slept")["value"] == 3  # it completed and wrote its output


def test_cancel_pending_job_deletes_its_batch_job(
    taipod: Taipod, kube: Kube, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    taipod.scenario(
        "unschedulable",
        [dn("n", defaultData=1), dn("out")],
        [task("huge", "taipod.samples:double", ["n"], ["out"], resources={"requests": {"cpu": "1000"}})],
    )
    sub = taipod.submit("unschedulable")
    pending = taipod.wait_job(sub, "huge", {"PENDING"})
    batch = pending["metadata"]["name"]
    wait_until(lambda: kube.batch.read_namespaced_job(batch, taipod.ns), 30, "its batch Job")
    cancel(kubectl, pending)
    taipod.wait_jobs(sub, {"huge": "CANCELED"})
    wait_until(lambda: kube.gone(lambda: kube.batch.read_namespaced_job(batch, taipod.ns)), 30, "batch Job gone")
    assert taipod.wait_submission(sub, "CANCELED")


def test_cancel_failed_job_is_refused_and_changes_nothing(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    taipod.scenario(
        "failing", [dn("n", defaultData=1), dn("out")], [task("boom", "taipod.samples:fail", ["n"], ["out"])]
    )
    sub = taipod.submit("failing")
    failed = taipod.wait_jobs(sub, {"boom": "FAILED"})["boom"]
    cancel(kubectl, failed)
    answered = wait_until(lambda: (taipod.jobs(sub)["boom"]["status"] or {}).get("cancel"), 30, "cancel answered")
    assert "has already failed and cannot be canceled" in answered
    after = taipod.jobs(sub)["boom"]["status"]
    assert after["status"] == "FAILED" and after["history"] == failed["status"]["history"]
    assert taipod.submission_status(sub) == "FAILED"


def test_terminate_running_job_is_taipods_explicit_extension(
    taipod: Taipod, kube: Kube, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    chain(taipod, "terminate", 60)
    sub = taipod.submit("terminate")
    running = taipod.wait_job(sub, "first", {"RUNNING"})
    cancel(kubectl, running, "terminate")
    jobs = taipod.wait_jobs(sub, {"first": "CANCELED", "second": "ABANDONED"}, timeout=30)
    batch = jobs["first"]["metadata"]["name"]
    wait_until(lambda: kube.gone(lambda: kube.batch.read_namespaced_job(batch, taipod.ns)), 30, "batch Job gone")


def test_delete_of_unfinished_job_is_refused_unless_forced(
    taipod: Taipod, kube: Kube, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    chain(taipod, "deleting", 60)
    sub = taipod.submit("deleting")
    running = taipod.wait_job(sub, "first", {"RUNNING"})
    name = running["metadata"]["name"]
    refused = kubectl("delete", "jobs.taipod.io", name, "--wait=false", check=False)
    assert refused.returncode != 0
    assert f"taipod job {name} is RUNNING and not finished" in refused.stderr
    assert "taipod.io/force-delete=true" in refused.stderr
    assert taipod.jobs(sub)["first"]["status"]["status"] == "RUNNING"
    kubectl("annotate", "jobs.taipod.io", name, "taipod.io/force-delete=true")
    kubectl("delete", "jobs.taipod.io", name, "--wait=false")
    wait_until(lambda: kube.gone(lambda: kube.batch.read_namespaced_job(name, taipod.ns)), 60, "batch Job gone")
    pod = running["status"]["pod"]
    wait_until(lambda: kube.gone(lambda: kube.core.read_namespaced_pod(pod, taipod.ns)), 60, "pod gone")
    # A finished job is deleted without force.
    taipod.scenario("done", [dn("n", defaultData=1), dn("out")], [task("d", "taipod.samples:double", ["n"], ["out"])])
    done = taipod.wait_jobs(taipod.submit("done"), {"d": "COMPLETED"})["d"]["metadata"]["name"]
    kubectl("delete", "jobs.taipod.io", done)
