"""The pure orchestration core of taipod: Taipy's job and submission rules with no Kubernetes imports.

See /work/shared/spec/semantics.md (the project's semantics reference) for the rules implemented here.

The function ``submission_status`` is deliberately not re-exported here: it would shadow the submodule of the same
name (``import taipod.core.submission_status`` would then yield the function). Import it from
``taipod.core.submission_status``.
"""

from taipod.core.dag import (
    STORAGE_TYPES,
    Dag,
    DataNodeDef,
    FunctionRef,
    SequenceDef,
    SpecError,
    SpecErrors,
    TaskDef,
    build_dag,
    parse_function_ref,
)
from taipod.core.history import (
    JobTimes,
    Transition,
    append,
    blocked_duration,
    execution_duration,
    job_times,
    pending_duration,
    submission_times,
)
from taipod.core.jobs import CancelPlan, JobView, abandon_on_failure, initial_status, plan_cancel, subsequent_jobs
from taipod.core.readiness import DataNodeState, blocking_inputs, is_ready_for_reading, is_valid, needs_to_run
from taipod.core.status import FINISHED, NOT_STARTED, Scope, Status, SubmissionStatus
from taipod.core.submission_status import submission_is_deletable, submission_is_finished

__all__ = [
    "FINISHED",
    "NOT_STARTED",
    "STORAGE_TYPES",
    "CancelPlan",
    "Dag",
    "DataNodeDef",
    "DataNodeState",
    "FunctionRef",
    "JobTimes",
    "JobView",
    "Scope",
    "SequenceDef",
    "SpecError",
    "SpecErrors",
    "Status",
    "SubmissionStatus",
    "TaskDef",
    "Transition",
    "abandon_on_failure",
    "append",
    "blocked_duration",
    "blocking_inputs",
    "build_dag",
    "execution_duration",
    "initial_status",
    "is_ready_for_reading",
    "is_valid",
    "job_times",
    "needs_to_run",
    "parse_function_ref",
    "pending_duration",
    "plan_cancel",
    "submission_is_deletable",
    "submission_is_finished",
    "submission_times",
    "subsequent_jobs",
]
