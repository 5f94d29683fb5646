"""``tp.submit``: create a Submission and wait as Taipy's job execution mode says.

- The operator creates the jobs and decides each one BLOCKED or PENDING; ``submit`` returns only once that is done
  (Taipy's submit returns after deciding), so ``submission.jobs`` and their first statuses are there.
- ``development`` mode (the default): it returns when the submission has finished, i.e. no job is waiting for the
  cluster any more: every job is finished, or BLOCKED on an input nothing in the submission will write (Taipy's
  development dispatcher returns when its queue is empty, leaving such jobs BLOCKED). ``wait``/``timeout`` are
  ignored, as in Taipy.
- ``standalone`` mode: it returns at once; with ``wait=True`` it waits until every job is finished, at most
  ``timeout`` seconds counted as Taipy does (whole seconds: 0.5 waits 1 s, 1.5 waits 2 s). Nothing is canceled when
  the timeout expires.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from taipod.api import datanodes
from taipod.core.readiness import DataNodeState, is_ready_for_reading
from taipod.core.status import Status, SubmissionStatus
from taipod.core.submission_status import submission_status
from taipod.sdk import freshness, names, settings, subscriptions
from taipod.sdk.cluster import Cluster
from taipod.sdk.config import Config
from taipod.sdk.errors import (
    InvalidScenario,
    NonExistingScenario,
    NonExistingSequence,
    NonExistingTask,
    NoOperatorRunningError,
    TaipodError,
)
from taipod.sdk.job import parse_history
from taipod.sdk.orchestrator import operator_serves
from taipod.sdk.scenario import Scenario, Sequence, Task
from taipod.sdk.submission import Submission
from taipod.sdk.watching import Snapshot, WatchTimeout, wait_for

__all__ = ["effective_timeout", "jobs_decided", "jobs_finished", "jobs_settled", "submit"]

_log = logging.getLogger("taipod")
_CHUNK = 60.0
_ACTIVE = frozenset({Status.SUBMITTED, Status.PENDING, Status.RUNNING})


def effective_timeout(timeout: float | None) -> float | None:
    """How long Taipy's standalone ``wait`` really waits: it stops when the whole seconds elapsed reach ``timeout``."""
    if timeout is None:
        return None
    return float(max(0, math.ceil(timeout)))


def _status(body: Mapping[str, Any]) -> Status:
    raw = (body.get("status") or {}).get("status")
    return Status[str(raw)] if raw in Status.__members__ else Status.SUBMITTED


def jobs_decided(jobs: Snapshot, expected: int) -> bool:
    """All ``expected`` jobs exist and the operator has decided each one (none is still SUBMITTED)."""
    return len(jobs) >= expected and all(_status(j) is not Status.SUBMITTED for j in jobs.values())


def jobs_finished(jobs: Snapshot, expected: int) -> bool:
    return len(jobs) >= expected and all(_status(j).is_finished() for j in jobs.values())


def jobs_settled(
    jobs: Snapshot, expected: int, tasks: Mapping[str, Mapping[str, Any]], states: Mapping[str, DataNodeState]
) -> bool:
    """Nothing of the submission is left for the cluster to do: every job is finished, or BLOCKED on an input that
    was never written, is not being written, and that no job of the submission writes (it stays BLOCKED until the
    user writes it, as in Taipy)."""
    if len(jobs) < expected:
        return False
    statuses = {str((j.get("spec") or {}).get("task")): _status(j) for j in jobs.values()}
    if any(status in _ACTIVE for status in statuses.values()):
        return False
    produced = {dn for task in statuses for dn in (tasks.get(task) or {}).get("outputs") or []}
    for task, status in statuses.items():
        if status is not Status.BLOCKED:
            continue
        inputs = (tasks.get(task) or {}).get("inputs") or []
        stuck = any(
            not is_ready_for_reading(states.get(dn, DataNodeState()))
            and not states.get(dn, DataNodeState()).edit_in_progress
            and dn not in produced
            for dn in inputs
        )
        if not stuck:
            return False
    return True


def _states(scenario_body: Mapping[str, Any]) -> dict[str, DataNodeState]:
    out: dict[str, DataNodeState] = {}
    for dn, status in datanodes.entries(scenario_body.get("status") or {}).items():
        edit = status.get("lastEditDate")
        out[dn] = DataNodeState(
            last_edit_date=names.parse_time(edit) if edit else None,
            edit_in_progress=bool(status.get("editInProgress")),
            editor_job=status.get("editor"),
        )
    return out


