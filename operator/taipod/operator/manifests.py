"""Kubernetes objects and status patches the operator writes, built from records and plan decisions (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from taipod.api.models import API_VERSION
from taipod.core.dag import Dag, DataNodeDef, SequenceDef, TaskDef, build_dag
from taipod.core.history import Transition, execution_duration, job_times
from taipod.core.plan import JobChange
from taipod.core.retry import Attempt
from taipod.core.status import FINISHED, Scope, Status
from taipod.operator.config import OperatorConfig
from taipod.operator.names import (
    ANNOTATION_CREATED_AT,
    LABEL_JOB,
    LABEL_MANAGED_BY,
    LABEL_SCENARIO,
    LABEL_SUBMISSION,
    attempt_batch_name,
    format_time,
    label_value,
)
from taipod.operator.records import JobRecord, ScenarioRecord
from taipod.storage import resolve_url

__all__ = [
    "batch_job",
    "condition",
    "dag_from_spec",
    "data_node_owner",
    "data_node_url",
    "job_resource",
    "job_status_patch",
    "owner_reference",
    "run_labels",
    "shared_key",
]

CONTAINER = "task"
FUNCTION_MOUNT = "/var/run/taipod/function"


def dag_from_spec(spec: Mapping[str, Any]) -> Dag:
    """The scenario's validated DAG; raises ``SpecErrors`` naming every bad field."""
    data_nodes = [
        DataNodeDef(
            name=str(dn.get("name", "")),
            storage_type=str(dn.get("storageType", "pickle")),
            scope=Scope[str(dn.get("scope", "SCENARIO"))],
            validity_period=(
                timedelta(seconds=dn["validityPeriodSeconds"]) if dn.get("validityPeriodSeconds") is not None else None
            ),
            has_default_data=dn.get("defaultData") is not None,
        )
        for dn in spec.get("dataNodes") or []
    ]
    tasks = [
        TaskDef(
            name=str(task.get("name", "")),
            function=str(task.get("function", "")),
            inputs=tuple(task.get("inputs") or ()),
            outputs=tuple(task.get("outputs") or ()),
            skippable=bool(task.get("skippable", False)),
        )
        for task in spec.get("tasks") or []
    ]
    sequences = [SequenceDef(str(s.get("name", "")), tuple(s.get("tasks") or ())) for s in spec.get("sequences") or []]
    return build_dag(data_nodes, tasks, sequences)


def shared_key(scenario_spec: Mapping[str, Any], dn: DataNodeDef) -> str | None:
    """Which scenarios share ``dn``: None for a SCENARIO node, else a key equal for every scenario sharing it."""
    if dn.scope is Scope.GLOBAL:
        return f"global/{dn.name}"
    if dn.scope is Scope.CYCLE:
        return f"cycle/{scenario_spec.get('cycle') or 'default'}/{dn.name}"
    return None


def data_node_owner(scenario: str, scenario_spec: Mapping[str, Any], dn: DataNodeDef) -> str:
    if dn.scope is Scope.GLOBAL:
        return "_global"
    if dn.scope is Scope.CYCLE:
        return f"_cycle_{scenario_spec.get('cycle') or 'default'}"
    return scenario


def data_node_url(config: OperatorConfig, scenario: ScenarioRecord, dn: DataNodeDef) -> str:
    spec_dn: Mapping[str, Any] = scenario.dn_specs.get(dn.name, {})
    return resolve_url(
        config.storage_url,
        scenario.namespace,
        data_node_owner(scenario.name, scenario.spec, dn),
        dn.name,
        dn.storage_type,
        spec_dn.get("path"),
    )


SUCCEEDED = frozenset({Status.COMPLETED, Status.SKIPPED})


def job_conditions(current: Status, generation: int, now: datetime) -> list[dict[str, Any]]:
    """``Finished`` (once finished) and Tekton's ``Succeeded``: True (COMPLETED, SKIPPED), False (FAILED, CANCELED,
    ABANDONED), Unknown while the job has not finished, so that ``kubectl wait --for=condition=Succeeded`` scripts
    against success and ``--for=condition=Succeeded=False`` against failure."""
    reason, message = current.name.capitalize(), f"the job is {current.name}"
    finished = current in FINISHED
    succeeded = condition("Succeeded", current in SUCCEEDED, reason, message, generation, now)
    if not finished:
        return [{**succeeded, "status": "Unknown"}]
    return [condition("Finished", True, reason, message, generation, now), succeeded]


def condition(type_: str, ok: bool, reason: str, message: str, generation: int, now: datetime) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message[:1024],
        "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "observedGeneration": generation,
    }


