"""The custom resources' schemas (``taipod.io/v1alpha1``), the single source of ``crds/``.

``taipod.api.crdgen`` turns these models into CustomResourceDefinitions; a test fails when ``crds/`` drifts from
them. Field names are the manifest's (camelCase). The schema carries what it can check per field (names, enums,
bounds, mutually exclusive fields, immutability); what needs the whole graph (unknown references, duplicates,
cycles) is checked by the operator, which marks the Scenario Invalid with a message naming the field.

Objects must stay far below etcd's request limit with 5,000 tasks: lists are atomic (no per-item managedFields),
statuses hold counters and per-data-node state, never a list of jobs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Condition",
    "DataNodeSpec",
    "DataNodeStatus",
    "JobSpec",
    "JobStatus",
    "PickledFunction",
    "RetryBackoff",
    "RetryStrategy",
    "ScenarioSpec",
    "ScenarioStatus",
    "SequenceSpec",
    "SpecProblem",
    "SubmissionSpec",
    "SubmissionStatus",
    "TaskResources",
    "TaskSpec",
    "TransitionRecord",
]
MAX_RETRIES = 20  # attempts add history entries: keep a job's status bounded

GROUP = "taipod.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A Kubernetes object name of this namespace (a DNS label): no "ns/name" form reaches another namespace.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# ``module.sub:Qual.name`` or the bare name of a builtin (``print``); the operator re-checks the builtin exists.
FUNCTION_PATTERN = (
    r"^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
MAX_TASKS = 10000
MAX_DATA_NODES = 20000
StatusName = Literal[
    "SUBMITTED", "BLOCKED", "PENDING", "RUNNING", "CANCELED", "FAILED", "COMPLETED", "SKIPPED", "ABANDONED"
]
SubmissionStatusName = Literal[
    "SUBMITTED", "UNDEFINED", "BLOCKED", "PENDING", "RUNNING", "CANCELED", "FAILED", "COMPLETED"
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Status(BaseModel):
    # The operator reads statuses written by older versions of itself: tolerate unknown fields.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _no_crd_default(schema: dict[str, Any]) -> None:
    """Keep a default out of the CRD: the API server would store it in every list item (a 5,000-task scenario
    grew by 293 KiB), while the operator and the SDK apply the same default when they read the spec."""
    schema.pop("default", None)


def _name(description: str) -> Any:
    return Field(description=description, min_length=1, max_length=50, pattern=NAME_PATTERN)


class DataNodeSpec(_Spec):
    """A data node: a value a task reads or writes, kept in the storage (a volume or object storage)."""

    name: str = _name("Name of the data node, a Python identifier; tasks refer to it in inputs and outputs.")
    storage_type: Literal["pickle", "json", "csv", "parquet"] = Field(
        "pickle",
        alias="storageType",
        description="How the value is stored: pickle (default), json, csv or parquet.",
        json_schema_extra=_no_crd_default,
    )
    scope: Literal["SCENARIO", "CYCLE", "GLOBAL"] = Field(
        "SCENARIO",
        description="SCENARIO (one per scenario, the default), CYCLE (shared by the scenarios of the same "
        "spec.cycle) or GLOBAL (shared by every scenario of the namespace).",
        json_schema_extra=_no_crd_default,
    )
    validity_period_seconds: int | None = Field(
        None,
        alias="validityPeriodSeconds",
        ge=0,
        description="After this many seconds since its last write the value is no longer valid, so a skippable "
        "task writing it runs again.",
    )
    default_data: Any = Field(
        None,
        alias="defaultData",
        description="A small JSON value the data node holds until it is first written; it counts as written.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    path: str | None = Field(
        None,
        max_length=1024,
        description="Where the value is stored: a path relative to the storage root, or an fsspec URL "
        "(s3://bucket/key). Default: <root>/<namespace>/<scenario or _global>/<name>.<extension>.",
    )


class PickledFunction(_Spec):
    """A task function shipped by value: cloudpickle bytes in a ConfigMap owned by the scenario."""

    config_map: str = Field(alias="configMap", min_length=1, max_length=253, description="ConfigMap name.")
    key: str = Field(min_length=1, max_length=253, description="Key in the ConfigMap's binaryData.")
    python_version: str = Field(
        alias="pythonVersion",
        pattern=r"^3\.[0-9]+$",
        description="Python version (major.minor) that pickled it; the task image must run the same.",
    )


class TaskResources(_Spec):
    """CPU and memory of the task's pod, as in a container's resources."""

    requests: dict[str, int | str] | None = Field(None, description="For example {cpu: 100m, memory: 128Mi}.")
    limits: dict[str, int | str] | None = Field(None, description="For example {memory: 512Mi}.")


class RetryBackoff(_Spec):
    """How long to wait before each retry: ``duration * factor**(n-1)`` seconds after attempt n failed, at most
    ``maxDuration``."""

    duration: int = Field(
        0,
        ge=0,
        le=86400,
        description="Seconds to wait after the first failed attempt (default 0: retry at once).",
        json_schema_extra=_no_crd_default,
    )
    factor: float = Field(
        2.0,
        ge=1,
        le=100,
        description="Each further wait is this many times the previous one (at least 1; default 2).",
        json_schema_extra=_no_crd_default,
    )
    max_duration: int | None = Field(
        None,
        alias="maxDuration",
        ge=0,
        le=86400,
        description="The longest single wait, in seconds (default: no cap).",
    )


class RetryStrategy(_Spec):
    """taipod's extension to Taipy, after Argo's retryStrategy: run a failed task again, each attempt in a new pod."""

    limit: int = Field(
        ge=0,
        le=MAX_RETRIES,
        description=f"How many times a failed task is retried (0 to {MAX_RETRIES}): at most limit + 1 attempts.",
    )
    policy: Literal["OnFailure", "OnError", "Always"] = Field(
        "OnFailure",
        description="Which failures are retried: OnFailure (default) the task's own failure (an exception, a "
        "non-zero exit, its timeoutSeconds); OnError infrastructure failures only (OOMKilled, Evicted, pod or batch "
        "Job deleted, image pull or container creation errors, volume not mountable, store unavailable); Always both.",
        json_schema_extra=_no_crd_default,
    )
    backoff: RetryBackoff | None = None


class TaskSpec(_Spec):
    """A task: a Python function from input data nodes to output data nodes."""

    name: str = _name("Name of the task, a Python identifier.")
    function: str = Field(
        max_length=512,
        pattern=FUNCTION_PATTERN,
        description="The function, as 'module:qualname' importable in the task image (for example "
        "'taipod.samples:double') or a builtin such as 'print'.",
    )
    inputs: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Data nodes passed to the function, positionally, in this order.",
        json_schema_extra={"items": {"type": "string", "maxLength": 50}},
    )
    outputs: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Data nodes written with the result: one output takes the value, several take a tuple in order.",
        json_schema_extra={"items": {"type": "string", "maxLength": 50}},
    )
    skippable: bool = Field(
        False,
        description="Skip the task when its outputs are valid and newer than its inputs (Taipy's rule); default false.",
        json_schema_extra=_no_crd_default,
    )
    pickled: PickledFunction | None = Field(
        None, description="Set by the SDK for a function that is not importable in the image (shipped by value)."
    )
    image: str | None = Field(None, max_length=512, description="Task image; default: the scenario's, else the runner.")
    resources: TaskResources | None = None
    timeout_seconds: int | None = Field(
        None,
        alias="timeoutSeconds",
        ge=1,
        description="The pod's active deadline: past it the job ends FAILED with the reason DeadlineExceeded.",
    )
    node_selector: dict[str, str] | None = Field(
        None,
        alias="nodeSelector",
        max_length=20,
        description="Node labels the task's pod must run on (merged over the operator's TAIPOD_TASK_NODE_SELECTOR).",
    )
    retries: RetryStrategy | None = Field(
        None, description="Retry the task when it fails (default: the scenario's spec.retries, else no retry)."
    )


class SequenceSpec(_Spec):
    """A named subset of the scenario's tasks, submitted on its own."""

    name: str = _name("Name of the sequence, a Python identifier.")
    tasks: list[str] = Field(
        min_length=1, max_length=MAX_TASKS, json_schema_extra={"items": {"type": "string", "maxLength": 50}}
    )


