"""Trust only what taipod made (issue 17): Job resources the operator did not create never run, names cannot reach
another namespace, and a stopping operator does not unpublish another one's presence."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import CompletedProcess

import pytest
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator
from taipod.operator.kubeapi import KubeApi, load_configuration
from taipod.operator.lease import LEASE_NAME, PresenceLease

pytestmark = pytest.mark.e2e
Kubectl = Callable[..., CompletedProcess[str]]


def _hand_made(taipod: Taipod, name: str, submission: str, job_task: str) -> None:
    taipod.create(
        "jobs",
        {
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {"scenario": "base", "submission": submission, "task": job_task},
        },
    )


def test_job_resources_not_made_by_the_operator_never_run_and_can_be_deleted(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    taipod.scenario("base", [dn("n", defaultData=1), dn("out")], [task("t0", "taipod.samples:double", ["n"], ["out"])])
    sub = taipod.submit("base", name="base-1")
    taipod.wait_jobs(sub, {"t0": "COMPLETED"}, timeout=60)
    before = taipod.data_node("base", "out")
    # Into the finished submission, for a task it has, and for one it never had; and for a missing submission.
    _hand_made(taipod, "again-t0", "base-1", "t0")
    _hand_made(taipod, "again-t9", "base-1", "t9")
    _hand_made(taipod, "nowhere", "no-such-submission", "t0")
    for name in ("again-t0", "again-t9", "nowhere"):
        status = wait_until(
            lambda name=name: (taipod.get("jobs", name).get("status") or {}).get("reason"), 60, f"{name} refused"
        )
        assert status == "NotCreatedByTaipod"
        job = taipod.get("jobs", name)
        assert (
            job["status"]["status"] == "FAILED"
            and "only the operator creates Job resources" in job["status"]["message"]
        )
    assert not taipod.kube.batch.list_namespaced_job(taipod.ns, label_selector="taipod.io/job=again-t0").items
    assert taipod.data_node("base", "out") == before  # nothing ran again
    assert taipod.get("submissions", "base-1")["status"]["finished"] == "1/1"
    kubectl("delete", "jobs.taipod.io", "again-t0", "again-t9", "nowhere")  # deletable: finished


def test_a_reference_to_another_namespace_is_refused_at_apply(kubectl: Kubectl, taipod_installed: None) -> None:
    manifest = "apiVersion: taipod.io/v1alpha1\nkind: Submission\nmetadata: {name: x}\nspec: {scenario: e0/base}\n"
    refused = kubectl("apply", "-f", "-", input=manifest, check=False)
    assert refused.returncode != 0 and "spec.scenario" in refused.stderr, refused.stderr


def test_a_stopping_operator_does_not_clear_the_lease_another_one_holds(
    cluster: ClusterHandle, taipod: Taipod, operator: EmbeddedOperator
) -> None:
    api = KubeApi(load_configuration(str(cluster.kubeconfig)))
    path = f"/apis/coordination.k8s.io/v1/namespaces/{taipod.ns}/leases/{LEASE_NAME}"
    holder = wait_until(lambda: api.get(path)["spec"].get("holderIdentity"), 30, "the operator's lease")
    other = PresenceLease(api, [taipod.ns], taipod.ns)
    other.identity = "another-operator"
    other.release()  # it does not hold the lease: nothing changes
    assert api.get(path)["spec"]["holderIdentity"] == holder
    api.close()


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("job.batch", "taipod.io/scenario=elsewhere"),
        ("job.batch", "taipod.io/job-"),
        ("job.batch", "taipod.io/job=another"),
        ("pod", "taipod.io/scenario=elsewhere"),
        ("pod", "taipod.io/job-"),
    ],
)
def test_edited_labels_of_a_running_batch_job_or_pod_change_nothing_and_are_restored(
    kind: str, edit: str, taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    """The operator links a job to its batch Job and pod by owner reference and recorded name, never by the labels
    anyone can edit (they once turned a succeeding job FAILED BatchJobDeleted and abandoned its dependent)."""
    taipod.scenario(
        "labelled",
        [dn("seconds", defaultData=4), dn("slept"), dn("doubled")],
        [
            task("first", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
            task("second", "taipod.samples:double", ["slept"], ["doubled"]),
        ],
    )
    sub = taipod.submit("labelled")
    job = wait_until(
        lambda: next(
            (j for j in taipod.jobs(sub).values() if j["spec"]["task"] == "first" and j.get("status", {}).get("pod")),
            None,
        ),
        60,
        "the first job running, its pod recorded",
    )
    name = job["metadata"]["name"] if kind == "job.batch" else job["status"]["pod"]
    kubectl("label", "--overwrite", kind, name, edit)
    taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)  # a FAILED first would stay
    assert taipod.data_node("labelled", "doubled")["value"] == 8
    key = edit.partition("=")[0].rstrip("-")
    expected = {"taipod.io/scenario": "labelled", "taipod.io/job": job["metadata"]["name"]}[key]

    def labels() -> dict[str, str]:
        if kind == "pod":
            return taipod.kube.core.read_namespaced_pod(name, taipod.ns).metadata.labels or {}
        return taipod.kube.batch.read_namespaced_job(name, taipod.ns).metadata.labels or {}

    wait_until(lambda: labels().get(key) == expected, 30, lambda: f"{key} restored: {labels()}")
