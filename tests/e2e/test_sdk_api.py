"""The SDK's scenario, submission and data-node calls against a cluster with the operator running."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.conftest import Taipod
from tests.e2e.test_sdk_support import SdkEnv, sdk_environment
from tests.k8s_helpers import wait_until

import taipod as tp
from taipod import Config, samples

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3) as env:
        yield env


def plus_one(x: int) -> int:  # defined in the test module: shipped by value
    return x + 1


def chain_config() -> tp.ScenarioConfig:
    a = Config.configure_data_node("a", default_data=20)
    b = Config.configure_data_node("b")
    c = Config.configure_data_node("c")
    extra = Config.configure_data_node("notes", "json", default_data={"k": "v"})
    to_b = Config.configure_task("to_b", plus_one, a, b)
    to_c = Config.configure_task("to_c", samples.double, b, c)
    return Config.configure_scenario("chain", [to_b, to_c], [extra], sequences={"first": [to_b]})


def test_create_submit_and_read(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain_config(), name="My chain")
    assert scenario.id.startswith("chain-") and scenario.config_id == "chain" and scenario.name == "My chain"
    assert scenario.phase == "Ready"
    assert scenario.a.read() == 20 and scenario.b.read() is None and scenario.notes.read() == {"k": "v"}
    assert set(scenario.tasks) == {"to_b", "to_c"} and set(scenario.additional_data_nodes) == {"notes"}
    submission = tp.submit(scenario)  # development mode: returns when finished
    assert submission.submission_status is tp.SubmissionStatus.COMPLETED
    assert [(j.task.config_id, j.status) for j in submission.jobs] == [
        ("to_b", tp.Status.COMPLETED),
        ("to_c", tp.Status.COMPLETED),
    ]
    assert scenario.c.read() == 42
    assert scenario.c.last_edit_date is not None and submission.jobs[1].finished_at is not None
    assert submission.submitted_at <= submission.run_at <= submission.finished_at  # type: ignore[operator]
    assert submission.entity_id == scenario.id and submission.entity_type == "SCENARIO"
    assert submission.entity_config_id == "chain" and submission.is_finished() and submission.is_deletable()
    # Writing an input, then submitting again, uses the new value.
    scenario.a.write(100)
    assert scenario.a.read() == 100 and scenario.a.is_ready_for_reading
    tp.submit(scenario)
    assert scenario.c.read() == 202
    assert len(tp.get_jobs()) == 4 and len(tp.get_submissions()) == 2
    assert tp.get_latest_submission(scenario) == tp.get_submissions()[-1]


def test_thousands_of_data_nodes_are_stored_packed_and_read_and_written_the_same(sdk: SdkEnv, taipod: Taipod) -> None:
    """Past 64 KiB the data-node map is kept packed (``status.dataNodesPacked``, to stay far below etcd's limit): the
    operator, and the SDK's reads and writes, work on it as on the readable map."""
    extras = [Config.configure_data_node(f"n{i}", default_data=i) for i in range(1500)]
    a = Config.configure_data_node("a", default_data=20)
    b, c = Config.configure_data_node("b"), Config.configure_data_node("c")
    to_b = Config.configure_task("to_b", samples.double, a, b)
    to_c = Config.configure_task("to_c", samples.double, b, c)
    scenario = tp.create_scenario(Config.configure_scenario("many", [to_b, to_c], extras))
    status = wait_until(lambda: taipod.get("scenarios", scenario.id).get("status"), 30, "the scenario's status")
    assert "dataNodesPacked" in status and "dataNodes" not in status, sorted(status)
    assert scenario.n1234.read() == 1234 and scenario.n7.is_ready_for_reading
    tp.submit(scenario)
    assert scenario.c.read() == 80
    before = scenario.a.last_edit_date
    scenario.a.write(5)  # a read-modify-write of the packed map, conditional on its resourceVersion
    assert scenario.a.read() == 5 and scenario.a.last_edit_date > before  # type: ignore[operator]
    assert scenario.n1499.read() == 1499  # the other entries are kept
    tp.submit(scenario)
    assert scenario.c.read() == 20
    status = taipod.get("scenarios", scenario.id)["status"]
    assert "dataNodesPacked" in status and "dataNodes" not in status


def test_get_every_kind_of_id(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain_config())
    submission = tp.submit(scenario)
    job = submission.jobs[0]
    for entity in (scenario, scenario.first, scenario.to_b, scenario.a, job, submission):
        found = tp.get(entity.id)
        assert found == entity and type(found) is type(entity), entity.id
        assert tp.exists(entity.id)
    assert tp.get("no-such-thing") is None and not tp.exists("no-such-thing")
    assert tp.get(f"TASK_nope_{scenario.id}") is None and tp.get("TASK_to_b_no-such-scenario") is None
    assert tp.get_scenarios() == [scenario]
    assert tp.get_latest_job(scenario.to_b) == job and job.task == scenario.to_b and job in tp.get_jobs()
    assert job.submit_entity_id == scenario.id and job.submit_id == submission.id


def test_submit_a_sequence_and_a_task(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain_config())
    sequence_submission = scenario.first.submit()
    assert [j.task.config_id for j in sequence_submission.jobs] == ["to_b"]
    assert sequence_submission.entity_type == "SEQUENCE" and sequence_submission.entity_config_id is None
    assert scenario.b.read() == 21 and scenario.c.read() is None
    task_submission = tp.submit(scenario.to_c)
    assert task_submission.entity_type == "TASK" and task_submission.entity_id == scenario.to_c.id
    assert scenario.c.read() == 42
    assert tp.get_latest_submission(scenario.first) == sequence_submission


def test_skippable_tasks_and_force(sdk: SdkEnv) -> None:
    a = Config.configure_data_node("a", default_data=1)
    b = Config.configure_data_node("b")
    task = Config.configure_task("t", samples.double, a, b, skippable=True)
    scenario = tp.create_scenario(Config.configure_scenario("skip", [task]))
    assert tp.submit(scenario).jobs[0].status is tp.Status.COMPLETED
    assert tp.submit(scenario).jobs[0].status is tp.Status.SKIPPED
    forced = tp.submit(scenario, force=True).jobs[0]
    assert forced.status is tp.Status.COMPLETED and forced.force
    assert forced.pending_duration is not None  # a skipped job's pending duration does not raise either
    assert tp.get_jobs()[1].pending_duration is not None


def test_standalone_returns_at_once_and_wait_waits(sdk: SdkEnv) -> None:
    Config.configure_job_executions(mode="standalone")
    seconds = Config.configure_data_node("seconds", default_data=3)
    out = Config.configure_data_node("out")
    scenario = tp.create_scenario(
        Config.configure_scenario("slow", [Config.configure_task("sleep", samples.sleep_seconds, seconds, out)])
    )
    submission = tp.submit(scenario)
    (job,) = submission.jobs
    assert job.status in (tp.Status.PENDING, tp.Status.RUNNING)
    assert submission.submission_status in (tp.SubmissionStatus.PENDING, tp.SubmissionStatus.RUNNING)
    wait_until(job.is_finished, 120, "the job finished")
    # wait=True with a timeout returns when it expires, canceling nothing.
    again = tp.submit(scenario, wait=True, timeout=0.5)
    assert not again.jobs[0].is_finished()
    finished = tp.submit(scenario, wait=True)
    assert finished.jobs[0].status is tp.Status.COMPLETED and scenario.out.read() == 3


def test_storage_types_and_scopes(sdk: SdkEnv) -> None:
    pd = pytest.importorskip("pandas")
    rows = Config.configure_data_node("rows", "json", default_data=4)
    frame = Config.configure_data_node("frame", "parquet")
    table = Config.configure_data_node("table", "csv", tp.Scope.GLOBAL, timedelta(hours=1))
    make = Config.configure_task("make", samples.make_frame, rows, frame)
    copy = Config.configure_task("copy", samples.identity, frame, table)
    config = Config.configure_scenario("frames", [make, copy])
    first = tp.create_scenario(config)
    tp.submit(first)
    assert list(first.frame.read()["square"]) == [0, 1, 4, 9]
    assert first.table.read().shape == (4, 3) and first.table.is_valid
    second = tp.create_scenario(config)
    assert second.table.read().shape == (4, 3)  # GLOBAL: shared by every scenario
    assert second.frame.read() is None  # SCENARIO: its own
    second.frame.write(pd.DataFrame({"i": [7]}))
    assert list(second.frame.read()["i"]) == [7]


def test_delete_scenario_cascades(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain_config())
    submission = tp.submit(scenario)
    tp.delete(submission.id)
    assert tp.get(submission.id) is None
    wait_until(lambda: tp.get_jobs() == [], 60, "the submission's jobs deleted with it")
    tp.delete(scenario.id)
    assert tp.get(scenario.id) is None and tp.get_scenarios() == []
    with pytest.raises(tp.NonExistingScenario, match="does not exist"):
        tp.submit(scenario)
