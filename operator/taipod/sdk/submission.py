"""A Submission: one submit of a scenario, sequence or task, a view of a Submission custom resource.

``jobs`` is one LIST call (label ``taipod.io/submission=<name>``); ``submission_status`` and the times are the
operator's, derived from the jobs with Taipy's rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from taipod.core.status import SubmissionStatus
from taipod.sdk import freshness, names
from taipod.sdk.cluster import Cluster
from taipod.sdk.errors import NonExistingSubmission, ReasonCollection
from taipod.sdk.job import Job
from taipod.sdk.scenario import Scenario

__all__ = ["Submission", "sort_jobs"]


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return names.parse_time(str(text))
    except ValueError:
        return None


def sort_jobs(jobs: list[Job]) -> list[Job]:
    """By creation date, then name (jobs created in the same microsecond)."""
    return sorted(jobs, key=lambda job: (job.creation_date, job.id))


class Submission:
    """A submission (Taipy's ``Submission``)."""

    def __init__(self, cluster: Cluster, name: str, body: dict[str, Any] | None = None) -> None:
        self._cluster = cluster
        self._name = name
        self._body = body
        self._fetched: freshness.Stamp | None = freshness.stamp() if body is not None else None

    def _current(self) -> dict[str, Any]:
        if self._body is not None and freshness.is_fresh(self._fetched):
            return self._body
        body = self._cluster.get(names.SUBMISSION_PLURAL, self._name)
        if body is None:
            if self._body is not None:
                return self._body
            raise NonExistingSubmission(self._name, self._cluster.namespace)
        self._update(body)
        return body

    def _update(self, body: dict[str, Any]) -> None:
        self._body = body
        self._fetched = freshness.stamp()

    def _spec(self) -> dict[str, Any]:
        body = self._body if self._body is not None else self._current()
        return dict(body.get("spec") or {})

    def _status(self) -> dict[str, Any]:
        return dict(self._current().get("status") or {})

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
    def entity_type(self) -> str:
        spec = self._spec()
        return "SEQUENCE" if spec.get("sequence") else "TASK" if spec.get("task") else "SCENARIO"

    @property
    def entity_id(self) -> str:
        spec = self._spec()
        if spec.get("sequence"):
            return names.entity_id("SEQUENCE", str(spec["sequence"]), self.scenario_id)
        if spec.get("task"):
            return names.entity_id("TASK", str(spec["task"]), self.scenario_id)
        return self.scenario_id

    @property
    def entity_config_id(self) -> str | None:
        """The scenario's config id, the task's, or None for a sequence (as in Taipy)."""
        spec = self._spec()
        if spec.get("sequence"):
            return None
        if spec.get("task"):
            return str(spec["task"])
        try:
            return Scenario(self._cluster, self.scenario_id).config_id
        except LookupError:
            return None

    @property
    def force(self) -> bool:
        return bool(self._spec().get("force", False))

    @property
    def properties(self) -> dict[str, Any]:
        body = self._body if self._body is not None else self._current()
        raw = ((body.get("metadata") or {}).get("annotations") or {}).get(names.ANNOTATION_PROPERTIES)
        try:
            return dict(json.loads(raw)) if raw else {}
        except (TypeError, ValueError):
            return {}

    @property
    def creation_date(self) -> datetime:
        body = self._body if self._body is not None else self._current()
        meta = body.get("metadata") or {}
        text = (meta.get("annotations") or {}).get(names.ANNOTATION_CREATED_AT) or meta.get("creationTimestamp")
        return _time(text) or datetime(1970, 1, 1, tzinfo=UTC)

    # -- content and status -----------------------------------------------------------------------------------------
    @property
    def jobs(self) -> list[Job]:
        """The jobs of the submission, in creation order (one LIST call)."""
        items = self._cluster.items(names.JOB_PLURAL, f"{names.LABEL_SUBMISSION}={self._name}")
        scenario = Scenario(self._cluster, self.scenario_id)
        return sort_jobs([Job._from_body(self._cluster, item, scenario) for item in items])

    @property
    def submission_status(self) -> SubmissionStatus:
        raw = self._status().get("submissionStatus")
        try:
            return SubmissionStatus[str(raw)] if raw else SubmissionStatus.SUBMITTED
        except KeyError:
            return SubmissionStatus.UNDEFINED

    @property
    def jobs_created(self) -> bool:
        return bool(self._status().get("jobsCreated"))

    @property
    def message(self) -> str | None:
        message = self._status().get("message")
        return None if message is None else str(message)

    @property
    def submitted_at(self) -> datetime | None:
        return _time(self._status().get("submittedAt")) or self.creation_date

    @property
    def run_at(self) -> datetime | None:
        return _time(self._status().get("runAt"))

    @property
    def finished_at(self) -> datetime | None:
        return _time(self._status().get("finishedAt"))

    @property
    def execution_duration(self) -> float | None:
        status = self._status()
        run_at = _time(status.get("runAt"))
        if run_at is None:
            return None
        end = _time(status.get("finishedAt")) or datetime.now(UTC)
        return (end - run_at).total_seconds()

    def is_finished(self) -> bool:
        return self.submission_status.is_finished()

    def is_deletable(self) -> ReasonCollection:
        status = self.submission_status
        if status.is_deletable():
            return ReasonCollection()
        return ReasonCollection([f"Submission {self.id} is not finished yet ({status.name})"])

    def __lt__(self, other: Submission) -> bool:
        return self.creation_date < other.creation_date

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Submission) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Submission({self.id!r})"
