"""Jobs through the SDK: attributes and durations, cancel, delete, failures, subscriptions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ClusterHandle, Kubectl, S3Store
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


def chain(seconds: float = 2, first: Any = samples.sleep_seconds) -> tp.ScenarioConfig:
    """sleep(seconds) -> slept -> double -> doubled -> identity -> last."""
    s = Config.configure_data_node("seconds", default_data=seconds)
    slept = Config.configure_data_node("slept")
    doubled = Config.configure_data_node("doubled")
    last = Config.configure_data_node("last")
    return Config.configure_scenario(
        "chain",
        [
            Config.configure_task("sleep", first, s, slept),
            Config.configure_task("double", samples.double, slept, doubled),
            Config.configure_task("last", samples.identity, doubled, last),
        ],
    )


def by_task(submission: tp.Submission) -> dict[str, tp.Job]:
    return {job.task.config_id: job for job in submission.jobs}


def test_job_attributes_and_durations(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain(2))
    submission = tp.submit(scenario)
    jobs = by_task(submission)
    sleep_job, double_job = jobs["sleep"], jobs["double"]
    assert sleep_job.id and not sleep_job.force and sleep_job.stacktrace == []
    assert sleep_job.task == scenario.sleep and sleep_job.submit_id == submission.id
    assert sleep_job.execution_duration >= 1.5  # type: ignore[operator]  # the task sleeps 2 s
    for job in jobs.values():
        history = job.history
        statuses = [t.status for t in history]
        assert statuses[0] is tp.Status.SUBMITTED and statuses[-1] is tp.Status.COMPLETED
        assert job.creation_date == job.submitted_at == history[0].at
        at = {t.status: t.at for t in history}
        assert job.run_at == at[tp.Status.RUNNING] and job.finished_at == at[tp.Status.COMPLETED]
        assert job.execution_duration == pytest.approx(
            (at[tp.Status.COMPLETED] - at[tp.Status.RUNNING]).total_seconds()
        )
        assert job.pending_duration == pytest.approx((at[tp.Status.RUNNING] - at[tp.Status.PENDING]).total_seconds())
        if tp.Status.BLOCKED in at:
            assert job.blocked_duration == pytest.approx(
                (at[tp.Status.PENDING] - at[tp.Status.BLOCKED]).total_seconds()
            )
        else:
            assert job.blocked_duration is None
    assert [t.status for t in double_job.history][:3] == [tp.Status.SUBMITTED, tp.Status.BLOCKED, tp.Status.PENDING]
    assert double_job.blocked_duration >= sleep_job.execution_duration - 0.5  # type: ignore[operator]


def test_failure_records_the_stacktrace_and_abandons_dependents(sdk: SdkEnv) -> None:
    scenario = tp.create_scenario(chain(first=samples.fail))
    submission = tp.submit(scenario)
    jobs = by_task(submission)
    assert jobs["sleep"].status is tp.Status.FAILED
    assert any("sample failure" in line for line in jobs["sleep"].stacktrace)
    assert jobs["double"].status is tp.Status.ABANDONED and jobs["last"].status is tp.Status.ABANDONED
    assert submission.submission_status is tp.SubmissionStatus.FAILED
    assert jobs["double"].pending_duration is None and jobs["double"].blocked_duration is not None


def test_cancel_blocked_and_running_jobs(sdk: SdkEnv, caplog: pytest.LogCaptureFixture) -> None:
    Config.configure_job_executions(mode="standalone")
    scenario = tp.create_scenario(chain(30))
    jobs = by_task(tp.submit(scenario))
    assert jobs["double"].status is tp.Status.BLOCKED
    with caplog.at_level("INFO", logger="taipod"):
        tp.cancel_job(jobs["double"])  # a BLOCKED job: CANCELED, its dependent ABANDONED
    assert jobs["double"].status is tp.Status.CANCELED and jobs["last"].status is tp.Status.ABANDONED
    assert any(r.name == "taipod" and "canceled" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("INFO", logger="taipod"):
        tp.cancel_job(jobs["last"].id)  # refused: already abandoned; nothing raised
    assert any("has already been abandoned and cannot be canceled" in r.getMessage() for r in caplog.records)
    wait_until(lambda: jobs["sleep"].status is tp.Status.RUNNING, 120, "sleep RUNNING")
    caplog.clear()
    with caplog.at_level("INFO", logger="taipod"):
        tp.cancel_job(jobs["sleep"])  # Taipy's rule: a RUNNING job keeps running
    assert any("is running and cannot be canceled" in r.getMessage() for r in caplog.records)
    assert jobs["sleep"].status is tp.Status.RUNNING
    tp.delete_job(jobs["sleep"], force=True)


def test_terminate_a_running_job(sdk: SdkEnv) -> None:
    Config.configure_job_executions(mode="standalone")
    scenario = tp.create_scenario(chain(60))
    jobs = by_task(tp.submit(scenario))
    wait_until(lambda: jobs["sleep"].status is tp.Status.RUNNING, 120, "sleep RUNNING")
    tp.cancel_job(jobs["sleep"], terminate=True)  # taipod's extension: the pod is stopped
    wait_until(lambda: jobs["sleep"].status is tp.Status.CANCELED, 60, "sleep CANCELED")
    assert jobs["double"].status is tp.Status.ABANDONED


def test_delete_jobs(sdk: SdkEnv, kubectl: Kubectl) -> None:
    Config.configure_job_executions(mode="standalone")
    scenario = tp.create_scenario(chain(60))
    jobs = by_task(tp.submit(scenario))
    running = jobs["sleep"]
    wait_until(lambda: running.status is tp.Status.RUNNING, 120, "sleep RUNNING")
    assert not tp.is_deletable(running) and "not finished" in tp.is_deletable(running).reasons
    with pytest.raises(tp.JobNotDeletedException) as info:
        tp.delete_job(running)
    assert info.value.args[0] == running.id and "force=True" in str(info.value)
    denied = kubectl("delete", "jobs.taipod.io", running.id, "--wait=false", check=False)
    assert denied.returncode != 0 and "cannot be deleted" in denied.stderr  # the API server refuses too
    tp.delete_job(running, force=True)
    assert tp.get(running.id) is None and running.id not in {j.id for j in tp.get_jobs()}
    tp.cancel_job(jobs["double"])
    assert tp.is_deletable(jobs["double"])
    tp.delete_job(jobs["double"])
    tp.submit(scenario)
    assert len(tp.get_jobs()) == 4
    tp.delete_jobs()  # every job, whatever its status
    assert tp.get_jobs() == []
    assert not tp.is_deletable("no-such-job")


def test_subscribe_scenario_gets_every_change_once_in_order(sdk: SdkEnv) -> None:
    seen: list[tuple[str, str, str, tp.Status]] = []
    lock = threading.Lock()

    def callback(tag: str, scenario: tp.Scenario, job: tp.Job) -> None:
        with lock:
            seen.append((tag, scenario.id, job.task.config_id, job.status))

    scenario = tp.create_scenario(chain(1))
    other = tp.create_scenario(chain(1))
    tp.subscribe_scenario(callback, ["mine"], scenario)
    submission = tp.submit(scenario)  # development mode: the callbacks have run when it returns
    tp.submit(other)
    expected = {
        job.task.config_id: [t.status for t in job.history[1:]] for job in submission.jobs
    }  # every change after SUBMITTED, from the status history
    assert expected["double"][:2] == [tp.Status.BLOCKED, tp.Status.PENDING]
    assert expected["sleep"] == [tp.Status.PENDING, tp.Status.RUNNING, tp.Status.COMPLETED]
    with lock:
        got = list(seen)
    assert {s[1] for s in got} == {scenario.id} and {s[0] for s in got} == {"mine"}
    for task, statuses in expected.items():
        assert [s[3] for s in got if s[2] == task] == statuses
    tp.unsubscribe_scenario(callback, ["mine"], scenario)
    with pytest.raises(ValueError, match="not subscribed"):
        tp.unsubscribe_scenario(callback, ["mine"], scenario)
    tp.submit(scenario)
    assert len(seen) == len(got)


def test_submit_callbacks(sdk: SdkEnv) -> None:
    got: list[tuple[str, tp.Status]] = []
    scenario = tp.create_scenario(chain(0))
    tp.submit(scenario.sleep, callbacks=[lambda job: got.append((job.task.config_id, job.status))])
    assert got == [("sleep", tp.Status.PENDING), ("sleep", tp.Status.RUNNING), ("sleep", tp.Status.COMPLETED)]
