"""The reconcile pass (taipod.core.plan) on hand-made snapshots: every decision of the operator, without a cluster."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.dag import DataNodeDef, TaskDef, build_dag
from taipod.core.history import Transition
from taipod.core.plan import (
    JobFacts,
    PodFacts,
    RunFacts,
    ScenarioFacts,
    SubmissionFacts,
    parse_termination_message,
    plan_scenario,
)
from taipod.core.readiness import DataNodeState
from taipod.core.status import Status, SubmissionStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)
DAG = build_dag(
    [DataNodeDef("a", has_default_data=True), DataNodeDef("b"), DataNodeDef("c"), DataNodeDef("x")],
    [
        TaskDef("first", "taipod.samples:double", ("a",), ("b",)),
        TaskDef("second", "taipod.samples:double", ("b",), ("c",)),
        TaskDef("lone", "taipod.samples:double", ("a",), ("x",), skippable=True),
    ],
)
WRITTEN = DataNodeState(last_edit_date=T0)


def job(task: str, *statuses: Status, sub: str = "s1", **extra: object) -> JobFacts:
    history = tuple(Transition(s, T0 + timedelta(seconds=i)) for i, s in enumerate(statuses))
    return JobFacts(
        name=f"{sub}-{task}", submission=sub, task=task, force=False, created_at=T0, history=history, **extra
    )  # type: ignore[arg-type]


def run(phase: str | None = None, **pod: object) -> RunFacts:
    facts = PodFacts(name="pod", phase=phase, created_at=T0, **pod) if phase else None  # type: ignore[arg-type]
    return RunFacts("batch", "uid-1", pod=facts)


def facts(
    *jobs: JobFacts, states: dict[str, DataNodeState] | None = None, created: bool = True, **extra: object
) -> ScenarioFacts:
    subs = sorted({j.submission for j in jobs})
    return ScenarioFacts(
        DAG,
        states if states is not None else {"a": WRITTEN},
        {},
        [SubmissionFacts(s, T0, ("first", "second", "lone"), created) for s in subs],
        list(jobs),
        **extra,
    )  # type: ignore[arg-type]


def moves(plan: object, name: str) -> list[Status]:
    change = plan.job_changes.get(name)  # type: ignore[attr-defined]
    return [t.status for t in change.transitions] if change else []


def test_jobs_wait_until_their_submission_created_every_job() -> None:
    plan = plan_scenario(facts(job("first"), created=False), NOW)
    assert plan.job_changes == {}


def test_submit_decides_pending_or_blocked_because_outputs_are_locked() -> None:
    plan = plan_scenario(facts(job("first"), job("second"), job("lone")), NOW)
    assert moves(plan, "s1-first") == [Status.PENDING]
    assert plan.job_changes["s1-first"].create_batch
    assert moves(plan, "s1-second") == [Status.BLOCKED]  # b is locked by first, and never written
    assert plan.locks["b"] == ("s1-first",)
    assert plan.submissions["s1"].status is SubmissionStatus.PENDING


def test_completion_records_the_write_and_unblocks_in_the_same_pass() -> None:
    report = '{"ok": true, "outputs": {"b": {"value": 42}}}'
    first = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        batch_recorded="uid-1",
        run=run("Succeeded", started=True, termination_message=report, exit_code=0),
    )
    second = job("second", Status.SUBMITTED, Status.BLOCKED)
    plan = plan_scenario(facts(first, second), NOW)
    assert moves(plan, "s1-first") == [Status.RUNNING, Status.COMPLETED]
    write = plan.data_node_writes["b"]
    assert (write.value, write.has_value, write.at, write.job) == (42, True, NOW, "s1-first")
    assert moves(plan, "s1-second") == [Status.PENDING]
    assert plan.job_changes["s1-second"].create_batch


def test_running_pod_makes_running() -> None:
    plan = plan_scenario(
        facts(job("first", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1", run=run("Running", started=True))),
        NOW,
    )
    assert moves(plan, "s1-first") == [Status.RUNNING]


GRACE = timedelta(seconds=0.25)


def test_a_pod_just_seen_running_is_recorded_running_after_the_grace_with_the_time_it_was_seen() -> None:
    def pending(seen: datetime) -> JobFacts:
        pod = run("Running", started=True, running_seen_at=seen)
        return job("first", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1", run=pod)

    early = plan_scenario(facts(pending(NOW - timedelta(seconds=0.1)), running_after=GRACE), NOW)
    assert moves(early, "s1-first") == [] and early.requeue_after == pytest.approx(0.15)
    seen = NOW - timedelta(seconds=0.3)
    late = plan_scenario(facts(pending(seen), running_after=GRACE), NOW)
    assert [(t.status, t.at) for t in late.job_changes["s1-first"].transitions] == [(Status.RUNNING, seen)]
    assert late.job_changes["s1-first"].pod == "pod"


def test_a_task_ending_within_the_grace_is_written_once_running_and_completed() -> None:
    seen = NOW - timedelta(seconds=0.1)
    pod = run("Succeeded", started=True, exit_code=0, termination_message='{"ok": true}', running_seen_at=seen)
    first = job("first", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1", run=pod)
    plan = plan_scenario(facts(first, running_after=GRACE), NOW)
    transitions = plan.job_changes["s1-first"].transitions
    assert [(t.status, t.at) for t in transitions] == [(Status.RUNNING, seen), (Status.COMPLETED, NOW)]


def test_a_running_job_whose_pod_is_recorded_needs_no_write() -> None:
    running = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=run("Running", started=True),
        pod_recorded="pod",
    )
    assert "s1-first" not in plan_scenario(facts(running), NOW).job_changes


def test_failure_keeps_stacktrace_and_abandons_blocked_dependents_only() -> None:
    report = '{"ok": false, "error": "ValueError: no", "stacktrace": "Traceback...\\nValueError: no"}'
    first = job(
        "first",
        Status.SUBMITTED,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=run("Failed", started=True, termination_message=report, exit_code=1, terminated_reason="Error"),
    )
    plan = plan_scenario(
        facts(
            first,
            job("second", Status.SUBMITTED, Status.BLOCKED),
            job("lone", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1", run=run("Running", started=True)),
        ),
        NOW,
    )
    change = plan.job_changes["s1-first"]
    assert moves(plan, "s1-first") == [Status.FAILED]
    assert (change.reason, change.message, change.exit_code) == ("TaskFailed", "ValueError: no", 1)
    assert change.stacktrace == ["Traceback...\nValueError: no"]
    assert moves(plan, "s1-second") == [Status.ABANDONED]
    assert moves(plan, "s1-lone") == [Status.RUNNING]  # an independent branch goes on
    assert plan.submissions["s1"].status is SubmissionStatus.FAILED


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        ({"terminated_reason": "OOMKilled", "exit_code": 137}, "OOMKilled"),
        ({"pod_reason": "Evicted", "pod_message": "low on memory"}, "Evicted"),
        ({"terminated_reason": "Error", "exit_code": 3, "termination_message": "not json"}, "Error"),
    ],
)
def test_pod_failures_without_python_exception_have_a_reason(pod: dict[str, object], reason: str) -> None:
    first = job("first", Status.SUBMITTED, Status.RUNNING, batch_recorded="uid-1", run=run("Failed", **pod))
    plan = plan_scenario(facts(first), NOW)
    assert plan.job_changes["s1-first"].reason == reason
    assert moves(plan, "s1-first") == [Status.FAILED]


def test_deleted_pod_waits_for_its_job_condition_then_names_the_cause() -> None:
    deleting = run("Failed", deleting=True, started=True, exit_code=143)
    first = job("first", Status.SUBMITTED, Status.RUNNING, batch_recorded="uid-1", run=deleting)
    assert moves(plan_scenario(facts(first), NOW), "s1-first") == []
    for condition, reason in (("DeadlineExceeded", "DeadlineExceeded"), ("BackoffLimitExceeded", "PodDeleted")):
        failed = replace(first, run=replace(deleting, failed_reason=condition))
        assert plan_scenario(facts(failed), NOW).job_changes["s1-first"].reason == reason


def test_a_pod_gone_while_running_is_pod_deleted_not_the_job_controllers_backoff() -> None:
    vanished = job(
        "first",
        Status.SUBMITTED,
        Status.RUNNING,
        batch_recorded="uid-1",
        run=replace(run("Running", started=True), pod=None, failed_reason="BackoffLimitExceeded"),
    )
    change = plan_scenario(facts(vanished), NOW).job_changes["s1-first"]
    assert change.reason == "PodDeleted" and change.message == "the pod was deleted before the task finished"


def test_a_deleted_upstream_job_abandons_its_not_started_dependents() -> None:
    second = job("second", Status.SUBMITTED, Status.BLOCKED)
    plan = plan_scenario(facts(second), NOW)  # the submission planned "first" too, whose job is gone
    assert moves(plan, "s1-second") == [Status.ABANDONED]
    assert plan.job_changes["s1-second"].transitions[-1].reason == "the job of upstream task first was deleted"


def test_batch_job_deleted_out_of_band_fails_the_job() -> None:
    plan = plan_scenario(facts(job("first", Status.SUBMITTED, Status.RUNNING, batch_recorded="uid-1")), NOW)
    assert plan.job_changes["s1-first"].reason == "BatchJobDeleted"


def test_image_pull_failure_fails_only_after_the_grace_period() -> None:
    pulling = job(
        "first",
        Status.SUBMITTED,
        Status.PENDING,
        batch_recorded="uid-1",
        run=run("Pending", waiting_reason="ImagePullBackOff", waiting_message="no such image"),
    )
    early = plan_scenario(facts(pulling, image_pull_grace=timedelta(minutes=5)), NOW)
    assert moves(early, "s1-first") == [] and early.requeue_after == pytest.approx(240)
    late = plan_scenario(facts(pulling, image_pull_grace=timedelta(seconds=30)), NOW)
    assert late.job_changes["s1-first"].reason == "ImagePullBackOff"
    assert late.job_changes["s1-first"].delete_batch


def test_a_pod_kept_off_every_node_by_its_volume_fails_naming_the_access_mode() -> None:
    conflict = "0/2 nodes are available: 1 node(s) had volume node affinity conflict, 1 node(s) didn't match selector"
    stuck = job(
        "first", Status.SUBMITTED, Status.PENDING, batch_recorded="uid-1", run=run("Pending", unschedulable=conflict)
    )
    early = plan_scenario(facts(stuck, image_pull_grace=timedelta(minutes=5)), NOW)
    assert moves(early, "s1-first") == [] and early.requeue_after is not None
    late = plan_scenario(facts(stuck, image_pull_grace=timedelta(seconds=30)), NOW)
    change = late.job_changes["s1-first"]
    assert change.reason == "VolumeNotMountable" and "ReadWriteOnce" in (change.message or "")
    assert "volume node affinity conflict" in (change.message or "") and change.delete_batch
    # Unschedulable for another reason (no room yet, a queue): it stays PENDING.
    waiting = replace(stuck, run=run("Pending", unschedulable="0/2 nodes are available: 2 Insufficient cpu."))
    assert moves(plan_scenario(facts(waiting, image_pull_grace=timedelta(seconds=30)), NOW), "s1-first") == []


def test_skip_rule_and_force() -> None:
    states = {"a": WRITTEN, "x": DataNodeState(last_edit_date=T0 + timedelta(seconds=1))}
    plan = plan_scenario(facts(job("lone"), states=states), NOW)
    assert moves(plan, "s1-lone") == [Status.PENDING, Status.SKIPPED]
    assert not plan.job_changes["s1-lone"].create_batch
    forced = plan_scenario(facts(replace(job("lone"), force=True), states=states), NOW)
    assert forced.job_changes["s1-lone"].create_batch


def test_a_dispatched_job_is_never_re_decided() -> None:
    # created its batch Job, then the operator died before recording it: adopt it, do not skip or create again
    states = {"a": WRITTEN, "x": DataNodeState(last_edit_date=T0 + timedelta(seconds=1))}
    adopted = plan_scenario(facts(job("lone", Status.SUBMITTED, Status.BLOCKED, run=run()), states=states), NOW)
    change = adopted.job_changes["s1-lone"]
    assert moves(adopted, "s1-lone") == [Status.PENDING]
    assert (change.create_batch, change.record_batch) == (False, ("batch", "uid-1"))


@pytest.mark.parametrize(
    ("status", "expect_target", "expect_dependent", "outcome"),
    [
        (Status.BLOCKED, [Status.CANCELED], [Status.ABANDONED], "canceled"),
        (Status.PENDING, [Status.CANCELED], [Status.ABANDONED], "canceled"),
        (Status.RUNNING, [], [Status.ABANDONED], "is running and cannot be canceled"),
        # the refused cancel changes nothing; the dependent is abandoned because its upstream failed
        (Status.FAILED, [], [Status.ABANDONED], "has already failed and cannot be canceled"),
    ],
)
def test_cancel(status: Status, expect_target: list[Status], expect_dependent: list[Status], outcome: str) -> None:
    extra = {"batch_recorded": "uid-1", "run": run("Running", started=True)} if status is Status.RUNNING else {}
    target = job("first", Status.SUBMITTED, status, cancel_request="true", **extra)
    plan = plan_scenario(facts(target, job("second", Status.SUBMITTED, Status.BLOCKED)), NOW)
    assert moves(plan, "s1-first") == expect_target
    assert moves(plan, "s1-second") == expect_dependent
    assert outcome in (plan.job_changes["s1-first"].cancel_outcome or "")
    if status is Status.RUNNING:
        assert plan.job_changes["s1-first"].outputs_released
        assert plan.submissions["s1"].status is SubmissionStatus.UNDEFINED


def test_cancel_terminate_stops_a_running_job() -> None:
    target = job(
        "first",
        Status.SUBMITTED,
        Status.RUNNING,
        cancel_request="terminate",
        batch_recorded="uid-1",
        run=run("Running", started=True),
    )
    plan = plan_scenario(facts(target), NOW)
    assert moves(plan, "s1-first") == [Status.CANCELED]
    assert plan.job_changes["s1-first"].delete_batch


def test_handled_cancel_is_not_repeated() -> None:
    target = job("first", Status.SUBMITTED, Status.CANCELED, cancel_request="true", cancel_handled=True)
    assert plan_scenario(facts(target), NOW).job_changes == {}


def test_two_submissions_lock_a_node_until_both_are_done() -> None:
    older = job("first", Status.SUBMITTED, Status.COMPLETED)
    newer = job(
        "first", Status.SUBMITTED, Status.PENDING, sub="s2", batch_recorded="uid-1", run=run("Running", started=True)
    )
    waiting = job("second", Status.SUBMITTED, Status.BLOCKED)
    plan = plan_scenario(facts(older, newer, waiting, states={"a": WRITTEN, "b": WRITTEN}), NOW)
    assert moves(plan, "s1-second") == []  # b is still being written by s2
    assert plan.locks["b"] == ("s2-first",)


def test_external_locks_block_shared_nodes() -> None:
    shared = replace(facts(job("first"), job("second"), states={"a": WRITTEN}), external_locks={"a": frozenset({"o"})})
    assert moves(plan_scenario(shared, NOW), "s1-first") == [Status.BLOCKED]


def test_plan_is_idempotent_once_applied() -> None:
    """A second pass over the state the first one wrote changes nothing."""
    jobs = [job("first"), job("second"), job("lone")]
    plan = plan_scenario(facts(*jobs), NOW)
    applied = []
    for j in jobs:
        change = plan.job_changes[j.name]
        history = (Transition(Status.SUBMITTED, T0), *change.transitions)
        batch = {"batch_recorded": "uid-1", "run": run()} if change.create_batch else {}
        applied.append(replace(j, history=history, **batch))  # type: ignore[arg-type]
    again = plan_scenario(facts(*applied), NOW)
    assert all(c.is_empty() for c in again.job_changes.values()), again.job_changes


def test_termination_message_parsing() -> None:
    assert parse_termination_message(None).ok is None
    assert parse_termination_message("plain text").raw == "plain text"
    ok = parse_termination_message('{"ok": true, "outputs": {"a": {"value": [1]}, "b": {}}}')
    assert ok.ok is True and dict(ok.values) == {"a": [1]}


def test_two_failed_roots_abandon_their_shared_dependents_once_naming_the_first() -> None:
    # p -> (l, r) both FAILED; l and r feed j; j feeds k: j and k are abandoned once, with the first root named.
    dag = build_dag(
        [DataNodeDef("p", has_default_data=True), *(DataNodeDef(n) for n in ("l", "r", "j", "k"))],
        [
            TaskDef("left", "len", ("p",), ("l",)),
            TaskDef("right", "len", ("p",), ("r",)),
            TaskDef("join", "len", ("l", "r"), ("j",)),
            TaskDef("last", "len", ("j",), ("k",)),
        ],
    )
    jobs = [
        job("left", Status.SUBMITTED, Status.PENDING, Status.FAILED),
        job("right", Status.SUBMITTED, Status.PENDING, Status.FAILED),
        job("join", Status.SUBMITTED, Status.BLOCKED),
        job("last", Status.SUBMITTED, Status.BLOCKED),
    ]
    subs = [SubmissionFacts("s1", T0, ("left", "right", "join", "last"), True)]
    plan = plan_scenario(ScenarioFacts(dag, {"p": WRITTEN}, {}, subs, jobs), NOW)
    for name in ("s1-join", "s1-last"):
        (transition,) = plan.job_changes[name].transitions
        assert (transition.status, transition.reason) == (Status.ABANDONED, "upstream job s1-left failed")
    assert plan.submissions["s1"].status is SubmissionStatus.FAILED