def owner_reference(kind: str, owner: ScenarioRecord) -> dict[str, Any]:
    """An ownerReference to a taipod resource (the garbage collector deletes the child with it)."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _labels(scenario: str, submission: str, job: str | None = None) -> dict[str, str]:
    labels = {
        LABEL_SCENARIO: label_value(scenario),
        LABEL_SUBMISSION: label_value(submission),
        LABEL_MANAGED_BY: "taipod",
    }
    if job is not None:
        labels[LABEL_JOB] = job
    return labels


def run_labels(job: JobRecord) -> dict[str, str]:
    """The labels of the batch Job running ``job`` and of its pod."""
    return _labels(job.scenario, job.submission, job.name)


def job_resource(
    name: str, namespace: str, submission: Mapping[str, Any], task: str, force: bool, now: datetime
) -> dict[str, Any]:
    """A Job resource for one task of a submission, owned by the submission (deleting it deletes its jobs)."""
    sub_meta = submission["metadata"]
    scenario = submission["spec"]["scenario"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _labels(scenario, sub_meta["name"]),
            "annotations": {ANNOTATION_CREATED_AT: format_time(now)},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Submission",
                    "name": sub_meta["name"],
                    "uid": sub_meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"scenario": scenario, "submission": sub_meta["name"], "task": task, "force": force},
    }


def current_attempt(job: JobRecord) -> int:
    """The number of the attempt a job runs now (or ran last, once finished without a retry strategy): 1 + the
    attempts recorded while it is not finished."""
    if job.history and job.history[-1].status in FINISHED:
        return max(len(job.attempts), 1)
    return len(job.attempts) + 1


def current_batch_name(job: JobRecord) -> str:
    return attempt_batch_name(job.name, current_attempt(job))


def batch_job(
    config: OperatorConfig,
    job: JobRecord,
    scenario: ScenarioRecord,
    dag: Dag,
    task_spec: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The batch/v1 Job running the current attempt of ``job``: one pod, never retried by Kubernetes (taipod's
    retries make a new batch Job per attempt), owned by the Job resource. ``now``, the time of its dispatch, is
    recorded on it (to the microsecond): the job's PENDING time, even when the operator restarts before writing it."""
    task = dag.tasks[job.task]

    # Values travel through the store only, never the pod's environment: the operator writes default data there
    # before any task reads it (a large default would not fit in an environment variable).
    def port(dn_name: str) -> dict[str, Any]:
        dn = dag.data_nodes[dn_name]
        return {"name": dn_name, "storageType": dn.storage_type, "url": data_node_url(config, scenario, dn)}

    pickled = task_spec.get("pickled")
    runner_task = {
        "job": job.name,
        "task": job.task,
        "function": task.function,
        "pickled": (
            {"path": f"{FUNCTION_MOUNT}/{pickled['key']}", "pythonVersion": pickled["pythonVersion"]}
            if pickled
            else None
        ),
        "inputs": [port(dn) for dn in task.inputs],
        "outputs": [port(dn) for dn in task.outputs],
    }
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if config.storage_pvc:
        mounts.append({"name": "data", "mountPath": config.storage_mount})
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": config.storage_pvc}})
    if pickled:
        mounts.append({"name": "function", "mountPath": FUNCTION_MOUNT, "readOnly": True})
        volumes.append(
            {
                "name": "function",
                "configMap": {"name": pickled["configMap"], "items": [{"key": pickled["key"], "path": pickled["key"]}]},
            }
        )
    env = [
        {"name": "TAIPOD_TASK", "value": json.dumps(runner_task, separators=(",", ":"))},
        {"name": "TAIPOD_ATTEMPT", "value": str(current_attempt(job))},
    ]
    if config.storage_endpoint:
        env.append({"name": "TAIPOD_STORAGE_ENDPOINT", "value": config.storage_endpoint})
    if config.storage_region:
        env.append({"name": "TAIPOD_STORAGE_REGION", "value": config.storage_region})
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": task_spec.get("image") or scenario.spec.get("image") or config.runner_image,
        "env": env,
        "terminationMessagePolicy": "File",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": 10001,
        },
    }
    if config.storage_secret:
        # The store's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), from the namespace's Secret.
        container["envFrom"] = [{"secretRef": {"name": config.storage_secret, "optional": True}}]
    if task_spec.get("resources"):
        container["resources"] = {k: v for k, v in task_spec["resources"].items() if v}
    if mounts:
        container["volumeMounts"] = mounts
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    if config.runner_service_account:
        pod_spec["serviceAccountName"] = config.runner_service_account
    node_selector = {**config.task_node_selector, **(task_spec.get("nodeSelector") or {})}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if config.task_tolerations:
        pod_spec["tolerations"] = [dict(t) for t in config.task_tolerations]
    if volumes:
        pod_spec["volumes"] = volumes
    labels = run_labels(job)
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if task_spec.get("timeoutSeconds"):
        spec["activeDeadlineSeconds"] = int(task_spec["timeoutSeconds"])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": current_batch_name(job),
            "namespace": job.namespace,
            "labels": labels,
            **({"annotations": {ANNOTATION_CREATED_AT: format_time(now)}} if now is not None else {}),
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Job",
                    "name": job.name,
                    "uid": job.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def _duration_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _history_entry(t: Transition) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": t.status.name, "at": format_time(t.at)}
    if t.reason:
        entry["reason"] = t.reason
    return entry


