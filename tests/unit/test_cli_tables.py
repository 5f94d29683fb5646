"""The pure parts of ``taipod get|list|watch|describe|retry``: names, filters, rows, formats, durations, plans."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from taipod.cli import tables
from taipod.cli.describe import describe_job, describe_scenario, describe_submission, seconds_between
from taipod.cli.rerun import retry_plan
from taipod.cli.session import CliError
from taipod.cli.watch import CLEAR, apply_event, draw_table

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
JOBS, SUBS, SCENARIOS = tables.KINDS["jobs"], tables.KINDS["submissions"], tables.KINDS["scenarios"]


def job(name: str, status: str | None, task: str = "t", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": "2026-01-02T03:00:05Z"},
        "spec": {"scenario": "s", "submission": "sub", "task": task},
        "status": {"status": status, **extra} if status else {},
    }
    return body


def submission(status: str | None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "sub", "namespace": "ns", "creationTimestamp": "2026-01-01T03:04:05Z"},
        "spec": {"scenario": "s", **spec},
        "status": {"submissionStatus": status, "finished": "1/2"} if status else {},
    }


SCENARIO = {
    "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": "2026-01-02T03:04:00Z"},
    "spec": {
        "dataNodes": [{"name": "a", "defaultData": 1}, {"name": "b", "storageType": "json"}, {"name": "c"}],
        "tasks": [
            {"name": "t1", "function": "m:f", "inputs": ["a"], "outputs": ["b"], "skippable": True},
            {"name": "t2", "function": "m:g", "inputs": ["b"], "outputs": ["c"]},
        ],
    },
    "status": {"phase": "Ready", "tasks": 2, "dataNodes": {"a": {"lastEditDate": "2026-01-02T03:04:01.000001Z"}}},
}


@pytest.mark.parametrize(
    ("word", "plural"),
    [
        *[("job", "jobs"), ("JOBS", "jobs"), ("tpjob", "jobs")],
        *[("sub", "submissions"), ("submission", "submissions"), ("tpsub", "submissions")],
        *[("scenario", "scenarios"), ("tps", "scenarios"), ("Scenarios", "scenarios")],
    ],
)
def test_kind_names(word: str, plural: str) -> None:
    assert tables.kind_named(word).plural == plural


def test_an_unknown_kind_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown resource type 'pods': use job, submission or scenario"):
        tables.kind_named("pods")


def test_status_filters_are_case_insensitive_and_checked_per_kind() -> None:
    assert tables.parse_statuses(JOBS, "running, Failed,") == {"RUNNING", "FAILED"}
    assert tables.parse_statuses(JOBS, None) == frozenset()
    assert tables.parse_statuses(SCENARIOS, "ready") == {"Ready"}
    with pytest.raises(ValueError, match="'SKIPPED' is not a status of submissions: use one or more of SUBMITTED"):
        tables.parse_statuses(SUBS, "SKIPPED")


def test_matching_by_status_and_submission() -> None:
    running, fresh = job("j1", "RUNNING"), job("j2", None)
    assert tables.matches(JOBS, running, frozenset({"RUNNING"}))
    assert not tables.matches(JOBS, running, frozenset({"FAILED"}))
    assert tables.matches(JOBS, fresh, frozenset({"SUBMITTED"}))  # no status yet reads as SUBMITTED
    assert not tables.matches(JOBS, running, frozenset(), submission="other")
    assert tables.status_of(SCENARIOS, {"metadata": {"name": "x"}}) == ""


def test_age_like_kubectl() -> None:
    assert [tables.age(t, NOW) for t in ("2026-01-02T03:04:00Z", "2026-01-02T02:04:05Z", "2025-12-30T03:04:05Z")] == [
        "5s",
        "1h",
        "3d",
    ]
    assert tables.age(None, NOW) == "" and tables.age("not a time", NOW) == ""


def test_job_rows_narrow_wide_and_all_namespaces() -> None:
    j = job("j1", "FAILED", runAt="2026-01-02T03:01:00.5Z", duration="2.0s", reason="TaskFailed", pod="p-1")
    assert tables.rows(JOBS, [j], NOW) == [
        ("NAME", "TASK", "SUBMISSION", "STATUS", "STARTED", "DURATION", "AGE"),
        ("j1", "t", "sub", "FAILED", "03:01:00", "2.0s", "4m"),
    ]
    wide = tables.rows(JOBS, [j], NOW, wide=True, namespaces=True)
    assert wide[0][0] == "NAMESPACE" and wide[0][-4:] == ("SCENARIO", "FINISHED", "REASON", "POD")
    assert wide[1][0] == "ns" and wide[1][-2:] == ("TaskFailed", "p-1")


def test_submission_and_scenario_rows() -> None:
    assert tables.rows(SUBS, [submission("RUNNING", task="t2")], NOW)[1] == (
        "sub",
        "s",
        "task/t2",
        "RUNNING",
        "1/2",
        "1d",
    )
    assert tables.rows(SUBS, [submission(None, sequence="q")], NOW)[1][2:4] == ("sequence/q", "SUBMITTED")
    assert tables.rows(SCENARIOS, [SCENARIO], NOW)[1] == ("s", "Ready", "2", "0", "5s")


def test_render_formats() -> None:
    objs = [job("j1", "RUNNING"), job("j2", "COMPLETED")]
    table = tables.render(JOBS, objs, "table", NOW).splitlines()
    assert table[0].split() == ["NAME", "TASK", "SUBMISSION", "STATUS", "STARTED", "DURATION", "AGE"]
    assert table[2].split()[0] == "j2"
    assert tables.render(JOBS, objs, "name") == "job/j1\njob/j2"
    assert json.loads(tables.render(JOBS, objs[:1], "json", single=True))["metadata"]["name"] == "j1"
    listed = yaml.safe_load(tables.render(JOBS, objs, "yaml"))
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["j1", "j2"]
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        tables.render(JOBS, objs, "xml")


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:05.153000Z", "0.153s"),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:17.45Z", "12.4s"),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:07:10Z", "3m05s"),
        ("2026-01-02T03:04:05Z", "2026-01-02T05:05:05Z", "2h01m"),
        (None, "2026-01-02T05:05:05Z", ""),
    ],
)
def test_durations(start: str | None, end: str, shown: str) -> None:
    assert seconds_between(start, end) == shown


def test_describe_job_shows_history_with_durations_reason_stacktrace_attempts_and_names() -> None:
    history = [
        {"status": "SUBMITTED", "at": "2026-01-02T03:00:00Z"},
        {"status": "PENDING", "at": "2026-01-02T03:00:01Z"},
        {"status": "RUNNING", "at": "2026-01-02T03:00:01.5Z"},
        {"status": "FAILED", "at": "2026-01-02T03:00:04Z", "reason": "TaskFailed"},
    ]
    text = describe_job(
        job(
            "j1",
            "FAILED",
            history=history,
            finishedAt="2026-01-02T03:00:04Z",
            reason="TaskFailed",
            message="ZeroDivisionError: division by zero",
            stacktrace=["Traceback (most recent call last):\n  File x\nZeroDivisionError: division by zero"],
            batchJob={"name": "j1-abc", "uid": "u"},
            pod="j1-abc-xyz",
            attempts=[{"reason": "OOMKilled"}, {"reason": "TaskFailed"}],
        )
    )
    lines = text.splitlines()
    fields = {" ".join(line.split()) for line in lines}
    assert {"Reason: TaskFailed", "Batch Job: j1-abc", "Pod: j1-abc-xyz", "Finished: 2026-01-02T03:00:04Z"} <= fields
    assert lines[lines.index("History:") + 1].split() == ["STATUS", "AT", "FOR", "REASON"]
    assert lines[lines.index("History:") + 2].split() == ["SUBMITTED", "2026-01-02T03:00:00Z", "1.0s"]
    assert lines[lines.index("History:") + 3].split()[2] == "0.500s"
    assert lines[lines.index("History:") + 5].split() == ["FAILED", "2026-01-02T03:00:04Z", "0.000s", "TaskFailed"]
    assert lines[lines.index("Attempts:") + 1 : lines.index("Attempts:") + 3] == [
        "  1. reason=OOMKilled",
        "  2. reason=TaskFailed",
    ]
    assert lines[-1] == "  ZeroDivisionError: division by zero"


def test_describe_submission_lists_its_jobs() -> None:
    sub = submission("FAILED", task="t1")
    sub["status"].update(counts={"FAILED": 1, "COMPLETED": 1, "RUNNING": 0}, submittedAt="2026-01-02T03:00:00Z")
    sub["status"]["finishedAt"] = "2026-01-02T03:00:12Z"
    text = describe_submission(sub, [job("j1", "FAILED")], NOW)
    fields = {" ".join(line.split()) for line in text.splitlines()}
    assert {"Target: task t1", "Counts: COMPLETED 1, FAILED 1", "Duration: 12.0s", "Jobs: 1/2 finished"} <= fields
    assert text.splitlines()[-1].split()[:4] == ["j1", "t", "sub", "FAILED"]


def test_describe_scenario_shows_tasks_data_nodes_and_submissions() -> None:
    text = describe_scenario(SCENARIO, [submission("COMPLETED")], NOW)
    lines = text.splitlines()
    assert "  t1: m:f (a -> b)" in lines
    nodes = lines.index("Data nodes (3):")
    assert lines[nodes + 2].split() == ["a", "pickle", "SCENARIO", "2026-01-02T03:04:01.000001Z", "yes"]
    assert lines[nodes + 3].split() == ["b", "json", "SCENARIO", "never", "written"]
    assert lines[-1].split()[:4] == ["sub", "s", "scenario", "COMPLETED"]


def test_retry_of_one_failed_task_submits_that_task_alone() -> None:
    jobs = [job("j1", "COMPLETED", "t1"), job("j2", "FAILED", "t2")]
    plan = retry_plan(submission("FAILED"), jobs, SCENARIO)
    assert plan.spec == {"scenario": "s", "task": "t2", "force": False} and plan.rerun == ("t2",)


def test_retry_of_several_tasks_resubmits_the_target_and_names_completed_tasks_that_run_again() -> None:
    scenario = {**SCENARIO, "spec": {**SCENARIO["spec"], "tasks": [*SCENARIO["spec"]["tasks"], {"name": "t3"}]}}
    jobs = [job("j1", "COMPLETED", "t1"), job("j2", "FAILED", "t2"), job("j3", "ABANDONED", "t3")]
    plan = retry_plan(submission("FAILED", sequence="q"), jobs, scenario)
    assert plan.spec == {"scenario": "s", "sequence": "q", "force": False}
    assert plan.rerun == ("t2", "t3") and plan.also_rerun == ()  # t1 is skippable: the operator skips it
    jobs[0]["spec"]["task"] = "t0"  # not skippable
    assert retry_plan(submission("FAILED"), jobs, scenario).also_rerun == ("t0",)


def test_retry_refuses_an_unfinished_submission_and_one_with_nothing_to_retry() -> None:
    with pytest.raises(CliError, match="submission sub is RUNNING and not finished") as unfinished:
        retry_plan(submission("RUNNING"), [job("j1", "RUNNING")], SCENARIO)
    assert unfinished.value.code == 1
    with pytest.raises(CliError, match=r"nothing to retry.*taipod resubmit sub"):
        retry_plan(submission("COMPLETED"), [job("j1", "COMPLETED"), job("j2", "SKIPPED")], SCENARIO)


def test_watch_events_fold_into_the_table() -> None:
    jobs: dict[tuple[str, str], dict[str, Any]] = {}
    assert apply_event(jobs, {"type": "ADDED", "object": job("j1", "PENDING")}) is not None
    apply_event(jobs, {"type": "MODIFIED", "object": job("j1", "RUNNING")})
    assert jobs[("ns", "j1")]["status"]["status"] == "RUNNING"
    assert apply_event(jobs, {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}) is None
    apply_event(jobs, {"type": "DELETED", "object": job("j1", "RUNNING")})
    assert jobs == {}


def test_watch_redraws_the_whole_table_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(statuses=frozenset({"RUNNING"}), wide=False, all_namespaces=False, prog="taipod")
    jobs = {("ns", "j1"): job("j1", "RUNNING"), ("ns", "j2"): job("j2", "COMPLETED")}
    draw_table(args, jobs, tty=True)
    screen = capsys.readouterr().out
    assert screen.startswith(CLEAR) and "taipod watch: 1 job(s)" in screen
    assert [line.split()[0] for line in screen.removeprefix(CLEAR).splitlines()[:-1]] == ["NAME", "j1"]
    draw_table(args, jobs, tty=False)  # a pipe: the table alone
    assert capsys.readouterr().out.splitlines()[1].split()[:4] == ["j1", "t", "sub", "RUNNING"]
