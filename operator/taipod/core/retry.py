"""Retries, taipod's extension to Taipy (after Argo's ``retryStrategy``): which failures are retried, and when.

A job whose task has a retry strategy runs each attempt in a new batch Job. When an attempt fails and the strategy
allows another, the job goes back to PENDING (never FAILED in between) and its next attempt starts after a backoff
derived from the attempts recorded in the Job's status, so the schedule survives an operator restart.

Failures are classified as Argo does for its retry policies:

- a *task failure* (Argo's Failed): the task itself failed: it raised (TaskFailed), its container exited non-zero
  (Error, BackoffLimitExceeded), or it ran past its own timeoutSeconds (DeadlineExceeded);
- an *infrastructure error* (Argo's Error): anything that says nothing of the task's code: OOMKilled, Evicted, a pod
  or batch Job deleted out of band, image pull and container creation errors, a volume that cannot be mounted, the
  store unreachable, any other reason a pod's status gives.

``OnFailure`` (the default, as in Argo) retries task failures, ``OnError`` infrastructure errors, ``Always`` both.
A submission deadline, a cancel and a refused Job are never retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from taipod.core.status import Status

__all__ = [
    "NEVER_RETRIED",
    "TASK_FAILURES",
    "Attempt",
    "Backoff",
    "FailureKind",
    "RetryPolicy",
    "RetryStrategy",
    "backoff_delay",
    "classify",
    "next_attempt_at",
    "should_retry",
    "strategy_from_spec",
]


class RetryPolicy(Enum):
    ON_FAILURE = "OnFailure"
    ON_ERROR = "OnError"
    ALWAYS = "Always"


class FailureKind(Enum):
    TASK = "task"  # the task's own failure (Argo's Failed)
    INFRASTRUCTURE = "infrastructure"  # not the task's doing (Argo's Error)
    FINAL = "final"  # never retried: deadline, cancel, refusal


TASK_FAILURES = frozenset({"TaskFailed", "Error", "BackoffLimitExceeded", "DeadlineExceeded"})
NEVER_RETRIED = frozenset({"SubmissionDeadlineExceeded", "NotCreatedByTaipod", "Canceled"})


@dataclass(frozen=True)
class Backoff:
    duration: float = 0.0  # seconds before the second attempt
    factor: float = 2.0
    max_duration: float | None = None  # the longest single wait


@dataclass(frozen=True)
class RetryStrategy:
    limit: int
    policy: RetryPolicy = RetryPolicy.ON_FAILURE
    backoff: Backoff = Backoff()


@dataclass(frozen=True)
class Attempt:
    """One finished attempt: the batch Job that ran it, when, and how it ended."""

    number: int
    batch: str
    finished_at: datetime
    status: Status  # FAILED or COMPLETED
    reason: str | None = None
    message: str | None = None
    started_at: datetime | None = None
    pod: str | None = None
    exit_code: int | None = None


def classify(reason: str) -> FailureKind:
    """Task failure, infrastructure error, or a reason never retried (see the module docstring)."""
    if reason in NEVER_RETRIED:
        return FailureKind.FINAL
    if reason in TASK_FAILURES:
        return FailureKind.TASK
    return FailureKind.INFRASTRUCTURE


def should_retry(strategy: RetryStrategy | None, reason: str, failed_attempts: int) -> bool:
    """Whether a job whose attempt number ``failed_attempts`` just failed for ``reason`` runs again: the policy
    covers the reason and fewer than ``limit`` retries were made (``failed_attempts`` counts this one)."""
    if strategy is None or failed_attempts > strategy.limit:
        return False
    kind = classify(reason)
    if kind is FailureKind.FINAL:
        return False
    if strategy.policy is RetryPolicy.ALWAYS:
        return True
    if strategy.policy is RetryPolicy.ON_FAILURE:
        return kind is FailureKind.TASK
    return kind is FailureKind.INFRASTRUCTURE


def backoff_delay(backoff: Backoff, failed_attempts: int) -> timedelta:
    """The wait after attempt number ``failed_attempts`` failed: ``duration * factor**(n-1)``, capped."""
    if failed_attempts < 1:
        raise ValueError(f"failed_attempts must be at least 1, not {failed_attempts}")
    seconds = backoff.duration * backoff.factor ** (failed_attempts - 1)
    if backoff.max_duration is not None:
        seconds = min(seconds, backoff.max_duration)
    return timedelta(seconds=seconds)


def next_attempt_at(strategy: RetryStrategy, attempts: Sequence[Attempt]) -> datetime | None:
    """When the attempt after the recorded ones may start: the last failure plus its backoff (None: no attempt yet)."""
    if not attempts:
        return None
    return attempts[-1].finished_at + backoff_delay(strategy.backoff, len(attempts))


def strategy_from_spec(
    task: Mapping[str, Any] | None, scenario_default: Mapping[str, Any] | None
) -> RetryStrategy | None:
    """The task's ``retries`` (else the scenario's), validated by the CRD schema; None when no retry applies."""
    spec = (task or {}).get("retries") or scenario_default
    if not spec or int(spec.get("limit") or 0) <= 0:
        return None
    backoff = spec.get("backoff") or {}
    max_duration = backoff.get("maxDuration")
    return RetryStrategy(
        limit=int(spec["limit"]),
        policy=RetryPolicy(spec.get("policy") or RetryPolicy.ON_FAILURE.value),
        backoff=Backoff(
            duration=float(backoff.get("duration") or 0),
            factor=float(backoff.get("factor") or 2.0),
            max_duration=float(max_duration) if max_duration is not None else None,
        ),
    )