def _input_states(
    scenario: Scenario, tasks: Mapping[str, Mapping[str, Any]], blocked: list[dict[str, Any]]
) -> dict[str, DataNodeState]:
    """The states of the inputs of the ``blocked`` jobs; shared (GLOBAL, CYCLE) ones merged over the scenarios
    sharing them, as the operator sees them."""
    states = _states(scenario._fresh())
    data_nodes = scenario.data_nodes
    for job in blocked:
        for dn in (tasks.get(str((job.get("spec") or {}).get("task"))) or {}).get("inputs") or []:
            view = data_nodes.get(dn)
            if view is not None and view.scope.name != "SCENARIO":
                states[dn] = view._state_of(view._status())
    return states


def _target(entity: Any) -> tuple[Scenario, str | None, str | None]:
    if isinstance(entity, Scenario):
        return entity, None, None
    if isinstance(entity, Sequence):
        return entity.scenario, entity.name, None
    if isinstance(entity, Task):
        return entity.scenario, None, entity.config_id
    if isinstance(entity, str):
        from taipod.sdk.api import get  # noqa: PLC0415 (api imports this module)

        found = get(entity)
        if isinstance(found, (Scenario, Sequence, Task)):
            return _target(found)
        raise NonExistingScenario(entity, hint="submit a scenario, a sequence or a task (or its id)")
    raise TypeError(f"cannot submit {entity!r}: submit a Scenario, a Sequence or a Task")


def _check(scenario: Scenario, sequence: str | None, task: str | None) -> dict[str, Any]:
    body = scenario._fresh()  # raises NonExistingScenario
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    if status.get("phase") == "Invalid":
        problems = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in status.get("problems") or [])
        raise InvalidScenario(
            f"scenario {scenario.id!r} is invalid and cannot be submitted: {problems or status.get('message')}. "
            "Fix: delete it and create it again from a corrected configuration"
        )
    if sequence is not None and sequence not in {s.get("name") for s in spec.get("sequences") or []}:
        raise NonExistingSequence(names.entity_id("SEQUENCE", sequence, scenario.id), scenario.namespace)
    if task is not None and task not in {t.get("name") for t in spec.get("tasks") or []}:
        raise NonExistingTask(names.entity_id("TASK", task, scenario.id), scenario.namespace)
    return body


def _warn_inputs_not_ready(scenario_body: Mapping[str, Any], tasks: list[str]) -> None:
    """Taipy's ``_warn_if_inputs_not_ready``: a warning for each source input never written.

    An input with default data is not one: Taipy writes it when the scenario is created, taipod's operator when it
    first sees the scenario, which may be after this submission (the job then waits for it, and does not fail)."""
    spec = scenario_body.get("spec") or {}
    chosen = [t for t in spec.get("tasks") or [] if t.get("name") in tasks]
    produced = {dn for t in chosen for dn in t.get("outputs") or []}
    defaulted = {d.get("name") for d in spec.get("dataNodes") or [] if d.get("defaultData") is not None}
    states = _states(scenario_body)
    for dn in dict.fromkeys(dn for t in chosen for dn in t.get("inputs") or []):
        if dn not in produced and dn not in defaulted and states.get(dn, DataNodeState()).last_edit_date is None:
            _log.warning("%s cannot be read because it has never been written. Hint: write it first.", dn)


