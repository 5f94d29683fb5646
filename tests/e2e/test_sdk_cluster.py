"""The SDK and the cluster: the embedded operator, clear errors, manifests for kubectl, and listing speed."""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from tests.conftest import ClusterHandle, Kubectl, S3Store
from tests.e2e.test_sdk_support import SdkEnv, sdk_environment
from tests.k8s_helpers import Kube, wait_until

import taipod as tp
from taipod import Config, samples
from taipod.sdk import cluster as sdk_cluster
from taipod.sdk import names
from taipod.sdk.orchestrator import operator_serves

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3) as env:
        yield env


@pytest.fixture
def bare(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3, with_operator=False) as env:
        yield env


def times_ten(x: int) -> int:  # shipped by value
    return x * 10


def config() -> tp.ScenarioConfig:
    a = Config.configure_data_node("a", default_data=4)
    b = Config.configure_data_node("b")
    c = Config.configure_data_node("c", "json")
    return Config.configure_scenario(
        "exported",
        [Config.configure_task("ten", times_ten, a, b), Config.configure_task("dbl", samples.double, b, c)],
    )


def test_orchestrator_starts_an_operator_only_when_none_serves(bare: SdkEnv) -> None:
    cluster = sdk_cluster.current()
    assert operator_serves(cluster) is False
    scenario = tp.create_scenario(config())
    with pytest.raises(tp.NoOperatorRunningError, match=r"tp\.Orchestrator\(\)\.run\(\).*helm install"):
        tp.submit(scenario)  # development mode with no operator: it would never return
    tp.Orchestrator().run()
    assert operator_serves(cluster) is True
    with pytest.raises(tp.OrchestratorServiceIsAlreadyRunning):
        tp.Orchestrator().run()
    assert tp.submit(scenario).submission_status is tp.SubmissionStatus.COMPLETED
    assert scenario.c.read() == 80
    tp.Orchestrator().stop()
    wait_until(lambda: operator_serves(cluster) is False, 60, "the lease released")
    Config.configure_job_executions(mode="standalone")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pending = tp.submit(scenario)  # standalone with no operator: it waits for one, with a warning
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    assert pending.jobs == []


def test_orchestrator_uses_an_operator_already_serving(sdk: SdkEnv) -> None:
    tp.Orchestrator().run()  # the test's operator holds the lease: nothing started
    tp.Orchestrator().run()  # still nothing started here, so no error either
    assert tp.submit(tp.create_scenario(config())).submission_status is tp.SubmissionStatus.COMPLETED


def test_errors_name_the_cause_and_the_fix(sdk: SdkEnv, kube: Kube, cluster: ClusterHandle, tmp_path: Path) -> None:
    current = sdk_cluster.current()
    with pytest.raises(tp.CrdsNotInstalledError, match=r"CRDs are not installed.*helm install"):
        current.call(
            "list", current.custom.list_namespaced_custom_object, "nothere.taipod.io", "v1", current.namespace, "jobs"
        )
    assert tp.get("no-such-entity") is None
    scenario = tp.create_scenario(config())
    tp.delete(scenario.id)
    wait_until(lambda: tp.get(scenario.id) is None, 30, "scenario deleted")
    with pytest.raises(tp.NonExistingScenario, match=scenario.id):
        tp.submit(scenario)
    with pytest.raises(tp.NonExistingEntity):
        tp.delete(scenario.id)
    # A user without RBAC permissions.
    kube.core.create_namespaced_service_account(sdk.namespace, {"metadata": {"name": "nobody"}})
    token = kube.core.create_namespaced_service_account_token(
        "nobody", sdk.namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    admin["users"] = [{"name": "nobody", "user": {"token": token}}]
    for ctx in admin["contexts"]:
        ctx["context"]["user"] = "nobody"
    path = tmp_path / "nobody.kubeconfig"
    path.write_text(yaml.safe_dump(admin))
    Config.configure_cluster(kubeconfig=str(path))
    with pytest.raises(tp.ForbiddenError, match=r"forbidden.*RBAC"):
        tp.get_jobs()


def test_exported_manifest_applied_with_kubectl_gives_the_same_results(sdk: SdkEnv, kubectl: Kubectl) -> None:
    through_sdk = tp.create_scenario(config())
    tp.submit(through_sdk)
    text = tp.export_scenario_manifest(config(), include_submission=True)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["Scenario", "ConfigMap", "Submission"]
    name = docs[0]["metadata"]["name"]
    kubectl("apply", "-f", "-", input=text)
    submission = tp.get(docs[2]["metadata"]["name"])
    assert isinstance(submission, tp.Submission)
    wait_until(
        lambda: submission.submission_status is tp.SubmissionStatus.COMPLETED,
        120,
        lambda: f"kubectl's run finished: {kubectl('get', 'tpsub', submission.id, '-o', 'jsonpath={.status}').stdout}",
    )
    applied = tp.get(name)
    assert isinstance(applied, tp.Scenario)
    for dn in ("a", "b", "c"):
        assert applied.data_nodes[dn].read() == through_sdk.data_nodes[dn].read()
    assert [(j.task.config_id, j.status) for j in submission.jobs] == [
        (j.task.config_id, j.status)
        for j in tp.get_latest_submission(through_sdk).jobs  # type: ignore[union-attr]
    ]
    # A scenario read back from the cluster exports to the same spec, and loads back as a configuration.
    again = yaml.safe_load_all(tp.export_scenario_manifest(applied))
    scenario_doc, cm_doc = [d for d in again if d]
    assert scenario_doc["spec"] == docs[0]["spec"] and "uid" not in scenario_doc["metadata"]
    assert base64.b64decode(cm_doc["binaryData"]["ten"]) == base64.b64decode(docs[1]["binaryData"]["ten"])
    loaded = Config.load_manifest(_write(sdk.storage.parent / "m.yaml", text))
    copy = tp.create_scenario(loaded)
    tp.submit(copy)
    assert copy.c.read() == 80


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_get_jobs_reads_thousands_of_jobs(bare: SdkEnv, kube: Kube) -> None:
    count = 5000
    body = {
        "apiVersion": "taipod.io/v1alpha1",
        "kind": "Job",
        "metadata": {"labels": {names.LABEL_SCENARIO: "bench", names.LABEL_SUBMISSION: "bench-1"}},
        "spec": {"scenario": "bench", "submission": "bench-1", "task": "t", "force": False},
    }

    def create(i: int) -> None:
        item = {**body, "metadata": {**body["metadata"], "name": f"bench-job-{i:05d}"}}
        kube.custom.create_namespaced_custom_object("taipod.io", "v1alpha1", bare.namespace, "jobs", item)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(count)))
    tp.get_jobs()  # connect, warm up
    start = time.perf_counter()
    jobs = tp.get_jobs()
    print(f"get_jobs() took {time.perf_counter() - start:.2f} s for {count} jobs (speed: make bench, section sdk)")
    assert len(jobs) == count and all(job.status is tp.Status.SUBMITTED for job in jobs[:10])
