"""One store that the SDK, the tasks and kubectl users all see (issue 11), against the real S3 server.

Every value here goes through the test S3 server (versitygw, started with the local cluster): written by the SDK in
the test process, read and written by task pods, read back by the SDK and by ``taipod data``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.conftest import Taipod, operator_config
from tests.e2e.test_sdk_support import SdkEnv, reset_sdk, sdk_environment
from tests.k8s_helpers import wait_until

import taipod as tp
from taipod import Config, storage
from taipod.operator.embedded import EmbeddedOperator
from taipod.sdk import cluster as sdk_cluster
from taipod.sdk.orchestrator import operator_serves

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3) as env:
        yield env


# Task functions defined here are shipped by value (cloudpickle), as a user's would be.
def passthrough(value: Any) -> Any:
    return value


def add_total(frame: Any) -> Any:
    frame = frame.copy()
    frame["total"] = frame["a"] + frame["b"]
    return frame


def count_runs(value: int) -> int:
    return value * 10


VALUES: dict[str, Any] = {
    "pickle": {"set": {1, 2, 3}, "tuple": (1, "x")},
    "json": {"numbers": [1, 2, 3], "name": "été"},
}


def _frame(rows: int = 3) -> Any:
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"a": list(range(rows)), "b": [2 * i for i in range(rows)]})


@pytest.mark.parametrize("storage_type", ["pickle", "json", "csv", "parquet"])
def test_user_write_is_what_the_next_task_reads(sdk: SdkEnv, storage_type: str) -> None:
    source = Config.configure_data_node("source", storage_type)
    target = Config.configure_data_node("target", storage_type)
    copy = Config.configure_task("copy", passthrough, source, target)
    scenario = tp.create_scenario(Config.configure_scenario(f"copy_{storage_type}", [copy]))
    value = _frame() if storage_type in ("csv", "parquet") else VALUES[storage_type]
    scenario.source.write(value)
    assert tp.submit(scenario).submission_status is tp.SubmissionStatus.COMPLETED
    got = scenario.target.read()
    if storage_type in ("csv", "parquet"):
        pd = pytest.importorskip("pandas")
        pd.testing.assert_frame_equal(got, value)
    else:
        assert got == value
    # Stored on the S3 server, where the task wrote it: not on a local path.
    assert scenario.target.url.startswith(f"{sdk.s3.url}/{sdk.namespace}/")
    access = storage.Access(sdk.s3.endpoint, sdk.s3.access_key, sdk.s3.secret_key)
    assert storage.exists(scenario.target.url, access)


def test_a_50_mb_dataframe_round_trip(sdk: SdkEnv) -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    rows = 3_300_000  # two int64 columns, about 50 MB in memory; parquet keeps most of it (random values)
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"a": rng.integers(0, 2**62, rows), "b": rng.integers(0, 2**62, rows)})
    source = Config.configure_data_node("frame", "parquet")
    result = Config.configure_data_node("result", "parquet")
    task = Config.configure_task("add_total", add_total, source, result)
    scenario = tp.create_scenario(Config.configure_scenario("big", [task]))
    scenario.frame.write(frame)
    assert tp.submit(scenario).submission_status is tp.SubmissionStatus.COMPLETED
    out = scenario.result.read()
    assert len(out) == rows and (out["total"] == frame["a"] + frame["b"]).all()


def test_a_skippable_task_reruns_after_the_user_writes_a_new_input(sdk: SdkEnv) -> None:
    n = Config.configure_data_node("n", default_data=1)
    out = Config.configure_data_node("out")
    task = Config.configure_task("times_ten", count_runs, n, out, skippable=True)
    scenario = tp.create_scenario(Config.configure_scenario("skippy", [task]))
    assert tp.submit(scenario).jobs[0].status is tp.Status.COMPLETED
    assert scenario.out.read() == 10
    assert tp.submit(scenario).jobs[0].status is tp.Status.SKIPPED  # up to date
    scenario.n.write(5)
    assert tp.submit(scenario).jobs[0].status is tp.Status.COMPLETED
    assert scenario.out.read() == 50


def test_a_sequence_runs_on_an_input_only_the_user_wrote(sdk: SdkEnv) -> None:
    a, b, c = (Config.configure_data_node(name) for name in "abc")
    first = Config.configure_task("first", count_runs, a, b)
    second = Config.configure_task("second", count_runs, b, c)
    scenario = tp.create_scenario(Config.configure_scenario("seq", [first, second], sequences={"tail": [second]}))
    scenario.b.write(3)  # no task of the sequence ever wrote it
    submission = tp.submit(scenario.sequences["tail"])
    assert submission.submission_status is tp.SubmissionStatus.COMPLETED
    assert scenario.c.read() == 30


def test_a_global_node_is_one_entity_for_every_scenario(sdk: SdkEnv) -> None:
    shared = Config.configure_data_node("shared", scope=tp.Scope.GLOBAL)
    seed = Config.configure_data_node("seed", default_data=4)
    result = Config.configure_data_node("result")
    produce = Config.configure_task("produce", count_runs, seed, shared)
    consume = Config.configure_task("consume", count_runs, shared, result)
    producer = tp.create_scenario(Config.configure_scenario("producer", [produce]))
    consumer = tp.create_scenario(Config.configure_scenario("consumer", [consume]))
    assert tp.submit(producer).submission_status is tp.SubmissionStatus.COMPLETED
    assert tp.submit(consumer).submission_status is tp.SubmissionStatus.COMPLETED
    assert consumer.result.read() == 400
    assert producer.shared.id == consumer.shared.id == "DATANODE_shared_GLOBAL"
    assert producer.shared.last_edit_date == consumer.shared.last_edit_date is not None
    assert tp.get(producer.shared.id) == producer.shared and tp.get(producer.shared.id).read() == 40
    consumer.shared.write(7)  # a write through either scenario is the one value
    assert producer.shared.read() == 7 and producer.shared.last_edit_date == consumer.shared.last_edit_date


def test_a_one_megabyte_default_value_runs(sdk: SdkEnv, taipod: Taipod) -> None:
    big = "x" * 1_000_000
    taipod.scenario(
        "bigdefault",
        [{"name": "text", "storageType": "json", "defaultData": big}, {"name": "size", "storageType": "json"}],
        [{"name": "measure", "function": "len", "inputs": ["text"], "outputs": ["size"]}],
    )
    submission = taipod.submit("bigdefault")
    jobs = taipod.wait_jobs(submission, {"measure": "COMPLETED"}, timeout=120)
    assert jobs["measure"]["status"]["status"] == "COMPLETED"
    scenario = tp.get("bigdefault")
    assert scenario is not None and scenario.size.read() == 1_000_000
    # The value went to the store, not into the pod's environment.
    batch = taipod.kube.batch.read_namespaced_job(jobs["measure"]["metadata"]["name"], sdk.namespace)
    assert len(batch.spec.template.spec.containers[0].env[0].value) < 2000


def _cli(sdk: SdkEnv, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in sdk.env().items() if not k.startswith(("AWS_", "TAIPOD_STORAGE"))}
    return subprocess.run(
        [sys.executable, "-m", "taipod.cli", "-n", sdk.namespace, "--kubeconfig", str(sdk.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        env=env,  # no storage settings: the CLI finds the store and its credentials as a kubectl user's would
        timeout=120,
        check=False,
    )


def test_taipod_data_put_then_get_round_trips_and_the_next_submission_uses_it(sdk: SdkEnv, taipod: Taipod) -> None:
    taipod.scenario(
        "numbers",
        [{"name": "n", "storageType": "json", "defaultData": 1}, {"name": "out", "storageType": "json"}],
        [{"name": "double", "function": "taipod.samples:double", "inputs": ["n"], "outputs": ["out"]}],
    )
    wait_until(lambda: (taipod.get("scenarios", "numbers").get("status") or {}).get("phase"), 60, "scenario checked")
    put = _cli(sdk, "data", "put", "numbers", "n", "-", stdin=b"21")
    assert put.returncode == 0, put.stderr
    got = _cli(sdk, "data", "get", "numbers", "n")
    assert got.returncode == 0 and got.stdout == b"21", got.stderr
    entry = (taipod.get("scenarios", "numbers")["status"]["dataNodes"])["n"]
    assert entry["value"] == 21  # the edit is recorded as the SDK records it
    submission = taipod.submit("numbers")
    taipod.wait_jobs(submission, {"double": "COMPLETED"}, timeout=120)
    out = _cli(sdk, "data", "get", "numbers", "out", "-o", str(sdk.storage / "out.json"))
    assert out.returncode == 0, out.stderr
    assert (sdk.storage / "out.json").read_text() == "42"
    # A file that is not of the node's storage type is refused, and nothing changes.
    bad = _cli(sdk, "data", "put", "numbers", "n", "-", stdin=b"{not json")
    assert bad.returncode == 1 and b"not a valid json value" in bad.stderr
    assert _cli(sdk, "data", "get", "numbers", "n").stdout == b"21"
    missing = _cli(sdk, "data", "get", "numbers", "nope")
    assert missing.returncode == 1 and b"has no data node 'nope'" in missing.stderr


def _writable_scenario() -> tp.Scenario:
    value = Config.configure_data_node("value")
    out = Config.configure_data_node("out")
    task = Config.configure_task("copy", passthrough, value, out)
    return tp.create_scenario(Config.configure_scenario("guarded", [task]))


def test_wrong_credentials_in_the_sdk_raise_and_change_nothing(sdk: SdkEnv) -> None:
    scenario = _writable_scenario()
    Config.configure_cluster(storage_key=sdk.s3.access_key, storage_secret_key="not-the-secret")
    with pytest.raises(tp.StorageUnreachableError, match=r"refused the credentials.*Fix: use the namespace"):
        scenario.value.write(1)
    assert scenario.value.last_edit_date is None
    Config.configure_cluster(storage_key="unknown-key", storage_secret_key="x")
    with pytest.raises(tp.StorageUnreachableError, match=r"credentials"):
        scenario.value.write(1)
    assert scenario.value.last_edit_date is None


def test_an_unreachable_store_raises_and_changes_nothing(sdk: SdkEnv) -> None:
    scenario = _writable_scenario()
    Config.configure_cluster(storage_endpoint="http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(tp.StorageUnreachableError, match=r"cannot be reached.*Fix: check that the store runs"):
        scenario.value.write(1)
    assert scenario.value.last_edit_date is None


def test_a_missing_bucket_is_named(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> None:
    reset_sdk()
    Config.configure_cluster(namespace=namespace, kubeconfig=str(cluster.kubeconfig), operator_timeout=120)
    config = operator_config(s3, TAIPOD_STORAGE_URL="s3://no-such-bucket/data")
    operator = EmbeddedOperator(namespace, kubeconfig=str(cluster.kubeconfig), config=config).start()
    try:
        wait_until(lambda: operator_serves(sdk_cluster.current()), 30, "the operator's Lease")
        scenario = _writable_scenario()
        with pytest.raises(tp.StorageUnreachableError, match=r"bucket 'no-such-bucket' does not exist.*Fix: create"):
            scenario.value.write(1)
        assert scenario.value.last_edit_date is None
    finally:
        reset_sdk()
        operator.stop()


def test_the_store_stopped_while_a_task_runs_fails_it_with_a_reason_then_a_resubmission_completes(
    sdk: SdkEnv, cluster: ClusterHandle, taipod: Taipod
) -> None:
    local = cluster.local
    if local is None or not hasattr(local, "stop_s3"):
        pytest.skip("stopping the S3 server needs the local cluster")
    taipod.scenario(
        "slowcopy",
        [{"name": "n", "storageType": "json", "defaultData": 4}, {"name": "out", "storageType": "json"}],
        [{"name": "wait", "function": "taipod.samples:sleep_seconds", "inputs": ["n"], "outputs": ["out"]}],
    )
    first = taipod.submit("slowcopy")
    taipod.wait_job(first, "wait", {"RUNNING"}, timeout=120)
    local.stop_s3()
    try:
        job = taipod.wait_job(first, "wait", {"FAILED", "COMPLETED"}, timeout=120)
    finally:
        local.start_s3()
    assert job["status"]["status"] == "FAILED" and job["status"]["reason"] == "StorageUnavailable", job["status"]
    assert "cannot be reached" in job["status"]["message"]
    second = taipod.submit("slowcopy")
    taipod.wait_jobs(second, {"wait": "COMPLETED"}, timeout=120)
    assert tp.get("slowcopy").out.read() == 4