class ScenarioSpec(_Spec):
    """Data nodes, tasks forming a DAG, and sequences. Immutable once created, like a Taipy scenario."""

    data_nodes: list[DataNodeSpec] = Field(default_factory=list, alias="dataNodes", max_length=MAX_DATA_NODES)
    tasks: list[TaskSpec] = Field(default_factory=list, max_length=MAX_TASKS)
    sequences: list[SequenceSpec] = Field(default_factory=list, max_length=1000)
    image: str | None = Field(None, max_length=512, description="Default task image; default: the operator's.")
    cycle: str | None = Field(
        None, max_length=63, description="Name of the cycle whose CYCLE-scoped data nodes this scenario shares."
    )
    retries: RetryStrategy | None = Field(None, description="Default retry strategy of the scenario's tasks.")
    ttl_seconds_after_finished: int | None = Field(
        None,
        alias="ttlSecondsAfterFinished",
        ge=0,
        description="Default ttlSecondsAfterFinished of the scenario's submissions.",
    )


class SpecProblem(_Status):
    field: str
    message: str


class Condition(_Status):
    """metav1.Condition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str = Field(alias="lastTransitionTime")
    observed_generation: int | None = Field(None, alias="observedGeneration")


class DataNodeStatus(_Status):
    """What the operator knows of a data node (absent: never written and not locked)."""

    last_edit_date: str | None = Field(None, alias="lastEditDate", description="Last write, RFC 3339 with µs.")
    edit_in_progress: bool | None = Field(None, alias="editInProgress")
    editor: str | None = Field(None, description="The Job holding the edit lock.")
    url: str | None = Field(
        None, description="Not stored by the operator: derived from status.storageRoot and the spec (SDK: dn.url)."
    )
    value: Any = Field(
        None,
        description="The value, when small and JSON-serialisable.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


class ScenarioStatus(_Status):
    phase: Literal["Ready", "Invalid"] | None = None
    message: str | None = None
    problems: list[SpecProblem] | None = Field(None, max_length=100)
    tasks: int | None = None
    storage_root: str | None = Field(None, alias="storageRoot", description="fsspec root of the data-node values.")
    storage_endpoint: str | None = Field(
        None,
        alias="storageEndpoint",
        description="S3 endpoint of the store (empty: AWS); no credentials are kept here.",
    )
    unfinished_submissions: int | None = Field(
        None,
        alias="unfinishedSubmissions",
        description=(
            "Submissions of this scenario not finished yet: the admission policy refuses deleting it meanwhile."
        ),
    )
    data_nodes: dict[str, DataNodeStatus] | None = Field(
        None,
        alias="dataNodes",
        description="Each data node's last edit, lock and small value; absent when packed in dataNodesPacked.",
        json_schema_extra={"x-kubernetes-map-type": "atomic"},
    )
    data_nodes_packed: str | None = Field(
        None,
        alias="dataNodesPacked",
        description="The dataNodes map as zlib-compressed JSON in base64, used instead of it once it passes 64 KiB "
        "(thousands of data nodes) to keep the Scenario well under etcd's size limit. The SDK reads both forms.",
    )
    conditions: list[Condition] | None = None
    observed_generation: int | None = Field(None, alias="observedGeneration")


class SubmissionSpec(_Spec):
    """A request to run a scenario, one of its sequences, or one of its tasks. Immutable."""

    scenario: str = Field(
        min_length=1,
        max_length=63,
        pattern=OBJECT_NAME_PATTERN,
        description="Name of the Scenario in this namespace (a DNS label).",
    )
    sequence: str | None = Field(
        None, max_length=50, pattern=NAME_PATTERN, description="Run only this sequence of the scenario."
    )
    task: str | None = Field(
        None, max_length=50, pattern=NAME_PATTERN, description="Run only this task of the scenario."
    )
    force: bool = Field(False, description="Run skippable tasks even when their outputs are up to date.")
    active_deadline_seconds: int | None = Field(
        None,
        alias="activeDeadlineSeconds",
        ge=1,
        description="Seconds from the submission's creation after which its unfinished jobs end FAILED with the "
        "reason SubmissionDeadlineExceeded (their pods are stopped, no retry follows).",
    )
    ttl_seconds_after_finished: int | None = Field(
        None,
        alias="ttlSecondsAfterFinished",
        ge=0,
        description="Seconds after every job finished when the operator deletes the submission, and with it its "
        "jobs and their pods (default: the scenario's, else the operator's TAIPOD_SUBMISSION_TTL_SECONDS, else kept).",
    )


class SubmissionStatus(_Status):
    submission_status: SubmissionStatusName | None = Field(None, alias="submissionStatus")
    jobs: int | None = Field(None, description="Number of jobs (one per task).")
    jobs_created: bool | None = Field(None, alias="jobsCreated")
    counts: dict[str, int] | None = Field(None, description="Jobs per status.")
    finished: str | None = Field(None, description="Finished jobs out of all, for display: '3/5'.")
    submitted_at: str | None = Field(None, alias="submittedAt")
    run_at: str | None = Field(None, alias="runAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    reason: str | None = Field(
        None, description="Why the operator refused the submission (UnknownScenario, UnknownEntity, InvalidScenario)."
    )
    message: str | None = None
    conditions: list[Condition] | None = None
    observed_generation: int | None = Field(None, alias="observedGeneration")


class JobSpec(_Spec):
    """One run of one task, created by the operator for a Submission. Immutable."""

    scenario: str = Field(min_length=1, max_length=63, pattern=OBJECT_NAME_PATTERN)
    submission: str = Field(min_length=1, max_length=63, pattern=OBJECT_NAME_PATTERN)
    task: str = Field(min_length=1, max_length=50, pattern=NAME_PATTERN)
    force: bool = False


class TransitionRecord(_Status):
    status: StatusName
    at: str
    reason: str | None = None


class AttemptRecord(_Status):
    """One run of a job's task in its own batch Job (recorded for tasks with a retry strategy)."""

    attempt: int
    batch_job: str = Field(alias="batchJob")
    pod: str | None = None
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str = Field(alias="finishedAt")
    status: StatusName
    reason: str | None = None
    message: str | None = Field(None, max_length=1024)
    exit_code: int | None = Field(None, alias="exitCode")


