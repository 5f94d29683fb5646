"""Job functions: ``get_jobs``, ``get_latest_job``, ``cancel_job``, ``delete_job``, ``delete_jobs``, ``is_deletable``.

Cancel follows Taipy's rules, applied by the operator: the SDK annotates the Job (``taipod.io/cancel``), waits for
the operator's answer (``status.cancel``) and logs it at INFO, as Taipy logs its own; a FAILED, CANCELED or
ABANDONED job is refused without asking. Deleting an unfinished job raises ``JobNotDeletedException`` before any
API call unless forced; forcing sets the annotation that the API server's admission policy requires.
"""

from __future__ import annotations

import logging
from typing import Any

from kubernetes.client.exceptions import ApiException

from taipod.core.jobs import CancelPlan, JobView, plan_cancel
from taipod.core.status import FINISHED, Status
from taipod.sdk import cluster as _cluster
from taipod.sdk import freshness, names, settings
from taipod.sdk.cluster import Cluster
from taipod.sdk.errors import JobNotDeletedException, NonExistingJob, ReasonCollection, TaipodError
from taipod.sdk.job import Job
from taipod.sdk.orchestrator import operator_serves
from taipod.sdk.scenario import Scenario, Task
from taipod.sdk.submission import sort_jobs
from taipod.sdk.watching import WatchTimeout, wait_for

__all__ = ["cancel_job", "delete_job", "delete_jobs", "get_jobs", "get_latest_job", "is_deletable", "resolve_job"]

_log = logging.getLogger("taipod")


def _jobs_from(cluster: Cluster, items: list[dict[str, Any]]) -> list[Job]:
    scenarios: dict[str, Scenario] = {}
    jobs = []
    for item in items:
        scenario = str((item.get("spec") or {}).get("scenario", ""))
        if scenario not in scenarios:
            scenarios[scenario] = Scenario(cluster, scenario)
        jobs.append(Job._from_body(cluster, item, scenarios[scenario]))
    return sort_jobs(jobs)


def get_jobs() -> list[Job]:
    """Every job of the namespace, in creation order: one LIST call."""
    cluster = _cluster.current()
    return _jobs_from(cluster, cluster.items(names.JOB_PLURAL))


def get_latest_job(task: Task) -> Job | None:
    """The newest job of ``task``, or None."""
    cluster = task.scenario._cluster
    items = [
        item
        for item in cluster.items(names.JOB_PLURAL, f"{names.LABEL_SCENARIO}={task.scenario.id}")
        if (item.get("spec") or {}).get("task") == task.config_id
    ]
    jobs = _jobs_from(cluster, items)
    return jobs[-1] if jobs else None


def resolve_job(job: Job | str) -> Job:
    """The Job for a Job or a job id (raises ``NonExistingJob`` for an unknown id)."""
    if isinstance(job, Job):
        return job
    if not isinstance(job, str):
        raise TypeError(f"expected a Job or a job id, got {job!r}")
    cluster = _cluster.current()
    body = cluster.get(names.JOB_PLURAL, job)
    if body is None:
        raise NonExistingJob(job, cluster.namespace)
    return Job._from_body(cluster, body)


def _fresh(job: Job) -> dict[str, Any]:
    body = job._cluster.get(names.JOB_PLURAL, job.id)
    if body is None:
        raise NonExistingJob(job.id, job.namespace)
    job._update(body)
    return body


def _status(body: dict[str, Any]) -> Status:
    raw = (body.get("status") or {}).get("status")
    return Status[str(raw)] if raw in Status.__members__ else Status.SUBMITTED


