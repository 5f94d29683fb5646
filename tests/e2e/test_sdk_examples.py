"""The four examples of Taipy's job documentation, with only the import line changed, print what it prints.

The examples run as scripts (``examples/sdk/*.py``), starting the operator in their own process with
``tp.Orchestrator().run()``. Lines (3) and (4) of the cancel examples depend on timing (the job may still be
PENDING when the script looks): the variants below wait until the job is RUNNING before reading them and then print
exactly the documentation's lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from time import sleep

import pytest
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.test_sdk_support import ROOT, SdkEnv, sdk_environment
from tests.k8s_helpers import wait_until

import taipod as tp
from taipod import Config

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "examples" / "sdk"
CANCEL_DOC = [
    "(1) Number of jobs: 0.",
    "(2) Number of jobs: 2.",
    "(3) Status of job double_task: Status.RUNNING",
    "(4) Status of job print_task: Status.BLOCKED",
    "(5) Status of job double_task: Status.COMPLETED",
    "(6) Status of job print_task: Status.CANCELED",
]
CANCEL_RUNNING_DOC = [*CANCEL_DOC[:5], "(6) Status of job print_task: Status.ABANDONED"]


@pytest.fixture
def bare(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    """The SDK pointed at the namespace, with no operator: the examples start their own."""
    with sdk_environment(cluster, namespace, tmp_path, s3, with_operator=False) as env:
        yield env


@pytest.fixture
def sdk(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3) as env:
        yield env


def run(env: SdkEnv, name: str) -> list[str]:
    proc = env.run_script(EXAMPLES / name)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.splitlines()


def test_job_creation_example(bare: SdkEnv) -> None:
    assert run(bare, "job_creation.py") == []  # the documentation's example prints nothing
    jobs = tp.get_jobs()
    assert [(j.task.config_id, j.status) for j in jobs] == [("double_task", tp.Status.COMPLETED)]
    (scenario,) = tp.get_scenarios()
    assert scenario.my_output.read() == 42
    assert tp.get_latest_submission(scenario).submission_status is tp.SubmissionStatus.COMPLETED  # type: ignore[union-attr]


def test_get_delete_example(bare: SdkEnv) -> None:
    assert run(bare, "get_delete.py") == []
    assert tp.get_jobs() == []  # the one job was deleted
    (scenario,) = tp.get_scenarios()
    assert scenario.my_output.read() == 42


def test_cancel_example(bare: SdkEnv) -> None:
    lines = run(bare, "cancel.py")
    assert lines[2] in ("(3) Status of job double_task: Status.PENDING", CANCEL_DOC[2])  # timing: PENDING or RUNNING
    assert lines[:2] + lines[3:] == CANCEL_DOC[:2] + CANCEL_DOC[3:]


def test_cancel_running_example(bare: SdkEnv) -> None:
    lines = run(bare, "cancel_running.py")
    if lines[2] == CANCEL_RUNNING_DOC[2]:
        assert lines == CANCEL_RUNNING_DOC
    else:  # seen PENDING: when the cancel arrived, it was still PENDING (CANCELED) or already RUNNING (COMPLETED)
        assert lines[2] == "(3) Status of job double_task: Status.PENDING"
        assert lines[4] in (CANCEL_RUNNING_DOC[4], "(5) Status of job double_task: Status.CANCELED")
        assert lines[:2] + lines[3:4] + lines[5:] == CANCEL_RUNNING_DOC[:2] + CANCEL_RUNNING_DOC[3:4] + [
            CANCEL_RUNNING_DOC[5]
        ]


# The variants: the examples' code, with a wait until double_task is RUNNING before lines (3) and (4), and a wait
# until both jobs are finished instead of sleep(10). ``say`` records what the examples print.


def double(nb):  # type: ignore[no-untyped-def]  # the documentation's function, shipped by value
    sleep(5)
    return nb * 2


def cancel_variant(cancel_running: bool) -> list[str]:
    lines: list[str] = []
    say = lines.append
    say(f"(1) Number of jobs: {len(tp.get_jobs())}.")
    input_data_node_cfg = Config.configure_data_node("my_input", default_data=21)
    output_data_node_cfg = Config.configure_data_node("my_output")
    double_task_cfg = Config.configure_task("double_task", double, input_data_node_cfg, output_data_node_cfg)
    print_task_cfg = Config.configure_task("print_task", print, output_data_node_cfg)
    scenario_cfg = Config.configure_scenario("my_scenario", [double_task_cfg, print_task_cfg])
    Config.configure_job_executions(mode="standalone")
    tp.Orchestrator().run()
    scenario = tp.create_scenario(scenario_cfg)
    tp.submit(scenario)
    say(f"(2) Number of jobs: {len(tp.get_jobs())}.")
    job_double = tp.get_latest_job(scenario.double_task)
    job_print = tp.get_latest_job(scenario.print_task)
    assert job_double is not None and job_print is not None
    wait_until(lambda: job_double.status is tp.Status.RUNNING, 120, "double_task RUNNING")
    say(f"(3) Status of job double_task: {job_double.status}")
    say(f"(4) Status of job print_task: {job_print.status}")
    tp.cancel_job(job_double if cancel_running else job_print)
    wait_until(lambda: job_double.is_finished() and job_print.is_finished(), 120, "both jobs finished")
    say(f"(5) Status of job double_task: {job_double.status}")
    say(f"(6) Status of job print_task: {job_print.status}")
    return lines


def test_cancel_example_waiting_for_running(sdk: SdkEnv, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="taipod"):
        assert cancel_variant(cancel_running=False) == CANCEL_DOC
    assert any("canceled" in r.getMessage() for r in caplog.records if r.name == "taipod")


def test_cancel_running_example_waiting_for_running(sdk: SdkEnv, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="taipod"):
        assert cancel_variant(cancel_running=True) == CANCEL_RUNNING_DOC
    assert any("is running and cannot be canceled" in r.getMessage() for r in caplog.records)
