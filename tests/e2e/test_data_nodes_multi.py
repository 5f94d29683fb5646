"""Several nodes (issue 11): tasks of one scenario on two node agents share their data through the store, and a
ReadWriteOnce claim that keeps a pod off its node ends the job FAILED with a reason naming the access mode.

These tests start a local cluster of their own with two node agents (the suite's cluster has one), so they run only
where the local control plane can be built; against a cluster of KUBECONFIG they are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.conftest import S3Store
from tests.e2e.conftest import ROOT, Taipod, operator_config
from tests.k8s_helpers import Kube, wait_until

from localkube.cluster import LocalCluster
from taipod.api import admission
from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e

FIRST, SECOND = "localkube-node", "localkube-node-1"


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[LocalCluster, Kube]]:
    if os.environ.get("TAIPOD_TEST_KUBECONFIG") or os.environ.get("KUBECONFIG"):
        pytest.skip("needs a local cluster of two node agents; the suite runs against the cluster of KUBECONFIG")
    state = Path(tempfile.mkdtemp(prefix="taipod-test-2nodes-"))
    cluster = LocalCluster(state, nodes=2)
    try:
        cluster.start()
        docs = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))]
        kubectl = str(Path(sys.executable).parent / "kubectl")
        subprocess.run(
            [kubectl, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "-f", "-"],
            input=yaml.safe_dump_all([*docs, *admission.documents()]),
            text=True,
            check=True,
            capture_output=True,
        )
        kube = Kube(cluster.kubeconfig)
        for plural in ("scenarios", "submissions", "jobs"):
            wait_until(
                lambda plural=plural: _listable(kube, plural), 60, f"{plural}.taipod.io served on the two-node cluster"
            )
        yield cluster, kube
    finally:
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


def _listable(kube: Kube, plural: str) -> bool:
    try:
        kube.custom.list_cluster_custom_object("taipod.io", "v1alpha1", plural, limit=1)
    except Exception:
        return False
    return True


@pytest.fixture
def on_two_nodes(two_nodes: tuple[LocalCluster, Kube], request: pytest.FixtureRequest) -> Iterator[Taipod]:
    _, kube = two_nodes
    name = f"t-nodes-{abs(hash(request.node.name)) % 10**8}"
    kube.core.create_namespace({"metadata": {"name": name}})
    wait_until(lambda: kube.core.read_namespaced_service_account("default", name), 60, "default ServiceAccount")
    try:
        yield Taipod(kube, name)
    finally:
        kube.core.delete_namespace(name)


def test_tasks_on_two_nodes_share_data_through_the_store(
    two_nodes: tuple[LocalCluster, Kube], on_two_nodes: Taipod
) -> None:
    cluster, _ = two_nodes
    taipod = on_two_nodes
    s3 = S3Store(cluster.s3.endpoint, cluster.s3.access_key, cluster.s3.secret_key, cluster.s3.bucket)
    operator = EmbeddedOperator(taipod.ns, kubeconfig=str(cluster.kubeconfig), config=operator_config(s3)).start()
    try:
        taipod.scenario(
            "spread",
            [{"name": "n", "defaultData": 5}, {"name": "mid"}, {"name": "out"}],
            [
                {
                    "name": "first",
                    "function": "taipod.samples:double",
                    "inputs": ["n"],
                    "outputs": ["mid"],
                    "nodeSelector": {"kubernetes.io/hostname": FIRST},
                },
                {
                    "name": "second",
                    "function": "taipod.samples:double",
                    "inputs": ["mid"],
                    "outputs": ["out"],
                    "nodeSelector": {"kubernetes.io/hostname": SECOND},
                },
            ],
        )
        submission = taipod.submit("spread")
        jobs = taipod.wait_jobs(submission, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=120)
        nodes = {}
        for task, job in jobs.items():
            pod = taipod.kube.core.read_namespaced_pod(job["status"]["pod"], taipod.ns)
            nodes[task] = pod.spec.node_name
        assert nodes == {"first": FIRST, "second": SECOND}
        assert taipod.get("scenarios", "spread")["status"]["dataNodes"]["out"]["value"] == 20
    finally:
        operator.stop()


def test_a_read_write_once_claim_fails_a_pod_kept_off_its_node_naming_the_access_mode(
    two_nodes: tuple[LocalCluster, Kube], on_two_nodes: Taipod
) -> None:
    cluster, _ = two_nodes
    taipod = on_two_nodes
    s3 = S3Store(cluster.s3.endpoint, cluster.s3.access_key, cluster.s3.secret_key, cluster.s3.bucket)
    config = operator_config(
        s3,
        TAIPOD_STORAGE_URL="file:///var/lib/taipod/data",
        TAIPOD_STORAGE_PVC="taipod-data",
        TAIPOD_STORAGE_ACCESS_MODES="ReadWriteOnce",
        TAIPOD_IMAGE_PULL_GRACE_SECONDS="3",
    )
    operator = EmbeddedOperator(taipod.ns, kubeconfig=str(cluster.kubeconfig), config=config).start()
    try:
        taipod.scenario(
            "pinned",
            [{"name": "out"}],
            [
                {
                    "name": "elsewhere",
                    "function": "taipod.samples:noop",
                    "outputs": ["out"],
                    "nodeSelector": {"kubernetes.io/hostname": SECOND},
                }
            ],
        )
        submission = taipod.submit("pinned")
        job = taipod.wait_job(submission, "elsewhere", {"FAILED", "COMPLETED"}, timeout=120)
        status = job["status"]
        assert status["status"] == "FAILED" and status["reason"] == "VolumeNotMountable", status
        # The scheduler's own words ("didn't match PersistentVolume's node affinity") and the access mode to change.
        assert "ReadWriteOnce" in status["message"] and "PersistentVolume's node affinity" in status["message"]
    finally:
        operator.stop()
