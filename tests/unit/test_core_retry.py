"""Retries (taipod.core.retry): the classification of failures, the decision, the backoff schedule, the spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taipod.core.retry import (
    Attempt,
    Backoff,
    FailureKind,
    RetryPolicy,
    RetryStrategy,
    backoff_delay,
    classify,
    next_attempt_at,
    should_retry,
    strategy_from_spec,
)
from taipod.core.status import Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TASK = ["TaskFailed", "Error", "BackoffLimitExceeded", "DeadlineExceeded"]
INFRA = [
    "OOMKilled",
    "Evicted",
    "PodDeleted",
    "BatchJobDeleted",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "VolumeNotMountable",
    "StorageUnavailable",
    "NodeLost",
]
FINAL = ["SubmissionDeadlineExceeded", "NotCreatedByTaipod", "Canceled"]


@pytest.mark.parametrize("reason", TASK)
def test_task_failures(reason: str) -> None:
    assert classify(reason) is FailureKind.TASK


@pytest.mark.parametrize("reason", INFRA)
def test_infrastructure_errors_include_any_unknown_reason(reason: str) -> None:
    assert classify(reason) is FailureKind.INFRASTRUCTURE


@pytest.mark.parametrize("reason", FINAL)
def test_final_reasons(reason: str) -> None:
    assert classify(reason) is FailureKind.FINAL


def _decisions(policy: RetryPolicy) -> dict[str, bool]:
    strategy = RetryStrategy(limit=3, policy=policy)
    return {reason: should_retry(strategy, reason, 1) for reason in [*TASK, *INFRA, *FINAL]}


def test_policy_on_failure_retries_task_failures_only() -> None:
    decided = _decisions(RetryPolicy.ON_FAILURE)
    assert {r for r, retry in decided.items() if retry} == set(TASK)


def test_policy_on_error_retries_infrastructure_errors_only() -> None:
    decided = _decisions(RetryPolicy.ON_ERROR)
    assert {r for r, retry in decided.items() if retry} == set(INFRA)


def test_policy_always_retries_everything_but_final_reasons() -> None:
    decided = _decisions(RetryPolicy.ALWAYS)
    assert {r for r, retry in decided.items() if retry} == {*TASK, *INFRA}


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 20])
def test_limit_counts_retries_not_attempts(limit: int) -> None:
    strategy = RetryStrategy(limit=limit, policy=RetryPolicy.ALWAYS)
    retried = [n for n in range(1, 30) if should_retry(strategy, "Error", n)]
    assert retried == list(range(1, limit + 1))  # attempts 1..limit fail and retry: limit + 1 attempts in all


def test_no_strategy_never_retries() -> None:
    assert not should_retry(None, "Error", 1)


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (Backoff(), [0, 0, 0, 0]),
        (Backoff(duration=2), [2, 4, 8, 16]),
        (Backoff(duration=2, factor=1), [2, 2, 2, 2]),
        (Backoff(duration=1, factor=3, max_duration=10), [1, 3, 9, 10]),
        (Backoff(duration=5, factor=2, max_duration=0), [0, 0, 0, 0]),
        (Backoff(duration=0.5, factor=1.5), [0.5, 0.75, 1.125, 1.6875]),
    ],
)
def test_backoff_schedule(backoff: Backoff, expected: list[float]) -> None:
    assert [backoff_delay(backoff, n).total_seconds() for n in range(1, 5)] == pytest.approx(expected)


def test_backoff_needs_a_failed_attempt() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        backoff_delay(Backoff(), 0)


def test_next_attempt_from_the_recorded_attempts() -> None:
    strategy = RetryStrategy(limit=3, backoff=Backoff(duration=2))
    first = Attempt(1, "j", T0, Status.FAILED, "Error")
    second = Attempt(2, "j-a2", T0 + timedelta(seconds=10), Status.FAILED, "Error")
    assert next_attempt_at(strategy, ()) is None
    assert next_attempt_at(strategy, (first,)) == T0 + timedelta(seconds=2)
    assert next_attempt_at(strategy, (first, second)) == T0 + timedelta(seconds=14)


def test_strategy_from_spec_task_over_scenario_default() -> None:
    default = {"limit": 2, "policy": "OnError"}
    task = {"retries": {"limit": 4, "policy": "Always", "backoff": {"duration": 3, "factor": 1.5, "maxDuration": 9}}}
    assert strategy_from_spec({}, default) == RetryStrategy(2, RetryPolicy.ON_ERROR)
    assert strategy_from_spec(task, default) == RetryStrategy(4, RetryPolicy.ALWAYS, Backoff(3, 1.5, 9))
    assert strategy_from_spec({"retries": {"limit": 1}}, None) == RetryStrategy(1, RetryPolicy.ON_FAILURE, Backoff())
    assert strategy_from_spec({"retries": {"limit": 0}}, default) is None  # limit 0: no retry, even with a default
    assert strategy_from_spec(None, None) is None
