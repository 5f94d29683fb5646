"""Leader election decisions (taipod.core.election): every case, and the safety property on simulated timelines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taipod.core.election import Action, LeaseRecord, Observation, Timing, decide, leads_until

T = Timing()  # 15 / 10 / 2


def seen(holder: str | None, since: float = 0.0, duration: int | None = 15, version: str = "1") -> Observation:
    return Observation(LeaseRecord(version, holder, duration), since)


def test_no_lease_is_created() -> None:
    assert decide("a", None, 0.0, T) is Action.CREATE


def test_own_lease_is_renewed_whatever_its_age() -> None:
    assert decide("a", seen("a"), 0.0, T) is Action.RENEW
    assert decide("a", seen("a"), 1000.0, T) is Action.RENEW


@pytest.mark.parametrize("holder", [None, ""])
def test_free_lease_is_acquired_at_once(holder: str | None) -> None:
    assert decide("a", seen(holder, since=10.0), 10.0, T) is Action.ACQUIRE


def test_held_lease_is_waited_for_until_unchanged_for_its_duration() -> None:
    assert decide("a", seen("b", since=100.0), 100.0, T) is Action.WAIT
    assert decide("a", seen("b", since=100.0), 114.999, T) is Action.WAIT
    assert decide("a", seen("b", since=100.0), 115.0, T) is Action.ACQUIRE


def test_the_holders_duration_counts_not_the_candidates() -> None:
    assert decide("a", seen("b", since=0.0, duration=30), 20.0, T) is Action.WAIT
    assert decide("a", seen("b", since=0.0, duration=30), 30.0, T) is Action.ACQUIRE
    assert decide("a", seen("b", since=0.0, duration=None), 15.0, T) is Action.ACQUIRE  # none given: our own
    assert decide("a", seen("b", since=0.0, duration=0), 14.0, T) is Action.WAIT


def test_an_observation_restarts_only_when_the_version_changes() -> None:
    first = seen("b", since=5.0, version="7")
    assert first.updated(LeaseRecord("7", "b", 15), 12.0) is first
    renewed = first.updated(LeaseRecord("8", "b", 15), 12.0)
    assert renewed.since == 12.0 and renewed.record.version == "8"


def test_a_leader_leads_until_the_renew_deadline_after_its_renewal_was_sent() -> None:
    assert leads_until(100.0, T) == 110.0


@pytest.mark.parametrize(
    ("duration", "deadline", "retry", "word"),
    [
        (15, 15, 2, "shorter than the lease duration"),
        (15, 20, 2, "shorter than the lease duration"),
        (15, 2, 2, "longer than the retry period"),
        (15, 10, 0, "above 0"),
        (15.5, 10, 2, "whole number"),
    ],
)
def test_bad_timings_are_refused_with_the_rule(duration: float, deadline: float, retry: float, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        Timing(duration, deadline, retry)


@settings(max_examples=400, deadline=None)
@given(
    renewals=st.lists(
        st.tuples(st.floats(0.0, 3.0), st.floats(0.0, 12.0), st.booleans()), min_size=1, max_size=40
    ),  # (wait before sending, delay until the server stores it, answered)
    reads=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=200),  # the standby's read spacing
)
def test_a_standby_never_acquires_while_the_leader_may_act(
    renewals: list[tuple[float, float, bool]], reads: list[float]
) -> None:
    """A leader sends renewals (each stored by the server after some delay, and answered in time or not); a standby
    reads every so often. Whenever the standby decides to acquire, the right to act that the leader drew from any
    renewal stored so far ended at least lease_duration - renew_deadline seconds before. (A renewal stored after the
    standby's read changes the version, so the standby's conditional write of the version it read fails: 409.)"""
    writes: list[tuple[float, float, bool]] = []  # (sent, stored, answered within the renew deadline)
    clock = 0.0
    for gap, delay, ok in renewals:
        clock += gap
        writes.append((clock, clock + delay, ok and delay < T.renew_deadline))
    observed: Observation | None = None
    at = 0.0
    for step in reads:
        at += step
        stored = [w for w in writes if w[1] <= at]
        record = LeaseRecord(str(len(stored)), "leader", int(T.lease_duration))
        observed = Observation(record, at) if observed is None else observed.updated(record, at)
        if decide("standby", observed, at, T) is Action.ACQUIRE:
            rights = [leads_until(sent, T) for sent, _stored, answered in stored if answered]
            assert max(rights, default=0.0) <= at - (T.lease_duration - T.renew_deadline) + 1e-9
            return
