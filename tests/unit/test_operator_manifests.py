"""What the operator writes, built from records (pure functions, no cluster)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from taipod.core.history import Transition
from taipod.core.plan import JobChange
from taipod.core.status import Status
from taipod.operator import manifests
from taipod.operator.config import OperatorConfig
from taipod.operator.records import batch_record, job_record, pod_record, scenario_record

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
SCENARIO = scenario_record(
    {
        "metadata": {
            "name": "doubling",
            "namespace": "ns",
            "uid": "u-s",
            "resourceVersion": "7",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "dataNodes": [
                {"name": "input", "defaultData": 21},
                {"name": "output", "storageType": "json", "scope": "GLOBAL"},
            ],
            "tasks": [
                {
                    "name": "double",
                    "function": "__main__:double",
                    "inputs": ["input"],
                    "outputs": ["output"],
                    "timeoutSeconds": 30,
                    "resources": {"limits": {"memory": "64Mi"}},
                    "pickled": {"configMap": "doubling-functions", "key": "double", "pythonVersion": "3.11"},
                }
            ],
        },
    }
)
JOB = job_record(
    {
        "metadata": {
            "name": "sub-double-abcde",
            "namespace": "ns",
            "uid": "u-j",
            "resourceVersion": "12",
            "annotations": {"taipod.io/created-at": "2026-01-01T11:59:59.123456Z"},
        },
        "spec": {"scenario": "doubling", "submission": "sub", "task": "double", "force": False},
    }
)


def test_batch_job_runs_one_pod_once_owned_by_the_job_resource() -> None:
    dag = manifests.dag_from_spec(SCENARIO.spec)
    body = manifests.batch_job(OperatorConfig(), JOB, SCENARIO, dag, SCENARIO.task_specs["double"])
    assert body["metadata"]["ownerReferences"][0] == {
        "apiVersion": "taipod.io/v1alpha1",
        "kind": "Job",
        "name": "sub-double-abcde",
        "uid": "u-j",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    spec = body["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 30)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/taipod/runner:0.1.0"
    assert container["resources"] == {"limits": {"memory": "64Mi"}}
    task = json.loads(container["env"][0]["value"])
    # No value travels in the pod's spec: default data is in the store, written by the operator before any task.
    assert task["inputs"] == [
        {"name": "input", "storageType": "pickle", "url": "file:///var/lib/taipod/data/ns/doubling/input.pkl"}
    ]
    assert task["outputs"] == [
        {"name": "output", "storageType": "json", "url": "file:///var/lib/taipod/data/ns/_global/output.json"}
    ]
    assert task["pickled"] == {"path": "/var/run/taipod/function/double", "pythonVersion": "3.11"}
    assert {v["name"] for v in pod["volumes"]} == {"data", "function"}
    assert body["metadata"]["labels"]["taipod.io/job"] == "sub-double-abcde"
    assert container["envFrom"] == [{"secretRef": {"name": "taipod-storage", "optional": True}}]


def test_batch_job_on_object_storage_mounts_no_claim_and_names_the_endpoint() -> None:
    dag = manifests.dag_from_spec(SCENARIO.spec)
    config = OperatorConfig.from_env(
        {"TAIPOD_STORAGE_URL": "s3://taipod/data", "TAIPOD_STORAGE_ENDPOINT": "http://127.0.0.1:7070"}
    )
    assert config.storage_pvc == ""
    body = manifests.batch_job(config, JOB, SCENARIO, dag, SCENARIO.task_specs["double"])
    container = body["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TAIPOD_STORAGE_ENDPOINT"] == "http://127.0.0.1:7070"
    assert json.loads(env["TAIPOD_TASK"])["inputs"][0]["url"] == "s3://taipod/data/ns/doubling/input.pkl"
    assert "data" not in {v["name"] for v in body["spec"]["template"]["spec"]["volumes"]}


def test_status_patch_is_conditional_and_keeps_every_transition() -> None:
    change = JobChange(JOB.name, transitions=[Transition(Status.PENDING, NOW), Transition(Status.RUNNING, NOW)])
    patch = manifests.job_status_patch(JOB, change, NOW)
    assert patch["metadata"] == {"resourceVersion": "12"}
    status = patch["status"]
    assert [h["status"] for h in status["history"]] == ["SUBMITTED", "PENDING", "RUNNING"]
    assert status["history"][0]["at"] == "2026-01-01T11:59:59.123456Z"
    assert status["runAt"] == status["history"][1]["at"] == "2026-01-01T12:00:00.000000Z"
    assert status["status"] == "RUNNING" and status["finishedAt"] is None
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [("Succeeded", "Unknown")]


@pytest.mark.parametrize(
    ("status", "succeeded"),
    [(Status.COMPLETED, "True"), (Status.SKIPPED, "True"), (Status.FAILED, "False"), (Status.ABANDONED, "False")],
)
def test_finished_jobs_say_whether_they_succeeded(status: Status, succeeded: str) -> None:
    change = JobChange(JOB.name, transitions=[Transition(status, NOW)])
    conditions = manifests.job_status_patch(JOB, change, NOW)["status"]["conditions"]
    assert [(c["type"], c["status"]) for c in conditions] == [("Finished", "True"), ("Succeeded", succeeded)]
    assert conditions[1]["reason"] == status.name.capitalize()


def test_failed_patch_carries_stacktrace_with_the_status() -> None:
    change = JobChange(
        JOB.name,
        transitions=[Transition(Status.FAILED, NOW, "TaskFailed")],
        reason="TaskFailed",
        message="ValueError: x",
        stacktrace=["Traceback ..."],
        exit_code=1,
    )
    status = manifests.job_status_patch(JOB, change, NOW)["status"]
    assert (status["status"], status["reason"], status["stacktrace"], status["exitCode"]) == (
        "FAILED",
        "TaskFailed",
        ["Traceback ..."],
        1,
    )
    assert status["conditions"][0]["type"] == "Finished" and status["conditions"][0]["status"] == "True"


def test_records_read_pod_and_batch_facts() -> None:
    pod = pod_record(
        {
            "metadata": {
                "name": "p",
                "namespace": "ns",
                "labels": {"taipod.io/job": "j"},
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "deletionTimestamp": "2026-01-01T00:00:05Z",
            },
            "status": {
                "phase": "Failed",
                "reason": "Evicted",
                "containerStatuses": [
                    {
                        "state": {
                            "terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": "x", "message": "m"}
                        }
                    }
                ],
            },
        }
    )
    assert (pod.job, pod.facts.phase, pod.facts.deleting, pod.facts.started) == ("j", "Failed", True, True)
    assert (pod.facts.terminated_reason, pod.facts.exit_code, pod.facts.pod_reason) == ("OOMKilled", 137, "Evicted")
    batch = batch_record(
        {
            "metadata": {"name": "b", "namespace": "ns", "uid": "u", "labels": {"taipod.io/job": "j"}},
            "status": {
                "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "late"}]
            },
        }
    )
    assert (batch.job, batch.failed_reason, batch.failed_message) == ("j", "DeadlineExceeded", "late")


def test_cancel_request_is_handled_per_value() -> None:
    def record(annotation: str, status: dict[str, str]) -> bool:
        return job_record(
            {"metadata": {"name": "j", "annotations": {"taipod.io/cancel": annotation}}, "spec": {}, "status": status}
        ).cancel_handled

    assert not record("true", {})
    assert record("true", {"cancel": "done", "cancelRequest": "true"})
    assert not record("terminate", {"cancel": "done", "cancelRequest": "true"})