class BatchJobRef(_Status):
    name: str
    uid: str


class JobStatus(_Status):
    status: StatusName | None = None
    history: list[TransitionRecord] | None = Field(
        None,
        max_length=64,
        description="Every status the job took and when: the submitted, blocked and pending times are here (a "
        "retried job goes back to PENDING between attempts).",
    )
    run_at: str | None = Field(None, alias="runAt", description="When it started RUNNING (also in the history).")
    finished_at: str | None = Field(None, alias="finishedAt", description="When it finished (also in the history).")
    duration: str | None = Field(None, description="Execution duration, for display: '2.1s'.")
    reason: str | None = None
    message: str | None = Field(None, max_length=4096)
    exit_code: int | None = Field(None, alias="exitCode")
    stacktrace: list[str] | None = Field(None, max_length=10)
    batch_job: BatchJobRef | None = Field(None, alias="batchJob")
    pod: str | None = None
    outputs_released: bool | None = Field(None, alias="outputsReleased")
    cancel: str | None = Field(None, description="The outcome of the last cancel request.")
    cancel_request: str | None = Field(
        None, alias="cancelRequest", description="The cancel request (annotation value) the outcome answers."
    )
    conditions: list[Condition] | None = Field(None, description="Finished, once the job is.")
    attempts: list[AttemptRecord] | None = Field(
        None,
        max_length=MAX_RETRIES + 1,
        description="Every finished attempt of a task with a retry strategy: its batch Job, times and reason.",
    )
    next_attempt_at: str | None = Field(
        None, alias="nextAttemptAt", description="When the next attempt starts, while a retry waits its backoff."
    )
