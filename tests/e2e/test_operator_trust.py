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