def _create_submission(
    cluster: Cluster,
    scenario: str,
    sequence: str | None,
    task: str | None,
    force: bool,
    properties: dict[str, Any],
    scenario_uid: str | None = None,
    limits: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"scenario": scenario, "force": bool(force), **(limits or {})}
    if sequence is not None:
        spec["sequence"] = sequence
    if task is not None:
        spec["task"] = task
    annotations = {names.ANNOTATION_CREATED_AT: names.format_time(datetime.now(UTC))}
    kept = {k: v for k, v in properties.items() if _jsonable(v)}
    if kept:
        annotations[names.ANNOTATION_PROPERTIES] = json.dumps(kept, sort_keys=True)
    body: dict[str, Any] = {
        "apiVersion": f"{names.GROUP}/{names.VERSION}",
        "kind": "Submission",
        "metadata": {
            "name": names.submission_name(scenario),
            "labels": {names.LABEL_SCENARIO: scenario},
            "annotations": annotations,
        },
        "spec": spec,
    }
    if scenario_uid:  # owned by its scenario, as in Taipy: deleting the scenario deletes it
        body["metadata"]["ownerReferences"] = [
            {
                "apiVersion": f"{names.GROUP}/{names.VERSION}",
                "kind": "Scenario",
                "name": scenario,
                "uid": scenario_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return cluster.create(names.SUBMISSION_PLURAL, body)


def _limits(active_deadline_seconds: int | None, ttl_seconds_after_finished: int | None) -> dict[str, int]:
    """The submission's deadline and time-to-live as spec fields, checked before anything is created."""
    limits: dict[str, int] = {}
    for name, field, value, least in (
        ("active_deadline_seconds", "activeDeadlineSeconds", active_deadline_seconds, 1),
        ("ttl_seconds_after_finished", "ttlSecondsAfterFinished", ttl_seconds_after_finished, 0),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of seconds, at least {least}: got {value!r}")
        limits[field] = value
    return limits


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _wait(
    cluster: Cluster,
    what: str,
    check: Callable[[Snapshot], Any],
    timeout: float | None,
    label_selector: str | None = None,
    field_selector: str | None = None,
    plural: str = names.JOB_PLURAL,
) -> Any:
    """``wait_for`` in chunks: between chunks, make sure an operator still serves the namespace."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        chunk = _CHUNK if deadline is None else min(_CHUNK, max(0.0, deadline - time.monotonic()))
        try:
            return wait_for(cluster, plural, check, chunk, label_selector, field_selector)
        except WatchTimeout:
            if deadline is not None and time.monotonic() >= deadline:
                raise
            if operator_serves(cluster) is False:
                raise NoOperatorRunningError(
                    f"the taipod operator serving namespace {cluster.namespace!r} went away while waiting for "
                    f"{what}. Fix: call tp.Orchestrator().run(), or install the operator with "
                    "`helm install taipod charts/taipod`"
                ) from None


def _expected_jobs(cluster: Cluster, submission: str, timeout: float | None) -> tuple[int, dict[str, Any]]:
    """The number of jobs of the submission, once the operator has created them all."""

    def created(items: Snapshot) -> tuple[int, dict[str, Any]] | None:
        body = items.get(submission)
        if body is None:
            return None
        status = body.get("status") or {}
        if status.get("jobsCreated"):
            return int(status.get("jobs") or 0), body
        if status.get("submissionStatus") in ("FAILED", "CANCELED") and not status.get("jobs"):
            raise TaipodError(f"submission {submission} was refused by the operator: {status.get('message')}")
        return None

    found: tuple[int, dict[str, Any]] = _wait(
        cluster,
        f"the jobs of submission {submission}",
        created,
        timeout,
        field_selector=f"metadata.name={submission}",
        plural=names.SUBMISSION_PLURAL,
    )
    return found


def _submission_shows(cluster: Cluster, submission: Submission, accept: Callable[[SubmissionStatus], bool]) -> None:
    """Wait (a little) until the Submission's status, which the operator derives from the jobs, satisfies
    ``accept``, so that ``submission.submission_status`` agrees with ``submission.jobs`` when submit returns."""

    def shows(items: Snapshot) -> dict[str, Any] | None:
        body = items.get(submission.id)
        if body is None:
            return None
        raw = str((body.get("status") or {}).get("submissionStatus") or "SUBMITTED")
        return body if raw in SubmissionStatus.__members__ and accept(SubmissionStatus[raw]) else None

    try:
        body = wait_for(
            cluster,
            names.SUBMISSION_PLURAL,
            shows,
            settings.current().operator_timeout,
            field_selector=f"metadata.name={submission.id}",
        )
    except WatchTimeout:
        _log.warning("The status of submission %s does not reflect its jobs yet.", submission.id)
        return
    submission._update(body)


def submit(
    entity: Scenario | Sequence | Task | str,
    callbacks: Iterable[Callable[..., Any]] | None = None,
    force: bool = False,
    wait: bool = False,
    timeout: float | None = None,
    *,
    active_deadline_seconds: int | None = None,
    ttl_seconds_after_finished: int | None = None,
    **properties: Any,
) -> Submission:
    """Submit a scenario, a sequence or a task for execution; returns the ``Submission``.

    taipod's extensions to Taipy: ``active_deadline_seconds`` (the submission's unfinished jobs end FAILED past it)
    and ``ttl_seconds_after_finished`` (the finished submission is deleted with its jobs after it).
    """
    limits = _limits(active_deadline_seconds, ttl_seconds_after_finished)
    scenario, sequence, task = _target(entity)
    cluster = scenario._cluster
    body = _check(scenario, sequence, task)
    spec = body.get("spec") or {}
    if task is not None:
        chosen = [task]
    elif sequence is not None:
        chosen = next(list(s.get("tasks") or []) for s in spec.get("sequences") or [] if s.get("name") == sequence)
    else:
        chosen = [str(t.get("name")) for t in spec.get("tasks") or []]
    _warn_inputs_not_ready(body, chosen)
    development = Config.job_config.is_development
    serves = operator_serves(cluster)
    if serves is False and development:
        raise NoOperatorRunningError(
            f"cannot submit {scenario.id!r}: no taipod operator serves namespace {cluster.namespace!r}, so the jobs "
            "would never run. Fix: call tp.Orchestrator().run() before submitting (it runs the operator in this "
            "process), or install the operator in the cluster with `helm install taipod charts/taipod`"
        )
    uid = (body.get("metadata") or {}).get("uid")
    created = _create_submission(cluster, scenario.id, sequence, task, force, properties, uid, limits)
    freshness.changed()
    name = str(created["metadata"]["name"])
    submission = Submission(cluster, name, created)
    subscriptions.add_submission_callbacks(cluster, name, callbacks or ())
    if serves is False:
        _log.warning(
            "No taipod operator serves namespace %s: submission %s waits until one runs (tp.Orchestrator().run(), or "
            "`helm install taipod charts/taipod`).",
            cluster.namespace,
            name,
        )
        warnings.warn(
            f"No taipod operator serves namespace {cluster.namespace!r}: submission {name} waits until one runs "
            "(tp.Orchestrator().run(), or `helm install taipod charts/taipod`).",
            ResourceWarning,
            stacklevel=2,
        )
        return submission
    selector = f"{names.LABEL_SUBMISSION}={name}"
    # Standalone: Taipy's submit returns once the jobs exist and are decided; do not wait forever for that.
    decided_timeout = None if development else settings.current().operator_timeout
    try:
        expected, sub_body = _expected_jobs(cluster, name, decided_timeout)
        submission._update(sub_body)
        jobs: Snapshot = _wait(
            cluster,
            f"the jobs of {name}",
            lambda s: s if jobs_decided(s, expected) else None,
            decided_timeout,
            selector,
        )
    except WatchTimeout:
        _log.warning(
            "The operator serving namespace %s has not yet created and decided the jobs of submission %s after %s s; "
            "returning (they will run when it gets to them).",
            cluster.namespace,
            name,
            decided_timeout,
        )
        return submission
    if expected and not development:
        _submission_shows(cluster, submission, lambda status: status is not SubmissionStatus.SUBMITTED)
    if development:
        tasks = {str(t.get("name")): t for t in spec.get("tasks") or []}

        def settled(items: Snapshot) -> Snapshot | None:
            if len(items) < expected or any(_status(j) in _ACTIVE for j in items.values()):
                return None
            blocked = [j for j in items.values() if _status(j) is Status.BLOCKED]
            states = _input_states(scenario, tasks, blocked) if blocked else {}
            return items if jobs_settled(items, expected, tasks, states) else None

        jobs = _wait(cluster, f"submission {name} to finish", settled, None, selector)
        final = submission_status(_status(j) for j in jobs.values())
        _submission_shows(cluster, submission, lambda status: status is final)
        subscriptions.flush(cluster, {job: len(parse_history(b)) for job, b in jobs.items()})
        subscriptions.drop_submission_callbacks(cluster, name)
    elif wait:
        limit = effective_timeout(timeout)
        try:
            jobs = _wait(
                cluster,
                f"submission {name} to finish",
                lambda s: s if jobs_finished(s, expected) else None,
                limit,
                selector,
            )
        except WatchTimeout:
            _log.info("Submission %s is not finished after %s s: returning without waiting more.", name, limit)
    return submission
