"""Job decisions: initial status, subsequent jobs, cancel, abandon (semantics.md §2.3, §5, §6, decisions)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taipod.core.dag import TaskDef
from taipod.core.jobs import CancelPlan, JobView, abandon_on_failure, initial_status, plan_cancel, subsequent_jobs
from taipod.core.readiness import DataNodeState
from taipod.core.status import NOT_STARTED, Status

S = "SUBMISSION_1"


def job(
    id: str,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    status: Status = Status.BLOCKED,
    submission: str = S,
) -> JobView:
    return JobView(id, f"task_{id}", submission, status, inputs, outputs)


# A -x-> B -y-> C -c_out->      (submission 1)
#   -x-> D                      (submission 2: never touched)
# E reads z, writes e_out      (submission 1, independent)
def scenario(target_status: Status) -> tuple[JobView, list[JobView]]:
    a = job("A", ("src",), ("x",), target_status)
    jobs = [
        a,
        job("B", ("x",), ("y",)),
        job("C", ("y", "src"), ("c_out",)),
        job("D", ("x",), ("d_out",), submission="SUBMISSION_2"),
        job("E", ("z",), ("e_out",), Status.PENDING),
    ]
    return a, jobs


DEPENDENTS_UNLOCK = frozenset({"x", "y", "c_out"})
CANCEL_TABLE: dict[Status, CancelPlan] = {
    Status.SUBMITTED: CancelPlan(None, frozenset({"A"}), frozenset({"B", "C"}), None, DEPENDENTS_UNLOCK),
    Status.BLOCKED: CancelPlan(None, frozenset({"A"}), frozenset({"B", "C"}), None, DEPENDENTS_UNLOCK),
    Status.PENDING: CancelPlan(None, frozenset({"A"}), frozenset({"B", "C"}), None, DEPENDENTS_UNLOCK),
    Status.RUNNING: CancelPlan(
        None,
        frozenset(),
        frozenset({"B", "C"}),
        "job A is running and cannot be canceled; its dependents are abandoned",
        DEPENDENTS_UNLOCK,
    ),
    Status.COMPLETED: CancelPlan(
        None,
        frozenset(),
        frozenset({"B", "C"}),
        "job A has already been completed and cannot be canceled; its dependents are abandoned",
        DEPENDENTS_UNLOCK,
    ),
    Status.SKIPPED: CancelPlan(
        None,
        frozenset(),
        frozenset({"B", "C"}),
        "job A has already been skipped and cannot be canceled; its dependents are abandoned",
        DEPENDENTS_UNLOCK,
    ),
    Status.FAILED: CancelPlan(
        "job A has already failed and cannot be canceled", frozenset(), frozenset(), None, frozenset()
    ),
    Status.CANCELED: CancelPlan("job A has already been canceled", frozenset(), frozenset(), None, frozenset()),
    Status.ABANDONED: CancelPlan(
        "job A has already been abandoned and cannot be canceled", frozenset(), frozenset(), None, frozenset()
    ),
}


def test_cancel_table_covers_every_status() -> None:
    assert set(CANCEL_TABLE) == set(Status)


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.name)
def test_plan_cancel_per_target_status(status: Status) -> None:
    target, jobs = scenario(status)
    assert plan_cancel(target, jobs) == CANCEL_TABLE[status]
    assert plan_cancel(target, iter(jobs)) == CANCEL_TABLE[status]  # any iterable, consumed once


@pytest.mark.parametrize("status", [Status.RUNNING, Status.COMPLETED, Status.SKIPPED], ids=lambda s: s.name)
def test_unchanged_target_without_dependents_says_so(status: Status) -> None:
    target = job("A", (), ("x",), status)
    plan = plan_cancel(target, [target])
    assert plan.target_unchanged is not None
    assert plan.target_unchanged.endswith("; it has no dependents to abandon")
    assert plan.unlock == {"x"}  # even a running target's outputs are unlocked, as in Taipy
    assert plan.canceled == plan.abandoned == frozenset()


def test_terminate_running_extension_cancels_the_running_target() -> None:
    target, jobs = scenario(Status.RUNNING)
    plan = plan_cancel(target, jobs, terminate_running=True)
    assert plan == CancelPlan(None, frozenset({"A"}), frozenset({"B", "C"}), None, DEPENDENTS_UNLOCK)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.SKIPPED, Status.PENDING], ids=lambda s: s.name)
def test_terminate_running_changes_nothing_for_other_statuses(status: Status) -> None:
    target, jobs = scenario(status)
    assert plan_cancel(target, jobs, terminate_running=True) == plan_cancel(target, jobs)


def test_cancel_ignores_started_dependents_and_does_not_propagate_through_them() -> None:
    target = job("A", (), ("x",), Status.PENDING)
    jobs = [
        target,
        job("B", ("x",), ("y",), Status.RUNNING),
        job("C", ("y",), ("z",), Status.BLOCKED),  # only reachable through a running job
        job("P", ("x",), ("p",), Status.PENDING),  # not started: abandoned (the decisions widen Taipy's BLOCKED)
        job("Q", ("p",), (), Status.SUBMITTED),
        job("F", ("x",), (), Status.COMPLETED),
    ]
    plan = plan_cancel(target, jobs)
    assert plan.canceled == {"A"}
    assert plan.abandoned == {"P", "Q"}
    assert plan.unlock == {"x", "p"}


def test_subsequent_jobs_never_include_the_target_even_with_a_self_loop() -> None:
    target = job("A", ("x",), ("x",), Status.BLOCKED)
    other = job("B", ("x",), ("x",))
    assert subsequent_jobs(target, [target, other]) == {"B"}


def test_abandon_on_failure_is_the_subsequent_jobs() -> None:
    failed, jobs = scenario(Status.FAILED)
    assert abandon_on_failure(failed, jobs) == {"B", "C"}
    assert abandon_on_failure(job("Z", (), ("nothing_reads_this",), Status.FAILED), jobs) == frozenset()


def test_subsequent_jobs_handles_many_jobs() -> None:
    n = 20000
    jobs = [job(f"J{i}", (f"d{i}",), (f"d{i + 1}",)) for i in range(n)]
    target = replace(jobs[0], status=Status.RUNNING)
    result = subsequent_jobs(target, jobs)
    assert len(result) == n - 1


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({"a": DataNodeState(last_edit_date=None)}, Status.BLOCKED),
        ({}, Status.BLOCKED),
        ({"a": DataNodeState(edit_in_progress=True)}, Status.BLOCKED),
    ],
)
def test_initial_status_blocked(states: dict[str, DataNodeState], expected: Status) -> None:
    assert initial_status(TaskDef("t", "print", ("a",)), states) is expected


def test_initial_status_pending() -> None:
    from datetime import UTC, datetime

    written = DataNodeState(last_edit_date=datetime(2024, 1, 1, tzinfo=UTC))
    assert initial_status(TaskDef("t", "print", ("a",), ("b",)), {"a": written}) is Status.PENDING
    assert initial_status(TaskDef("t", "print"), {}) is Status.PENDING  # no inputs: nothing to wait for


# ---------------------------------------------------------------------------------------------------------------
# Property-based: subsequent_jobs on random job sets

DATA_NODES = [f"d{i}" for i in range(8)]
SUBMISSIONS = ["S1", "S2"]


@st.composite
def job_sets(draw: st.DrawFn) -> tuple[JobView, list[JobView]]:
    n = draw(st.integers(1, 14))
    jobs = [
        JobView(
            id=f"J{i}",
            task=f"t{i}",
            submission=draw(st.sampled_from(SUBMISSIONS)),
            status=draw(st.sampled_from(list(Status))),
            inputs=tuple(draw(st.lists(st.sampled_from(DATA_NODES), unique=True, max_size=3))),
            outputs=tuple(draw(st.lists(st.sampled_from(DATA_NODES), unique=True, max_size=3))),
        )
        for i in range(n)
    ]
    return draw(st.sampled_from(jobs)), jobs


def least_fixpoint(target: JobView, jobs: list[JobView]) -> set[str]:
    """Brute force: repeat full scans until nothing changes."""
    candidates = [j for j in jobs if j.submission == target.submission and j.status in NOT_STARTED and j != target]
    found: set[str] = set()
    reached = set(target.outputs)
    while True:
        new = {j.id for j in candidates if j.id not in found and reached & set(j.inputs)}
        if not new:
            return found
        found |= new
        reached |= {dn for j in candidates if j.id in new for dn in j.outputs}


@settings(max_examples=250, deadline=None)
@given(job_sets())
def test_subsequent_jobs_properties(case: tuple[JobView, list[JobView]]) -> None:
    target, jobs = case
    result = subsequent_jobs(target, jobs)
    by_id = {j.id: j for j in jobs}
    assert target.id not in result
    assert all(by_id[i].submission == target.submission for i in result)  # same submission only
    assert all(by_id[i].status in NOT_STARTED for i in result)  # only jobs that have not started
    # Closed: no further not-started job of the submission reads what the target or the result writes.
    reached = set(target.outputs) | {dn for i in result for dn in by_id[i].outputs}
    for j in jobs:
        if j.submission == target.submission and j.status in NOT_STARTED and j.id != target.id:
            assert (j.id in result) >= bool(reached & set(j.inputs))
    assert result == least_fixpoint(target, jobs)
    # The same with the jobs of the other submission removed: they never matter.
    assert subsequent_jobs(target, [j for j in jobs if j.submission == target.submission]) == result


@settings(max_examples=150, deadline=None)
@given(job_sets())
def test_plan_cancel_properties(case: tuple[JobView, list[JobView]]) -> None:
    target, jobs = case
    plan = plan_cancel(target, jobs)
    if target.status in {Status.FAILED, Status.CANCELED, Status.ABANDONED}:
        assert plan.refused is not None
        assert plan.refused.startswith(f"job {target.id} has already ")
        assert plan == CancelPlan(plan.refused, frozenset(), frozenset(), None, frozenset())
        return
    assert plan.refused is None
    assert plan.abandoned == subsequent_jobs(target, jobs)
    assert (plan.canceled == {target.id}) == (target.status in NOT_STARTED)
    assert (plan.target_unchanged is not None) == (target.status not in NOT_STARTED)
    by_id = {j.id: j for j in jobs}
    assert plan.unlock == set(target.outputs) | {dn for i in plan.abandoned for dn in by_id[i].outputs}