def cancel_job(job: Job | str, terminate: bool = False) -> None:
    """Cancel ``job`` with Taipy's rules (semantics §5). ``terminate=True`` (taipod's extension) also stops the pod
    of a RUNNING job, which then ends CANCELED. Refusals are logged, not raised, as in Taipy."""
    job = resolve_job(job)
    body = _fresh(job)
    status = _status(body)
    refused = plan_cancel(JobView(job.id, job.task_config_id, job.submit_id, status), []).refused
    if refused:
        _log.info("%s.", refused[0].upper() + refused[1:])
        return
    cluster = job._cluster
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    previous = (body.get("status") or {}).get("cancel")
    if previous:
        # The operator answers one cancel request per job: repeat its answer.
        _log.info("%s.", str(previous)[0].upper() + str(previous)[1:])
        return
    value = "terminate" if terminate else "true"
    if annotations.get(names.ANNOTATION_CANCEL) != value:
        body = cluster.patch(names.JOB_PLURAL, job.id, {"metadata": {"annotations": {names.ANNOTATION_CANCEL: value}}})
        freshness.changed()
        job._update(body)
    if operator_serves(cluster) is False:
        _log.warning(
            "Cancel of job %s requested, but no taipod operator serves namespace %s: it takes effect when one runs "
            "(tp.Orchestrator().run(), or `helm install taipod charts/taipod`).",
            job.id,
            cluster.namespace,
        )
        return

    def answered(items: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        found = items.get(job.id)
        if found is None:
            raise NonExistingJob(job.id, cluster.namespace, "it was deleted while being canceled")
        return found if (found.get("status") or {}).get("cancel") else None

    plan = _plan(job, status, terminate)
    timeout = settings.current().operator_timeout
    try:
        body = wait_for(cluster, names.JOB_PLURAL, answered, timeout, field_selector=f"metadata.name={job.id}")
        job._update(body)
        # As in Taipy, cancel_job returns once its effects are done: the target and its dependents decided.
        waiting = set(plan.abandoned | plan.canceled)
        wait_for(
            cluster,
            names.JOB_PLURAL,
            lambda items: True if all(_status(items[n]) in FINISHED for n in waiting if n in items) else None,
            timeout,
            label_selector=f"{names.LABEL_SUBMISSION}={job.submit_id}",
        )
        freshness.changed()
    except WatchTimeout:
        _log.warning(
            "The operator did not complete the cancel request of job %s within %s s; it stays requested.",
            job.id,
            timeout,
        )
        return
    answer = str((body.get("status") or {}).get("cancel"))
    _log.info("%s.", answer[0].upper() + answer[1:])


def _plan(job: Job, status: Status, terminate: bool) -> CancelPlan:
    """What the operator will do, by the same core rules: which jobs to wait for."""
    spec = Scenario(job._cluster, job.scenario_id)._spec()
    tasks = {str(t.get("name")): t for t in spec.get("tasks") or []}

    def view(name: str, task: str, job_status: Status) -> JobView:
        t = tasks.get(task) or {}
        return JobView(
            name, task, job.submit_id, job_status, tuple(t.get("inputs") or ()), tuple(t.get("outputs") or ())
        )

    items = job._cluster.items(names.JOB_PLURAL, f"{names.LABEL_SUBMISSION}={job.submit_id}")
    views = [view(str(i["metadata"]["name"]), str((i.get("spec") or {}).get("task")), _status(i)) for i in items]
    return plan_cancel(view(job.id, job.task_config_id, status), views, terminate_running=terminate)


def delete_job(job: Job | str, force: bool = False) -> None:
    """Delete ``job``; raises ``JobNotDeletedException`` if it is not finished and ``force`` is False."""
    job = resolve_job(job)
    status = job.status  # re-read unless read just now
    cluster = job._cluster
    if status not in FINISHED:
        if not force:
            _log.error("Job %s is not finished yet (%s) and cannot be deleted.", job.id, status.name)
            raise JobNotDeletedException(job.id, status)
        cluster.patch(names.JOB_PLURAL, job.id, {"metadata": {"annotations": {names.ANNOTATION_FORCE_DELETE: "true"}}})
    cluster.delete(names.JOB_PLURAL, job.id)
    freshness.changed()


def delete_jobs() -> None:
    """Delete every job of the namespace, whatever its status (as Taipy's ``delete_jobs``)."""
    cluster = _cluster.current()
    freshness.changed()
    items = cluster.items(names.JOB_PLURAL)
    for item in items:
        if _status(item) not in FINISHED:
            try:
                cluster.patch(
                    names.JOB_PLURAL,
                    str(item["metadata"]["name"]),
                    {"metadata": {"annotations": {names.ANNOTATION_FORCE_DELETE: "true"}}},
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise
    try:
        cluster.call(
            "delete the jobs",
            cluster.custom.delete_collection_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            cluster.namespace,
            names.JOB_PLURAL,
            propagation_policy="Background",
        )
    except (TaipodError, ApiException):
        # A job created meanwhile, unfinished and not annotated, makes the collection delete fail: one by one.
        for item in cluster.items(names.JOB_PLURAL):
            name = str(item["metadata"]["name"])
            if _status(item) not in FINISHED:
                cluster.patch(
                    names.JOB_PLURAL, name, {"metadata": {"annotations": {names.ANNOTATION_FORCE_DELETE: "true"}}}
                )
            cluster.delete(names.JOB_PLURAL, name)


def is_deletable(job: Job | str) -> ReasonCollection:
    """Truthy if the job is finished; else ``reasons`` says why not (or that it does not exist)."""
    try:
        resolved = resolve_job(job)
        status = _status(_fresh(resolved))
    except NonExistingJob:
        return ReasonCollection([f"Entity {job if isinstance(job, str) else job.id} does not exist in the repository"])
    if status in FINISHED:
        return ReasonCollection()
    return ReasonCollection([f"The job {resolved.id} is not finished yet ({status.name})"])


def wait_deleted(cluster: Cluster, plural: str, name: str, timeout: float = 30.0) -> bool:
    """Wait until the object is gone (finalizers run); False on timeout."""
    try:
        wait_for(
            cluster,
            plural,
            lambda items: True if name not in items else None,
            timeout,
            field_selector=f"metadata.name={name}",
        )
    except WatchTimeout:
        return False
    return True