def _attempt_entry(a: Attempt) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "attempt": a.number,
        "batchJob": a.batch,
        "status": a.status.name,
        "finishedAt": format_time(a.finished_at),
    }
    for key, value in (
        ("pod", a.pod),
        ("startedAt", a.started_at and format_time(a.started_at)),
        ("reason", a.reason),
        ("message", a.message),
        ("exitCode", a.exit_code),
    ):
        if value is not None:
            entry[key] = value
    return entry


def job_status_patch(job: JobRecord, change: JobChange, now: datetime) -> dict[str, Any]:
    """A merge patch of the Job's status for ``change``, conditional on the resourceVersion it was decided on.

    The stacktrace and reason travel in the same patch as FAILED, so nobody sees FAILED without them (Taipy records
    the stacktrace after announcing FAILED, §6; the decisions fix that).
    """
    history: list[Transition] = list(job.history) or [Transition(Status.SUBMITTED, job.created_at)]
    for transition in change.transitions:
        if history[-1].status is not transition.status and history[-1].status not in FINISHED:
            history.append(Transition(transition.status, max(transition.at, history[-1].at), transition.reason))
    status: dict[str, Any] = {}
    if len(history) > 1 or not job.history:
        # Only what kubectl's columns and `kubectl wait` need besides the history: every other time is in it, and
        # each byte here is sent, stored and watched three times per job.
        times = job_times(history)
        current = history[-1].status
        finished = current in FINISHED
        status.update(
            {
                "status": current.name,
                "history": [_history_entry(t) for t in history],
                "runAt": times.run_at and format_time(times.run_at),
                "finishedAt": times.finished_at and format_time(times.finished_at),
                "duration": _duration_text(execution_duration(history, now)) if finished else None,
                "conditions": job_conditions(current, job.generation, now),
            }
        )
        if current in FINISHED and not change.reason and history[-1].reason:
            status["reason"] = history[-1].reason
        if current is not Status.BLOCKED and any(t.status is Status.BLOCKED for t in history):
            status["message"] = None  # "waiting for data node(s)..." said why it was BLOCKED: no longer true
    for key, value in (
        ("reason", change.reason),
        ("message", change.message),
        ("stacktrace", change.stacktrace),
        ("exitCode", change.exit_code),
        ("pod", change.pod),
        ("outputsReleased", change.outputs_released),
        ("cancel", change.cancel_outcome),
        ("cancelRequest", change.cancel_request),
    ):
        if value is not None:
            status[key] = value
    for key in change.clear:
        status.setdefault(key, None)  # a merge patch's null removes the field
    if history[-1].status in FINISHED and job.status.get("nextAttemptAt"):
        status["nextAttemptAt"] = None
    if change.record_batch is not None:
        status["batchJob"] = {"name": change.record_batch[0], "uid": change.record_batch[1]}
    if change.attempts is not None:
        status["attempts"] = [_attempt_entry(a) for a in change.attempts]
    if change.next_attempt_at is not None:
        status["nextAttemptAt"] = format_time(change.next_attempt_at)
    return {"metadata": {"resourceVersion": str(job.rv)}, "status": status}


def entity_tasks(dag: Dag, sequence: str | None, task: str | None) -> Sequence[str]:
    """The tasks a submission runs, in execution order; raises KeyError naming what is unknown."""
    if task:
        if task not in dag.tasks:
            raise KeyError(f"spec.task: the scenario has no task {task!r}")
        return [task]
    if sequence:
        if sequence not in dag.sequences:
            raise KeyError(f"spec.sequence: the scenario has no sequence {sequence!r}")
        return dag.sorted_tasks(dag.sequences[sequence].tasks)
    return dag.sorted_tasks()
