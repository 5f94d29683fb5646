"""Leader election on a Lease: what one replica does next, decided from what it read (no Kubernetes imports).

The protocol is client-go's ``leaderelection`` (the lease lock), with durations measured on each replica's own
monotonic clock so that no two clocks are ever compared:

- a standby takes the Lease only when it is free (no holder) or when the holder's record has not changed, as this
  replica observed it, for the Lease's ``leaseDurationSeconds``;
- the leader renews it every ``retry_period``; it leads until ``renew_deadline`` after the start of its last
  successful renewal, and stops acting at that instant (renewal or not);
- ``renew_deadline < lease_duration``: the leader stops at least ``lease_duration - renew_deadline`` seconds before
  any standby may take over, because the standby's observation of the last renewal comes after that renewal was
  sent. That margin is what in-flight requests of the old leader have to land.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Action", "LeaseRecord", "Observation", "Timing", "decide", "leads_until"]


@dataclass(frozen=True)
class Timing:
    """client-go's three durations (seconds); their defaults are client-go's too."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if self.retry_period <= 0:
            raise ValueError(f"retry period {self.retry_period}: must be above 0 s")
        if not self.retry_period < self.renew_deadline:
            raise ValueError(
                f"renew deadline {self.renew_deadline} s: must be longer than the retry period ({self.retry_period} s)"
                ", so that the leader tries to renew more than once before it gives up"
            )
        if not self.renew_deadline < self.lease_duration:
            raise ValueError(
                f"renew deadline {self.renew_deadline} s: must be shorter than the lease duration "
                f"({self.lease_duration} s), so that a leader that cannot renew stops before a standby takes over"
            )
        if self.lease_duration != int(self.lease_duration):
            raise ValueError(f"lease duration {self.lease_duration}: must be a whole number of seconds")


@dataclass(frozen=True)
class LeaseRecord:
    """What the Lease says (``version`` is its resourceVersion: any write changes it)."""

    version: str
    holder: str | None
    duration: int | None  # leaseDurationSeconds
    transitions: int = 0


@dataclass(frozen=True)
class Observation:
    """A record, and when (this replica's monotonic clock) it was first read with that version."""

    record: LeaseRecord
    since: float

    def updated(self, record: LeaseRecord, now: float) -> Observation:
        return self if record.version == self.record.version else Observation(record, now)


class Action(enum.Enum):
    CREATE = "create"  # no Lease yet: create it held by this replica
    ACQUIRE = "acquire"  # free or expired: take it (a write conditional on the version read)
    RENEW = "renew"  # held by this replica: renew it (conditional on the version read)
    WAIT = "wait"  # held by another replica whose lease has not expired


def decide(identity: str, observed: Observation | None, now: float, timing: Timing) -> Action:
    """What a replica called ``identity`` does, given the Lease it observed (None: there is none)."""
    if observed is None:
        return Action.CREATE
    record = observed.record
    if record.holder == identity:
        return Action.RENEW
    if not record.holder:
        return Action.ACQUIRE
    duration = record.duration if record.duration and record.duration > 0 else timing.lease_duration
    if now >= observed.since + duration:
        return Action.ACQUIRE
    return Action.WAIT


def leads_until(renewal_started: float, timing: Timing) -> float:
    """Until when (monotonic) a replica whose write of the Lease, sent at ``renewal_started``, succeeded may act."""
    return renewal_started + timing.renew_deadline
