"""Subscribers get every status change after SUBMITTED, exactly once and in order, from the status history."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.test_sdk_fakes import FakeCluster, job_body

from taipod.sdk import subscriptions
from taipod.sdk.job import Job
from taipod.sdk.scenario import Scenario

AT = "2024-10-24T12:00:0{}.000000Z"
STEPS = ["SUBMITTED", "BLOCKED", "PENDING", "RUNNING", "COMPLETED"]


def body(steps: int, task: str = "t", submission: str = "new-sub", name: str = "j1") -> dict[str, Any]:
    return job_body(name, [(s, AT.format(i)) for i, s in enumerate(STEPS[:steps])], task=task, submission=submission)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> subscriptions._Hub:
    monkeypatch.setattr(subscriptions._Hub, "ensure_started", lambda self: None)
    cluster = FakeCluster()
    cluster.objects["submissions"]["new-sub"] = {"metadata": {"name": "new-sub"}, "spec": {"scenario": "sc"}}
    cluster.objects["submissions"]["seq-sub"] = {
        "metadata": {"name": "seq-sub"},
        "spec": {"scenario": "sc", "sequence": "s"},
    }
    return subscriptions._Hub(cluster)


def subscribe(hub: subscriptions._Hub, seen: list[Any], tag: str = "", excluded: frozenset[str] = frozenset()) -> None:
    def callback(*args: Any) -> None:
        *params, scenario, job = args
        seen.append((*params, scenario.id, job.id, job.status.name))

    hub.add(subscriptions._Subscription(callback, (tag,) if tag else (), frozenset({"sc"}), "sc", excluded))


def test_each_change_once_in_order_even_when_events_are_missed_or_repeated(hub: subscriptions._Hub) -> None:
    seen: list[Any] = []
    subscribe(hub, seen)
    for steps in (1, 1, 3, 3, 5, 5):  # BLOCKED never seen as an event on its own; repeats
        hub._on_change(body(steps))
    assert seen == [
        ("sc", "j1", "BLOCKED"),
        ("sc", "j1", "PENDING"),
        ("sc", "j1", "RUNNING"),
        ("sc", "j1", "COMPLETED"),
    ]
    assert hub.flush({"j1": 5}, 0.1)


def test_params_order_and_failing_callbacks(hub: subscriptions._Hub) -> None:
    seen: list[Any] = []
    subscribe(hub, seen, "first")

    def broken(*_: Any) -> None:
        raise RuntimeError("user bug")

    hub.add(subscriptions._Subscription(broken, (), frozenset({"sc"}), None, frozenset()))
    subscribe(hub, seen, "third")
    hub._on_change(body(2))
    assert seen == [("third", "sc", "j1", "BLOCKED"), ("first", "sc", "j1", "BLOCKED")]  # reverse registration


def test_only_scenario_submissions_created_after_subscribing(hub: subscriptions._Hub) -> None:
    seen: list[Any] = []
    subscribe(hub, seen, excluded=frozenset({"old-sub"}))
    hub._on_change(body(3, submission="old-sub", name="old"))
    hub._on_change(body(3, submission="seq-sub", name="seq"))
    hub._on_change(body(2, task="other", submission="new-sub", name="new"))
    assert seen == [("sc", "new", "BLOCKED")]


def test_late_subscribers_get_the_backlog_of_new_submissions(hub: subscriptions._Hub) -> None:
    hub._on_change(body(3))
    seen: list[Any] = []
    subscribe(hub, seen)
    assert [s[-1] for s in seen] == ["BLOCKED", "PENDING"]
    hub._on_change(body(4))
    assert [s[-1] for s in seen] == ["BLOCKED", "PENDING", "RUNNING"]


def test_submission_callbacks_get_the_job(hub: subscriptions._Hub) -> None:
    got: list[str] = []
    hub.add(subscriptions._SubmissionCallbacks("new-sub", (lambda job: got.append(job.status.name),)))
    hub._on_change(body(5))
    assert got == ["BLOCKED", "PENDING", "RUNNING", "COMPLETED"]


def test_unsubscribe(hub: subscriptions._Hub) -> None:
    seen: list[Any] = []
    subscribe(hub, seen)
    callback = hub.subscriptions[0].callback
    assert not hub.remove(callback, ("x",), "sc")
    assert hub.remove(callback, (), "sc")
    hub._on_change(body(3))
    assert seen == []


def test_unsubscribe_unknown_callback_raises_value_error() -> None:
    scenario = Scenario(FakeCluster(), "sc", {"metadata": {"name": "sc"}, "spec": {}})
    with pytest.raises(ValueError, match="not subscribed"):
        subscriptions.unsubscribe_scenario(print, None, scenario)


def test_snapshots_are_jobs() -> None:
    assert isinstance(Job(FakeCluster(), "j1", body(3))._snapshot(2), Job)
