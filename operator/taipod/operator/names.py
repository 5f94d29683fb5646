"""Names, labels, annotations and time formats shared by the operator, the SDK and the manifests."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

__all__ = [
    "ANNOTATION_CANCEL",
    "ANNOTATION_CREATED_AT",
    "ANNOTATION_FORCE_DELETE",
    "LABEL_JOB",
    "LABEL_MANAGED_BY",
    "LABEL_SCENARIO",
    "LABEL_SUBMISSION",
    "LABEL_TASK",
    "attempt_batch_name",
    "format_time",
    "job_name",
    "label_value",
    "parse_time",
]

LABEL_SCENARIO = "taipod.io/scenario"
LABEL_SUBMISSION = "taipod.io/submission"
LABEL_JOB = "taipod.io/job"
LABEL_TASK = "taipod.io/task"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
ANNOTATION_CANCEL = "taipod.io/cancel"
ANNOTATION_FORCE_DELETE = "taipod.io/force-delete"
ANNOTATION_CREATED_AT = "taipod.io/created-at"

_MAX_NAME = 63
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def job_name(submission: str, task: str, submission_uid: str = "") -> str:
    """The Job resource's name, also its batch Job's: deterministic, a DNS label (at most 63 characters).

    Task names are Python identifiers (``_``, capitals) while Kubernetes names are lowercase DNS labels, so the task
    part is slugged and a short hash keeps names unique: of the exact task and of the submission instance (its uid),
    so a submission re-created under the same name gets new job names and nothing stale (Events, a batch Job still
    being deleted) attaches to them. Deterministic for one instance, so a pass that dies creates nothing twice.
    """
    slug = _NOT_DNS.sub("-", task.lower()).strip("-") or "task"
    suffix = _digest(f"{submission}/{submission_uid}/{task}" if submission_uid else f"{submission}/{task}", 5)
    head = f"{submission}-{slug}"[: _MAX_NAME - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}"


def attempt_batch_name(job: str, attempt: int) -> str:
    """The batch Job running attempt ``attempt`` of ``job``: the job's own name for the first attempt (as before
    retries existed), ``<job>-a<n>`` after (shortened with a hash to stay a DNS label)."""
    if attempt <= 1:
        return job
    suffix = f"-a{attempt}"
    if len(job) + len(suffix) <= _MAX_NAME:
        return f"{job}{suffix}"
    return f"{job[: _MAX_NAME - len(suffix) - 6].rstrip('-')}-{_digest(job, 5)}{suffix}"


def label_value(text: str) -> str:
    """``text`` as a valid label value: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text).strip("-_.")
    if len(cleaned) <= _MAX_NAME and cleaned == text:
        return cleaned
    return f"{cleaned[:50].strip('-_.')}-{_digest(text, 8)}".strip("-_.")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: Taipy's timestamps are that precise and the skip rule compares them."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Inverse of ``format_time``; also reads Kubernetes' second-precision timestamps."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
