"""Status history, derived timestamps and durations (semantics.md §2.4, §3.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.history import (
    JobTimes,
    SubmissionTimes,
    Transition,
    append,
    blocked_duration,
    current_status,
    execution_duration,
    job_times,
    pending_duration,
    submission_execution_duration,
    submission_times,
)
from taipod.core.status import FINISHED, Status

T0 = datetime(2024, 10, 24, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def history(*steps: tuple[Status, float]) -> tuple[Transition, ...]:
    result: tuple[Transition, ...] = ()
    for status, seconds in steps:
        result = append(result, status, at(seconds))
    return result


NOW = at(1000)

# ---------------------------------------------------------------------------------------------------------------
# append


def test_append_records_status_time_and_reason() -> None:
    h = append((), Status.SUBMITTED, at(0))
    h = append(h, Status.PENDING, at(1), "inputs ready")
    assert h == (Transition(Status.SUBMITTED, at(0)), Transition(Status.PENDING, at(1), "inputs ready"))
    assert current_status(h) is Status.PENDING
    assert current_status(()) is None


def test_append_is_idempotent() -> None:
    h = history((Status.SUBMITTED, 0), (Status.RUNNING, 5))
    assert append(h, Status.RUNNING, at(9), "again") == h
    assert append(list(h), Status.RUNNING, at(9)) == h  # any sequence in, a tuple out
    done = append(h, Status.COMPLETED, at(10))
    assert append(done, Status.COMPLETED, at(11)) == done


def test_append_does_not_mutate_its_input() -> None:
    h = [Transition(Status.SUBMITTED, at(0))]
    append(h, Status.BLOCKED, at(1))
    assert h == [Transition(Status.SUBMITTED, at(0))]


@pytest.mark.parametrize("finished", [s for s in Status if s in FINISHED], ids=lambda s: s.name)
@pytest.mark.parametrize("following", list(Status), ids=lambda s: s.name)
def test_append_refuses_leaving_a_finished_status(finished: Status, following: Status) -> None:
    h = history((Status.SUBMITTED, 0), (finished, 1))
    if following is finished:
        assert append(h, following, at(2)) == h
    else:
        with pytest.raises(ValueError, match="finished"):
            append(h, following, at(2))


def test_append_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        append((), Status.SUBMITTED, datetime(2024, 1, 1))  # naive on purpose


def test_a_status_entered_twice_keeps_both_records() -> None:
    # Not produced by the orchestrator, but the history keeps every transition and the times use the last one.
    h = history((Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 2), (Status.BLOCKED, 3))
    h = append(h, Status.PENDING, at(7))
    assert len(h) == 5
    assert job_times(h).blocked_at == at(3)
    assert job_times(h).pending_at == at(7)


# ---------------------------------------------------------------------------------------------------------------
# job_times and durations, per §2.4


def test_job_times_of_a_completed_job() -> None:
    h = history(
        (Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 4), (Status.RUNNING, 10), (Status.COMPLETED, 30)
    )
    assert job_times(h) == JobTimes(at(0), at(1), at(4), at(10), at(30))


def test_job_times_of_an_unfinished_job_and_of_nothing() -> None:
    assert job_times(history((Status.SUBMITTED, 0), (Status.PENDING, 1))) == JobTimes(at(0), None, at(1), None, None)
    assert job_times(()) == JobTimes()


# (name, steps, execution, pending, blocked) with NOW = 1000 s after T0
DURATION_CASES = [
    ("never went anywhere", [(Status.SUBMITTED, 0)], None, None, None),
    ("blocked now", [(Status.SUBMITTED, 0), (Status.BLOCKED, 1)], None, None, 999.0),
    ("pending now", [(Status.SUBMITTED, 0), (Status.PENDING, 2)], None, 998.0, None),
    ("blocked then pending now", [(Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 5)], None, 995.0, 4.0),
    ("running now", [(Status.SUBMITTED, 0), (Status.PENDING, 2), (Status.RUNNING, 10)], 990.0, 8.0, None),
    (
        "completed",
        [(Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 5), (Status.RUNNING, 10), (Status.COMPLETED, 40)],
        30.0,
        5.0,
        4.0,
    ),
    ("failed", [(Status.SUBMITTED, 0), (Status.PENDING, 1), (Status.RUNNING, 3), (Status.FAILED, 4.5)], 1.5, 2.0, None),
    # Taipy raises KeyError for these two (§2.4); taipod measures pending up to finished_at.
    ("pending then skipped", [(Status.SUBMITTED, 0), (Status.PENDING, 2), (Status.SKIPPED, 3)], None, 1.0, None),
    ("pending then canceled", [(Status.SUBMITTED, 0), (Status.PENDING, 2), (Status.CANCELED, 12)], None, 10.0, None),
    ("pending then abandoned", [(Status.SUBMITTED, 0), (Status.PENDING, 2), (Status.ABANDONED, 7)], None, 5.0, None),
    (
        "pending then failed (image pull)",
        [(Status.SUBMITTED, 0), (Status.PENDING, 2), (Status.FAILED, 62)],
        None,
        60,
        None,
    ),
    (
        "blocked, pending then skipped",
        [(Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 3), (Status.SKIPPED, 4)],
        None,
        1.0,
        2.0,
    ),
    ("blocked then abandoned", [(Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.ABANDONED, 21)], None, None, 20.0),
    ("blocked then canceled", [(Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.CANCELED, 6)], None, None, 5.0),
    ("submitted then canceled", [(Status.SUBMITTED, 0), (Status.CANCELED, 6)], None, None, None),
    (
        "running then canceled (terminate extension)",
        [(Status.SUBMITTED, 0), (Status.PENDING, 1), (Status.RUNNING, 2), (Status.CANCELED, 9)],
        7.0,
        1.0,
        None,
    ),
    ("empty history", [], None, None, None),
    ("sub-second precision", [(Status.PENDING, 0), (Status.RUNNING, 0.25), (Status.COMPLETED, 0.75)], 0.5, 0.25, None),
]


@pytest.mark.parametrize(
    ("steps", "execution", "pending", "blocked"),
    [case[1:] for case in DURATION_CASES],
    ids=[case[0] for case in DURATION_CASES],
)
def test_durations(
    steps: list[tuple[Status, float]], execution: float | None, pending: float | None, blocked: float | None
) -> None:
    h = history(*steps)
    assert execution_duration(h, NOW) == execution
    assert pending_duration(h, NOW) == pending
    assert blocked_duration(h, NOW) == blocked
    for value in (execution_duration(h, NOW), pending_duration(h, NOW), blocked_duration(h, NOW)):
        assert value is None or isinstance(value, float)


@pytest.mark.parametrize("finished", [s for s in Status if s in FINISHED], ids=lambda s: s.name)
def test_pending_duration_never_raises_for_any_finished_path(finished: Status) -> None:
    for before in ([Status.PENDING], [Status.BLOCKED, Status.PENDING], [Status.PENDING, Status.RUNNING]):
        steps = [(Status.SUBMITTED, 0.0)] + [(s, float(k + 1)) for k, s in enumerate(before)] + [(finished, 10.0)]
        h = history(*steps)
        value = pending_duration(h, NOW)
        assert value is not None
        assert 0 < value <= 10


def test_finished_durations_do_not_depend_on_now() -> None:
    h = history(
        (Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 2), (Status.RUNNING, 3), (Status.COMPLETED, 4)
    )
    later = NOW + timedelta(days=7)
    for fn in (execution_duration, pending_duration, blocked_duration):
        assert fn(h, NOW) == fn(h, later)


# ---------------------------------------------------------------------------------------------------------------
# Submission times (§3.1)


def test_submission_times_all_finished() -> None:
    histories = [
        history((Status.SUBMITTED, 0), (Status.PENDING, 1), (Status.RUNNING, 5), (Status.COMPLETED, 9)),
        history(
            (Status.SUBMITTED, 0.5), (Status.BLOCKED, 1), (Status.PENDING, 9), (Status.RUNNING, 10), (Status.FAILED, 20)
        ),
        history((Status.SUBMITTED, 1), (Status.BLOCKED, 2), (Status.ABANDONED, 20.5)),
    ]
    times = submission_times(histories, NOW)
    assert times == SubmissionTimes(at(0), at(5), at(20.5))
    submitted_at, run_at, finished_at = times  # a plain 3-tuple too
    assert (submitted_at, run_at, finished_at) == (at(0), at(5), at(20.5))
    assert submission_execution_duration(histories, NOW) == 15.5


def test_submission_times_with_an_unfinished_job() -> None:
    histories = [
        history((Status.SUBMITTED, 2), (Status.PENDING, 3), (Status.RUNNING, 4), (Status.COMPLETED, 9)),
        history((Status.SUBMITTED, 2), (Status.BLOCKED, 3)),
    ]
    assert submission_times(histories, NOW) == (at(2), at(4), None)
    assert submission_execution_duration(histories, NOW) == 996.0


def test_submission_times_nothing_ran() -> None:
    histories = [history((Status.SUBMITTED, 2), (Status.CANCELED, 3)), history((Status.SUBMITTED, 1))]
    assert submission_times(histories, NOW) == (at(1), None, None)
    assert submission_execution_duration(histories, NOW) is None


def test_submission_times_of_no_jobs() -> None:
    assert submission_times([], NOW) == (None, None, None)
    assert submission_times(iter([]), NOW) == (None, None, None)
    assert submission_execution_duration([], NOW) is None
