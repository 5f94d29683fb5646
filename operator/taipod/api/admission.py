"""The ValidatingAdmissionPolicies of taipod: the API server refuses deleting an unfinished Job, Submission or
Scenario (decisions, "Delete"; Taipy's ``is_deletable``), and editing the spec of a Scenario, Submission or Job (they
are immutable, as Taipy's entities are).

A plain ``kubectl delete tpjob X`` of a job that is not finished is denied with a message saying what to do (the fix
for a RUNNING job is to stop it, not to cancel it); the force annotation (set by ``tp.delete_job(job, force=True)``)
lets it through. A Submission with unfinished jobs, and a Scenario with unfinished submissions, are guarded alike.
Deletions made by Kubernetes itself are let through so that cascades work: the garbage collector (deleting a
Scenario deletes its submissions, and a Submission its jobs, as Taipy's hard delete does) and the namespace
controller, and so is any deletion in a namespace being deleted.

Immutability is a policy on UPDATE of the resources themselves, not a CRD rule: CRD rules also run on every write of
the status subresource, where comparing a large spec with its old self dominated the cost of the operator's writes.
A policy matching ``scenarios`` does not match ``scenarios/status``, so status writes never evaluate it.

The chart renders the same policies (``charts/taipod/templates/admission-policy.yaml``); a test keeps them equal.
"""

from __future__ import annotations

from typing import Any

from taipod.api.models import GROUP, VERSION

__all__ = [
    "FORCE_DELETE_ANNOTATION",
    "IMMUTABLE_POLICY_NAME",
    "POLICY_NAME",
    "binding",
    "documents",
    "immutable_policy",
    "policy",
]

FORCE_DELETE_ANNOTATION = "taipod.io/force-delete"
POLICY_NAME = "taipod-job-delete-guard"
IMMUTABLE_POLICY_NAME = "taipod-spec-immutable"
FINISHED = ["COMPLETED", "FAILED", "SKIPPED", "CANCELED", "ABANDONED"]
SUBMISSION_FINISHED = ["COMPLETED", "FAILED", "CANCELED"]  # Taipy's finished submission statuses

_SYSTEM_DELETERS = [
    "system:serviceaccount:kube-system:generic-garbage-collector",
    "system:serviceaccount:kube-system:namespace-controller",
]

# CEL: allowed when finished, forced, or deleted by Kubernetes itself. A Job is finished by its status; a Submission
# once its status is final (or before it has jobs: a refused one); a Scenario once the operator counts no unfinished
# submission under it (``status.unfinishedSubmissions``), as Taipy's is_deletable says.
_RESOURCE = "request.resource.resource"
_STATUS = "((has(oldObject.status) && has(oldObject.status.status)) ? oldObject.status.status : 'SUBMITTED')"
_SUB_STATUS = (
    "((has(oldObject.status) && has(oldObject.status.submissionStatus)) ? oldObject.status.submissionStatus "
    ": 'SUBMITTED')"
)
_SUB_HAS_JOBS = "(has(oldObject.status) && has(oldObject.status.jobsCreated) && oldObject.status.jobsCreated)"
_UNFINISHED_SUBMISSIONS = (
    "((has(oldObject.status) && has(oldObject.status.unfinishedSubmissions)) ? "
    "oldObject.status.unfinishedSubmissions : 0)"
)
_UNFINISHED = (
    f"({_RESOURCE} == 'jobs' && !({_STATUS} in {FINISHED!r})) || "
    f"({_RESOURCE} == 'submissions' && {_SUB_HAS_JOBS} && !({_SUB_STATUS} in {SUBMISSION_FINISHED!r})) || "
    f"({_RESOURCE} == 'scenarios' && {_UNFINISHED_SUBMISSIONS} > 0)"
)
VALIDATION_EXPRESSION = (
    f"!({_UNFINISHED}) || "
    f"(has(oldObject.metadata.annotations) && oldObject.metadata.annotations[?'{FORCE_DELETE_ANNOTATION}']"
    ".orValue('') == 'true') || "
    f"request.userInfo.username in {_SYSTEM_DELETERS!r} || "
    "(namespaceObject != null && has(namespaceObject.status) && has(namespaceObject.status.phase) && "
    "namespaceObject.status.phase == 'Terminating')"
).replace("'", '"')
_NAME = "oldObject.metadata.name"
_FORCE = (
    f"'force the deletion (kubectl annotate ' + {_RESOURCE} + '.taipod.io ' + {_NAME} + "
    f"' {FORCE_DELETE_ANNOTATION}=true, then delete it again; or taipod delete --force)'"
)
_JOB_FIX = (
    f"({_STATUS} == 'RUNNING' ? 'stop it (kubectl annotate jobs.taipod.io ' + {_NAME} + "
    "' taipod.io/cancel=terminate, or taipod cancel --terminate; taipod.io/cancel=true lets a RUNNING job finish)' "
    f": 'cancel it (kubectl annotate jobs.taipod.io ' + {_NAME} + ' taipod.io/cancel=true)')"
)
MESSAGE_EXPRESSION = (
    f"{_RESOURCE} == 'jobs' ? "
    f"'taipod job ' + {_NAME} + ' is ' + {_STATUS} + ' and not finished, so it cannot be deleted: wait until it "
    f"finishes, ' + {_JOB_FIX} + ', or ' + {_FORCE} : "
    f"({_RESOURCE} == 'submissions' ? "
    f"'taipod submission ' + {_NAME} + ' is ' + {_SUB_STATUS} + ' and has unfinished jobs, so it cannot be deleted: "
    f"wait until it finishes, cancel its jobs, or ' + {_FORCE} : "
    f"'taipod scenario ' + {_NAME} + ' has ' + string({_UNFINISHED_SUBMISSIONS}) + ' unfinished submission(s), so it "
    f"cannot be deleted: wait until they finish, cancel their jobs, or ' + {_FORCE})"
)


def _policy(name: str, operations: list[str], resources: list[str], validation: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "taipod"}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [GROUP], "apiVersions": [VERSION], "operations": operations, "resources": resources}
                ]
            },
            "validations": [validation],
        },
    }


def policy(name: str = POLICY_NAME) -> dict[str, Any]:
    validation = {"expression": VALIDATION_EXPRESSION, "messageExpression": MESSAGE_EXPRESSION, "reason": "Forbidden"}
    return _policy(name, ["DELETE"], ["jobs", "submissions", "scenarios"], validation)


IMMUTABLE_EXPRESSION = "object.spec == oldObject.spec"
IMMUTABLE_MESSAGE_EXPRESSION = (
    "object.kind + ' spec is immutable: create a new ' + object.kind + ' instead of editing this one'"
)


def immutable_policy(name: str = IMMUTABLE_POLICY_NAME) -> dict[str, Any]:
    validation = {
        "expression": IMMUTABLE_EXPRESSION,
        "messageExpression": IMMUTABLE_MESSAGE_EXPRESSION,
        "reason": "Invalid",
    }
    return _policy(name, ["UPDATE"], ["scenarios", "submissions", "jobs"], validation)


def binding(name: str = POLICY_NAME) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "taipod"}},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }


def documents() -> list[dict[str, Any]]:
    return [policy(), binding(), immutable_policy(), binding(IMMUTABLE_POLICY_NAME)]
