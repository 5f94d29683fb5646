"""Job-status callbacks, driven by one watch on the jobs of the namespace (not by polling).

``tp.subscribe_scenario(callback, params, scenario)`` calls ``callback(*params, scenario, job)`` for every status
change of the jobs of the scenario submissions created after subscribing (Taipy binds subscribers at submit time),
except the initial SUBMITTED, exactly once each and in order: the changes are read from each job's status
history, so a change the watch did not see as an event (two quick transitions) is still delivered. ``job`` is a
snapshot of the job as it was after that change. As in Taipy, ``scenario=None`` subscribes the scenarios that exist
now, and scenario subscribers are not called for sequence or task submissions. ``submit(..., callbacks=[f])`` calls
``f(job)`` for the jobs of that submission.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from taipod.sdk import cluster as _cluster
from taipod.sdk import names
from taipod.sdk.cluster import Cluster
from taipod.sdk.job import Job, parse_history
from taipod.sdk.scenario import Scenario
from taipod.sdk.watching import Streamer

__all__ = ["add_submission_callbacks", "flush", "subscribe_scenario", "unsubscribe_scenario"]

_log = logging.getLogger("taipod")


@dataclass(eq=False)
class _Subscription:
    callback: Callable[..., Any]
    params: tuple[Any, ...]
    scenarios: frozenset[str]
    requested: str | None  # the scenario given to subscribe_scenario (None: every scenario existing then)
    excluded_submissions: frozenset[str]
    delivered: dict[str, int] = field(default_factory=dict)

    def matches(self, callback: Callable[..., Any], params: tuple[Any, ...], scenario: str | None) -> bool:
        return self.callback == callback and self.params == params and self.requested == scenario


@dataclass(eq=False)
class _SubmissionCallbacks:
    submission: str
    callbacks: tuple[Callable[..., Any], ...]
    delivered: dict[str, int] = field(default_factory=dict)


_Delivery = tuple[Callable[..., Any], tuple[Any, ...], Job]


class _Hub:
    """The watch of one namespace's jobs and the subscriptions it serves."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.lock = threading.Condition()
        self.dispatch = threading.RLock()  # held while computing and running deliveries: keeps them in order
        self.subscriptions: list[_Subscription] = []
        self.submission_callbacks: list[_SubmissionCallbacks] = []
        self.bodies: dict[str, dict[str, Any]] = {}
        self.processed: dict[str, int] = {}  # job -> history entries whose callbacks have run
        self.submission_specs: dict[str, dict[str, Any]] = {}
        self.scenarios: dict[str, Scenario] = {}
        self.streamer: Streamer | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def ensure_started(self) -> None:
        if self.streamer is None or self.streamer.stopped:
            self.streamer = Streamer(
                self.cluster, names.JOB_PLURAL, self._on_change, on_error=self._on_error, name="taipod-subscriptions"
            )
            self.streamer.start()

    def stop_if_idle(self) -> None:
        with self.lock:
            idle = not self.subscriptions and not self.submission_callbacks
            streamer = self.streamer if idle else None
            if idle:
                self.streamer = None
        if streamer is not None:
            streamer.stop()

    def _on_error(self, exc: Exception) -> None:
        _log.warning("taipod: the watch of jobs in namespace %s failed, retrying: %s", self.cluster.namespace, exc)

    # -- delivery ---------------------------------------------------------------------------------------------------
    def _submission_spec(self, submission: str) -> dict[str, Any]:
        spec = self.submission_specs.get(submission)
        if spec is None:
            body = self.cluster.get(names.SUBMISSION_PLURAL, submission)
            spec = dict((body or {}).get("spec") or {})
            if body is not None:
                self.submission_specs[submission] = spec
        return spec

    def _scenario(self, name: str) -> Scenario:
        if name not in self.scenarios:
            self.scenarios[name] = Scenario(self.cluster, name)
        return self.scenarios[name]

    def _deliveries(self, body: dict[str, Any]) -> list[_Delivery]:
        """What the subscriptions must be told about ``body``; updates their delivered counts (under the lock)."""
        name = str(body["metadata"]["name"])
        spec = body.get("spec") or {}
        scenario, submission = str(spec.get("scenario", "")), str(spec.get("submission", ""))
        history = parse_history(body)
        job = Job._from_body(self.cluster, body, self._scenario(scenario))
        out: list[_Delivery] = []

        def entries(delivered: dict[str, int]) -> range:
            start = delivered.get(name, 0)
            delivered[name] = max(start, len(history))
            return range(start, len(history))

        for registered in self.submission_callbacks:
            if registered.submission == submission:
                for i in entries(registered.delivered):
                    if i == 0 and history[0].status.name == "SUBMITTED":
                        continue
                    snapshot = job._snapshot(i + 1)
                    out.extend((callback, (), snapshot) for callback in registered.callbacks)
        matching = [
            sub
            for sub in self.subscriptions
            if scenario in sub.scenarios and submission not in sub.excluded_submissions
        ]
        if matching:
            sub_spec = self._submission_spec(submission)
            if sub_spec.get("sequence") or sub_spec.get("task"):
                matching = []  # Taipy calls scenario subscribers for scenario submissions only
        for sub in reversed(matching):  # Taipy calls subscribers in reverse registration order
            for i in entries(sub.delivered):
                if i == 0 and history[0].status.name == "SUBMITTED":
                    continue
                out.append((sub.callback, (*sub.params, self._scenario(scenario)), job._snapshot(i + 1)))
        return out

    def _run(self, deliveries: list[_Delivery]) -> None:
        for callback, params, job in deliveries:
            try:
                callback(*params, job)
            except Exception:
                _log.exception("taipod: a job status callback raised (job %s, %s)", job.id, job.status)

    def _on_change(self, body: dict[str, Any]) -> None:
        name = str(body["metadata"]["name"])
        with self.dispatch:
            with self.lock:
                self.bodies[name] = body
                deliveries = self._deliveries(body)
            self._run(deliveries)
        with self.lock:
            self.processed[name] = max(self.processed.get(name, 0), len(parse_history(body)))
            self.lock.notify_all()

    # -- registration -----------------------------------------------------------------------------------------------
    def add(self, registered: _Subscription | _SubmissionCallbacks) -> None:
        with self.dispatch:
            with self.lock:
                if isinstance(registered, _Subscription):
                    self.subscriptions.append(registered)
                else:
                    self.submission_callbacks.append(registered)
                backlog = [d for body in list(self.bodies.values()) for d in self._deliveries(body)]
            self._run(backlog)
        self.ensure_started()

    def remove(self, callback: Callable[..., Any], params: tuple[Any, ...], scenario: str | None) -> bool:
        with self.lock:
            for sub in self.subscriptions:
                if sub.matches(callback, params, scenario):
                    self.subscriptions.remove(sub)
                    break
            else:
                return False
        self.stop_if_idle()
        return True

    def drop_submission(self, submission: str) -> None:
        with self.lock:
            self.submission_callbacks = [s for s in self.submission_callbacks if s.submission != submission]
        self.stop_if_idle()

    def flush(self, expected: dict[str, int], timeout: float) -> bool:
        """Wait until the callbacks of the first ``expected[job]`` history entries of each job have run."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while any(self.processed.get(job, 0) < n for job, n in expected.items()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
        return True


_hubs: dict[tuple[str, str], _Hub] = {}
_hubs_lock = threading.Lock()


def _hub(cluster: Cluster, create: bool = True) -> _Hub | None:
    key = (cluster.host, cluster.namespace)
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None and create:
            hub = _hubs[key] = _Hub(cluster)
        return hub


def _normalise(params: Iterable[Any] | None) -> tuple[Any, ...]:
    return tuple(params) if params is not None else ()


def subscribe_scenario(
    callback: Callable[..., Any], params: Iterable[Any] | None = None, scenario: Scenario | None = None
) -> None:
    """Call ``callback(*params, scenario, job)`` on every status change of the jobs of ``scenario`` (default:
    every scenario existing now) for the submissions created from now on."""
    cluster = scenario._cluster if scenario is not None else _cluster.current()
    if scenario is not None:
        scenarios = frozenset({scenario.id})
    else:
        scenarios = frozenset(str(s["metadata"]["name"]) for s in cluster.items(names.SCENARIO_PLURAL))
    existing = frozenset(
        str(s["metadata"]["name"]) for s in cluster.list_raw(names.SUBMISSION_PLURAL).get("items") or []
    )
    hub = _hub(cluster)
    assert hub is not None
    hub.add(
        _Subscription(
            callback=callback,
            params=_normalise(params),
            scenarios=scenarios,
            requested=None if scenario is None else scenario.id,
            excluded_submissions=existing,
        )
    )


def unsubscribe_scenario(
    callback: Callable[..., Any], params: Iterable[Any] | None = None, scenario: Scenario | None = None
) -> None:
    """Stop calling ``callback`` (with these ``params``, for this ``scenario``); ``ValueError`` if it was not
    subscribed, as in Taipy."""
    cluster = scenario._cluster if scenario is not None else _cluster.current()
    hub = _hub(cluster, create=False)
    if hub is None or not hub.remove(callback, _normalise(params), None if scenario is None else scenario.id):
        raise ValueError(
            f"{getattr(callback, '__qualname__', callback)!r} is not subscribed"
            + (f" to scenario {scenario.id!r}" if scenario is not None else "")
            + " with these params: subscribe it first with tp.subscribe_scenario"
        )


def add_submission_callbacks(cluster: Cluster, submission: str, callbacks: Iterable[Callable[..., Any]]) -> None:
    """Call each of ``callbacks`` with the job on every status change of the jobs of ``submission``."""
    found = tuple(callbacks)
    if found:
        hub = _hub(cluster)
        assert hub is not None
        hub.add(_SubmissionCallbacks(submission, found))


def drop_submission_callbacks(cluster: Cluster, submission: str) -> None:
    hub = _hub(cluster, create=False)
    if hub is not None:
        hub.drop_submission(submission)


def flush(cluster: Cluster, expected: dict[str, int], timeout: float = 30.0) -> bool:
    """Wait until the callbacks for these job histories have run (no-op when nothing is subscribed)."""
    hub = _hub(cluster, create=False)
    if hub is None or hub.streamer is None:
        return True
    return hub.flush(expected, timeout)


def stop_all() -> None:
    """Stop every watch (for tests)."""
    with _hubs_lock:
        hubs = list(_hubs.values())
        _hubs.clear()
    for hub in hubs:
        with hub.lock:
            hub.subscriptions.clear()
            hub.submission_callbacks.clear()
        hub.stop_if_idle()
