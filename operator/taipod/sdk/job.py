"""A Job: one run of one task, a view of a Job custom resource (``jobs.taipod.io``).

Getters re-read the resource unless it was read just now (``taipod.sdk.freshness``): reading the attributes of
the jobs just listed by ``tp.get_jobs()`` costs no extra call. Times and durations come from the status history
with the core's rules (semantics.md §2.4); ``pending_duration`` never raises.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from taipod.core import history as core_history
from taipod.core.history import Transition
from taipod.core.status import FINISHED, Status
from taipod.sdk import freshness, names
from taipod.sdk.cluster import Cluster
from taipod.sdk.errors import NonExistingJob, ReasonCollection
from taipod.sdk.scenario import Scenario, Task

__all__ = ["Job", "parse_history"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return names.parse_time(str(text))
    except ValueError:
        return None


def _status_of(body: dict[str, Any]) -> Status:
    raw = (body.get("status") or {}).get("status")
    try:
        return Status[str(raw)] if raw else Status.SUBMITTED
    except KeyError:
        return Status.SUBMITTED


def _created(body: dict[str, Any]) -> datetime:
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    history = status.get("history") or []
    if history and history[0].get("status") == "SUBMITTED" and _time(history[0].get("at")):
        return _time(history[0]["at"]) or _EPOCH
    for text in (
        (meta.get("annotations") or {}).get(names.ANNOTATION_CREATED_AT),
        meta.get("creationTimestamp"),
    ):
        found = _time(text)
        if found is not None:
            return found
    return _EPOCH


def parse_history(body: dict[str, Any]) -> list[Transition]:
    """The status history of a Job resource; without one (an operator that records none yet), what its status says."""
    status = body.get("status") or {}
    records: list[Transition] = []
    for entry in status.get("history") or []:
        at = _time(entry.get("at"))
        try:
            records.append(Transition(Status[str(entry.get("status"))], at or _EPOCH, entry.get("reason")))
        except KeyError:
            continue
    if records:
        return records
    created = _created(body)
    records.append(Transition(Status.SUBMITTED, created))
    current = _status_of(body)
    if current is not Status.SUBMITTED:
        at = _time(status.get("finishedAt") or status.get("runAt"))
        records.append(Transition(current, at or created))
    return records


class Job:
    """A job (Taipy's ``Job``): ``id``, ``task``, ``force``, ``creation_date``, ``status``, ``stacktrace``, the
    times and the durations. Jobs compare by creation date; equality is by id."""

    def __init__(
        self,
        cluster: Cluster,
        name: str,
        body: dict[str, Any] | None = None,
        *,
        scenario: Scenario | None = None,
        pinned: bool = False,
    ) -> None:
        self._cluster = cluster
        self._name = name
        self._body = body
        self._fetched: freshness.Stamp | None = freshness.stamp() if body is not None else None
        self._scenario = scenario
        self._pinned = pinned
        self._submission_spec: dict[str, Any] | None = None

    @classmethod
    def _from_body(cls, cluster: Cluster, body: dict[str, Any], scenario: Scenario | None = None) -> Job:
        return cls(cluster, str(body["metadata"]["name"]), body, scenario=scenario)

    def _snapshot(self, entries: int) -> Job:
        """A frozen copy as it was after the first ``entries`` transitions (what a subscriber is called with)."""
        body = copy.deepcopy(self._body if self._body is not None else self._current())
        status = body.setdefault("status", {})
        history = [
            {"status": t.status.name, "at": names.format_time(t.at), **({"reason": t.reason} if t.reason else {})}
            for t in parse_history(body)[:entries]
        ]
        status["history"] = history
        status["status"] = history[-1]["status"] if history else "SUBMITTED"
        return Job(self._cluster, self._name, body, scenario=self._scenario, pinned=True)

    # -- reading ----------------------------------------------------------------------------------------------------
    def _update(self, body: dict[str, Any]) -> None:
        self._body = body
        self._fetched = freshness.stamp()

    def _current(self) -> dict[str, Any]:
        if self._body is not None and (self._pinned or freshness.is_fresh(self._fetched)):
            return self._body
        body = self._cluster.get(names.JOB_PLURAL, self._name)
        if body is None:
            if self._body is not None:
                return self._body  # deleted: the last known state, as Taipy falls back to its in-memory copy
            raise NonExistingJob(self._name, self._cluster.namespace)
        self._update(body)
        return body

    def _spec(self) -> dict[str, Any]:
        body = self._body if self._body is not None else self._current()
        return dict(body.get("spec") or {})

    def _history(self) -> list[Transition]:
        return parse_history(self._current())

    # -- identity ---------------------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._name

    @property
    def namespace(self) -> str:
        return self._cluster.namespace

    @property
    def scenario_id(self) -> str:
        return str(self._spec().get("scenario", ""))

    @property
    def task_config_id(self) -> str:
        return str(self._spec().get("task", ""))

    @property
    def task_id(self) -> str:
        return names.entity_id("TASK", self.task_config_id, self.scenario_id)

    owner_id = task_id

    @property
    def task(self) -> Task:
        if self._scenario is None or self._scenario.id != self.scenario_id:
            self._scenario = Scenario(self._cluster, self.scenario_id)
        return Task(
            self._scenario, next(t for t in self._scenario._spec()["tasks"] if t["name"] == self.task_config_id)
        )

    @property
    def force(self) -> bool:
        return bool(self._spec().get("force", False))

    @property
    def submit_id(self) -> str:
        return str(self._spec().get("submission", ""))

    @property
    def submit_entity_id(self) -> str:
        """The id of what was submitted: the scenario, or the sequence or task (Taipy-style ids)."""
        if self._submission_spec is None:
            body = self._cluster.get(names.SUBMISSION_PLURAL, self.submit_id)
            self._submission_spec = dict((body or {}).get("spec") or {})
        spec = self._submission_spec
        if spec.get("sequence"):
            return names.entity_id("SEQUENCE", str(spec["sequence"]), self.scenario_id)
        if spec.get("task"):
            return names.entity_id("TASK", str(spec["task"]), self.scenario_id)
        return self.scenario_id

    @property
    def creation_date(self) -> datetime:
        return _created(self._body if self._body is not None else self._current())

    # -- status -----------------------------------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return _status_of(self._current())

    @property
    def history(self) -> list[Transition]:
        """Every transition ``(status, at, reason)``, the first being SUBMITTED at creation."""
        return self._history()

    @property
    def stacktrace(self) -> list[str]:
        return [str(line) for line in (self._current().get("status") or {}).get("stacktrace") or []]

    @property
    def reason(self) -> str | None:
        """Why the job ended as it did (``OOMKilled``, ``DeadlineExceeded``, ...), when the operator says."""
        reason = (self._current().get("status") or {}).get("reason")
        return None if reason is None else str(reason)

    @property
    def message(self) -> str | None:
        message = (self._current().get("status") or {}).get("message")
        return None if message is None else str(message)

    @property
    def exit_code(self) -> int | None:
        code = (self._current().get("status") or {}).get("exitCode")
        return None if code is None else int(code)

    @property
    def pod(self) -> str | None:
        pod = (self._current().get("status") or {}).get("pod")
        return None if pod is None else str(pod)

    # -- times and durations ------------------------------------------------------------------------------------------
    @property
    def submitted_at(self) -> datetime:
        return core_history.job_times(self._history()).submitted_at or self.creation_date

    @property
    def blocked_at(self) -> datetime | None:
        return core_history.job_times(self._history()).blocked_at

    @property
    def pending_at(self) -> datetime | None:
        return core_history.job_times(self._history()).pending_at

    @property
    def run_at(self) -> datetime | None:
        return core_history.job_times(self._history()).run_at

    @property
    def finished_at(self) -> datetime | None:
        return core_history.job_times(self._history()).finished_at

    @property
    def execution_duration(self) -> float | None:
        """Seconds from RUNNING to the end (or now); None if the job never ran."""
        return core_history.execution_duration(self._history(), datetime.now(UTC))

    @property
    def pending_duration(self) -> float | None:
        """Seconds spent PENDING; None if the job never was. Never raises (unlike Taipy for skipped jobs)."""
        return core_history.pending_duration(self._history(), datetime.now(UTC))

    @property
    def blocked_duration(self) -> float | None:
        """Seconds spent BLOCKED; None if the job never was."""
        return core_history.blocked_duration(self._history(), datetime.now(UTC))

    # -- predicates -------------------------------------------------------------------------------------------------
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def is_submitted(self) -> bool:
        return self.status is Status.SUBMITTED

    def is_blocked(self) -> bool:
        return self.status is Status.BLOCKED

    def is_pending(self) -> bool:
        return self.status is Status.PENDING

    def is_running(self) -> bool:
        return self.status is Status.RUNNING

    def is_canceled(self) -> bool:
        return self.status is Status.CANCELED

    def is_failed(self) -> bool:
        return self.status is Status.FAILED

    def is_completed(self) -> bool:
        return self.status is Status.COMPLETED

    def is_skipped(self) -> bool:
        return self.status is Status.SKIPPED

    def is_abandoned(self) -> bool:
        return self.status is Status.ABANDONED

    def is_deletable(self) -> ReasonCollection:
        status = self.status
        if status in FINISHED:
            return ReasonCollection()
        return ReasonCollection([f"The job {self.id} is not finished yet ({status.name})"])

    # -- labels and comparisons -------------------------------------------------------------------------------------
    def get_simple_label(self) -> str:
        return self.id

    def get_label(self) -> str:
        return f"{self.task_config_id} > {self.id}"

    def __contains__(self, task: object) -> bool:
        return isinstance(task, Task) and task.id == self.task_id

    def __lt__(self, other: Job) -> bool:
        return self.creation_date < other.creation_date

    def __le__(self, other: Job) -> bool:
        return self.creation_date <= other.creation_date

    def __gt__(self, other: Job) -> bool:
        return self.creation_date > other.creation_date

    def __ge__(self, other: Job) -> bool:
        return self.creation_date >= other.creation_date

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Job({self.id!r})"
