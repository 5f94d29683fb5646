"""Compact, immutable records of the watched objects (a few fields, not whole bodies), kept in kopf's indexes (taipod's
resources) and in the informers (batch Jobs and pods).

Pure functions from an object's body to a record: no API calls, unit-tested on plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from taipod.api import datanodes
from taipod.core.history import Transition
from taipod.core.plan import PodFacts
from taipod.core.retry import Attempt
from taipod.core.status import Status
from taipod.operator.names import (
    ANNOTATION_CANCEL,
    ANNOTATION_CREATED_AT,
    LABEL_JOB,
    LABEL_MANAGED_BY,
    LABEL_SCENARIO,
    LABEL_SUBMISSION,
    parse_time,
)

__all__ = [
    "RUN_LABELS",
    "BatchRecord",
    "JobRecord",
    "PodRecord",
    "ScenarioRecord",
    "SubmissionRecord",
    "batch_record",
    "job_record",
    "pod_record",
    "resource_version",
    "run_labels",
    "scenario_record",
    "submission_record",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RUN_LABELS = (LABEL_SCENARIO, LABEL_SUBMISSION, LABEL_JOB, LABEL_MANAGED_BY)  # what taipod sets on batch Jobs and pods
Labels = tuple[tuple[str, str | None], ...]


def resource_version(body: Mapping[str, Any]) -> int:
    """The resourceVersion as a number, to tell which of two copies of an object is newer.

    Kubernetes calls resourceVersions opaque; every etcd-backed API server issues increasing integers, which is what
    lets the operator prefer the response of its own write over an older watch event still on its way.
    """
    raw = (body.get("metadata") or {}).get("resourceVersion") or "0"
    try:
        return int(raw)
    except ValueError:
        return 0


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("metadata") or {}


def run_labels(meta: Mapping[str, Any]) -> Labels:
    """The values of taipod's labels on a batch Job or pod (None where missing): anyone can edit them, so they only
    tell whether the object drifted, never which job it runs."""
    labels = meta.get("labels") or {}
    return tuple((key, labels.get(key)) for key in RUN_LABELS)


def _controller(meta: Mapping[str, Any], api_group: str, fallback: str) -> str:
    """The name of the controlling Job (``api_group``'s) from the owner reference, which the API server keeps as the
    operator (or the Job controller) wrote it; the label only for objects made before owner references were read."""
    for owner in meta.get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") == "Job" and owner.get("apiVersion", "").startswith(api_group):
            return str(owner.get("name", ""))
    return fallback


def _created(body: Mapping[str, Any]) -> datetime:
    meta = _meta(body)
    exact = (meta.get("annotations") or {}).get(ANNOTATION_CREATED_AT)
    text = exact or meta.get("creationTimestamp")
    return parse_time(text) if text else _EPOCH


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def _stored(body: Mapping[str, Any]) -> datetime:
    """When the API server stored the object (its clock, whole seconds): unlike the created-at annotation, which a
    client writes (an exported manifest carries its scenario's creation date), comparable across objects."""
    text = _meta(body).get("creationTimestamp")
    return parse_time(text) if text else _EPOCH


@dataclass(frozen=True)
class JobRecord:
    namespace: str
    name: str
    uid: str
    rv: int
    generation: int
    scenario: str
    submission: str
    task: str
    force: bool
    created_at: datetime
    history: tuple[Transition, ...]
    batch_recorded: str | None
    outputs_released: bool
    cancel_request: str | None
    cancel_handled: bool
    deleting: bool
    status: Mapping[str, Any] = field(default_factory=dict, compare=False)
    owner_uid: str | None = None  # the Submission it belongs to (ownerReference)
    attempts: tuple[Attempt, ...] = ()  # finished attempts of a task with a retry strategy


def _attempts(status: Mapping[str, Any]) -> tuple[Attempt, ...]:
    records = []
    for entry in status.get("attempts") or []:
        try:
            started = entry.get("startedAt")
            records.append(
                Attempt(
                    number=int(entry["attempt"]),
                    batch=str(entry["batchJob"]),
                    finished_at=parse_time(entry["finishedAt"]),
                    status=Status[entry["status"]],
                    reason=entry.get("reason"),
                    message=entry.get("message"),
                    started_at=parse_time(started) if started else None,
                    pod=entry.get("pod"),
                    exit_code=entry.get("exitCode"),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # a hand-edited entry
    return tuple(records)


def _owner_uid(meta: Mapping[str, Any], kind: str) -> str | None:
    return next((o.get("uid") for o in meta.get("ownerReferences") or [] if o.get("kind") == kind), None)


def _history(status: Mapping[str, Any]) -> tuple[Transition, ...]:
    records = []
    for entry in status.get("history") or []:
        try:
            records.append(Transition(Status[entry["status"]], parse_time(entry["at"]), entry.get("reason")))
        except (KeyError, TypeError, ValueError):
            continue  # a hand-edited entry: ignore it rather than stop reconciling the scenario
    return tuple(records)


def job_record(body: Mapping[str, Any]) -> JobRecord:
    meta = _meta(body)
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    cancel = (meta.get("annotations") or {}).get(ANNOTATION_CANCEL)
    batch = status.get("batchJob") or {}
    return JobRecord(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        rv=resource_version(body),
        generation=int(meta.get("generation") or 1),
        scenario=str(spec.get("scenario", "")),
        submission=str(spec.get("submission", "")),
        task=str(spec.get("task", "")),
        force=bool(spec.get("force", False)),
        created_at=_created(body),
        history=_history(status),
        batch_recorded=batch.get("uid"),
        outputs_released=bool(status.get("outputsReleased")),
        cancel_request=(cancel if cancel in ("true", "terminate") else None),
        # A request is handled once its outcome is recorded for that very value: "terminate" after "true" is new.
        cancel_handled=bool(status.get("cancel")) and status.get("cancelRequest", cancel) == cancel,
        deleting=bool(meta.get("deletionTimestamp")),
        status=dict(status),
        owner_uid=_owner_uid(meta, "Submission"),
        attempts=_attempts(status),
    )


@dataclass(frozen=True)
class ScenarioRecord:
    namespace: str
    name: str
    uid: str
    rv: int
    generation: int
    created_at: datetime
    stored_at: datetime
    spec: Mapping[str, Any] = field(compare=False)
    data_nodes: Mapping[str, Mapping[str, Any]] = field(compare=False)
    status: Mapping[str, Any] = field(compare=False)
    deleting: bool = False
    data_nodes_packed: bool = False
    # The spec's data nodes and tasks by name: lookups per job must not scan a 5,000-task list.
    dn_specs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    task_specs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)


def scenario_record(body: Mapping[str, Any]) -> ScenarioRecord:
    meta = _meta(body)
    status = body.get("status") or {}
    spec = body.get("spec") or {}
    return ScenarioRecord(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        rv=resource_version(body),
        generation=int(meta.get("generation") or 1),
        created_at=_created(body),
        stored_at=_stored(body),
        spec=dict(spec),
        data_nodes=datanodes.entries(status),
        data_nodes_packed=datanodes.is_packed(status),
        status={k: v for k, v in status.items() if k not in (datanodes.PLAIN, datanodes.PACKED)},
        deleting=bool(meta.get("deletionTimestamp")),
        dn_specs={str(d.get("name")): d for d in spec.get("dataNodes") or []},
        task_specs={str(t.get("name")): t for t in spec.get("tasks") or []},
    )


@dataclass(frozen=True)
class SubmissionRecord:
    namespace: str
    name: str
    uid: str
    rv: int
    generation: int
    scenario: str
    sequence: str | None
    task: str | None
    force: bool
    created_at: datetime
    stored_at: datetime
    jobs_created: bool
    status: Mapping[str, Any] = field(compare=False)
    deleting: bool = False
    owner_uid: str | None = None  # the Scenario it belongs to (ownerReference), once set
    active_deadline_seconds: int | None = None
    ttl_seconds_after_finished: int | None = None


def submission_record(body: Mapping[str, Any]) -> SubmissionRecord:
    meta = _meta(body)
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    return SubmissionRecord(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        rv=resource_version(body),
        generation=int(meta.get("generation") or 1),
        scenario=str(spec.get("scenario", "")),
        sequence=spec.get("sequence"),
        task=spec.get("task"),
        force=bool(spec.get("force", False)),
        created_at=_created(body),
        stored_at=_stored(body),
        jobs_created=bool(status.get("jobsCreated")),
        status=dict(status),
        deleting=bool(meta.get("deletionTimestamp")),
        owner_uid=next((o.get("uid") for o in meta.get("ownerReferences") or [] if o.get("kind") == "Scenario"), None),
        active_deadline_seconds=_optional_int(spec.get("activeDeadlineSeconds")),
        ttl_seconds_after_finished=_optional_int(spec.get("ttlSecondsAfterFinished")),
    )


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class BatchRecord:
    namespace: str
    name: str
    uid: str
    rv: int = field(compare=False)  # equal records: nothing the operator reads changed (the informer wakes nothing)
    job: str  # the taipod Job it runs (its controlling owner)
    failed_reason: str | None
    failed_message: str | None
    labels: Labels = ()
    # When the operator dispatched it (its created-at annotation, to the microsecond; else its creationTimestamp).
    dispatched_at: datetime | None = field(default=None, compare=False)


def batch_record(body: Mapping[str, Any]) -> BatchRecord:
    meta = _meta(body)
    failed_reason = failed_message = None
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            failed_reason = condition.get("reason") or "Failed"
            failed_message = condition.get("message")
    return BatchRecord(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        rv=resource_version(body),
        job=_controller(meta, "taipod.io/", (meta.get("labels") or {}).get(LABEL_JOB, "")),
        failed_reason=failed_reason,
        failed_message=failed_message,
        labels=run_labels(meta),
        dispatched_at=_time((meta.get("annotations") or {}).get(ANNOTATION_CREATED_AT))
        or _time(meta.get("creationTimestamp")),
    )


@dataclass(frozen=True)
class PodRecord:
    namespace: str
    job: str  # the taipod Job it runs: its batch Job's name (its controlling owner), which is the taipod Job's
    rv: int = field(compare=False)  # as BatchRecord.rv
    facts: PodFacts
    labels: Labels = ()
    ended_at: datetime | None = field(default=None, compare=False)  # its container's end (the dispatch metric)


def pod_record(body: Mapping[str, Any]) -> PodRecord:
    meta = _meta(body)
    status = body.get("status") or {}
    container: Mapping[str, Any] = {}
    for candidate in status.get("containerStatuses") or []:
        container = candidate
        break
    state = container.get("state") or {}
    last = container.get("lastState") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or last.get("terminated") or {}
    created = meta.get("creationTimestamp")
    started_text = (state.get("running") or {}).get("startedAt") or terminated.get("startedAt")
    unschedulable = next(
        (
            c.get("message") or "unschedulable"
            for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
        ),
        None,
    )
    facts = PodFacts(
        name=meta.get("name", ""),
        phase=status.get("phase") or "Pending",
        created_at=parse_time(created) if created else _EPOCH,
        deleting=bool(meta.get("deletionTimestamp")),
        started=bool(state.get("running")) or bool(terminated.get("startedAt")),
        waiting_reason=waiting.get("reason"),
        waiting_message=waiting.get("message"),
        terminated_reason=terminated.get("reason"),
        exit_code=terminated.get("exitCode"),
        termination_message=terminated.get("message"),
        pod_reason=status.get("reason"),
        pod_message=status.get("message"),
        unschedulable=unschedulable,
        started_at=_time(started_text),
    )
    return PodRecord(
        namespace=meta.get("namespace", ""),
        job=_controller(meta, "batch/", (meta.get("labels") or {}).get(LABEL_JOB, "")),
        rv=resource_version(body),
        facts=facts,
        labels=run_labels(meta),
        ended_at=parse_time(terminated["finishedAt"]) if terminated.get("finishedAt") else None,
    )
