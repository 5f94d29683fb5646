"""taipod's Python SDK: Taipy's API (``import taipod as tp; from taipod import Config``) over Kubernetes.

Each module does one job: ``config`` (Taipy's ``Config``), ``manifest`` (configurations as manifests and back),
``functions`` (task functions by name or by value), ``cluster`` (the connection and its errors), ``watching``
(list-then-watch), the entities (``scenario``, ``data_node``, ``job``, ``submission``), ``submit``, ``jobs``,
``subscriptions``, ``orchestrator`` (the embedded operator) and ``api`` (the rest of the functions).
"""

from taipod.core.status import Scope, Status, SubmissionStatus
from taipod.sdk.api import (
    create_scenario,
    delete,
    exists,
    export_scenario_manifest,
    get,
    get_latest_submission,
    get_scenarios,
    get_submissions,
    load_scenario_manifest,
)
from taipod.sdk.config import (
    Config,
    DataNodeConfig,
    Frequency,
    JobConfig,
    ScenarioConfig,
    TaskConfig,
)
from taipod.sdk.data_node import DataNode, NoData
from taipod.sdk.errors import (
    ClusterUnreachableError,
    ConfigurationError,
    CrdsNotInstalledError,
    ForbiddenError,
    FunctionNotShippableError,
    InvalidScenario,
    JobNotDeletedException,
    NonExistingDataNode,
    NonExistingEntity,
    NonExistingJob,
    NonExistingScenario,
    NonExistingSequence,
    NonExistingSubmission,
    NonExistingTask,
    NoOperatorRunningError,
    OperatorTimeoutError,
    OrchestratorServiceIsAlreadyRunning,
    ReasonCollection,
    StorageUnreachableError,
    TaipodError,
)
from taipod.sdk.job import Job
from taipod.sdk.jobs import cancel_job, delete_job, delete_jobs, get_jobs, get_latest_job, is_deletable
from taipod.sdk.orchestrator import Orchestrator
from taipod.sdk.scenario import Scenario, Sequence, Task
from taipod.sdk.submission import Submission
from taipod.sdk.submitting import submit
from taipod.sdk.subscriptions import subscribe_scenario, unsubscribe_scenario

__all__ = [
    "ClusterUnreachableError",
    "Config",
    "ConfigurationError",
    "CrdsNotInstalledError",
    "DataNode",
    "DataNodeConfig",
    "ForbiddenError",
    "Frequency",
    "FunctionNotShippableError",
    "InvalidScenario",
    "Job",
    "JobConfig",
    "JobNotDeletedException",
    "NoData",
    "NoOperatorRunningError",
    "NonExistingDataNode",
    "NonExistingEntity",
    "NonExistingJob",
    "NonExistingScenario",
    "NonExistingSequence",
    "NonExistingSubmission",
    "NonExistingTask",
    "OperatorTimeoutError",
    "Orchestrator",
    "OrchestratorServiceIsAlreadyRunning",
    "ReasonCollection",
    "Scenario",
    "ScenarioConfig",
    "Scope",
    "Sequence",
    "Status",
    "StorageUnreachableError",
    "Submission",
    "SubmissionStatus",
    "TaipodError",
    "Task",
    "TaskConfig",
    "cancel_job",
    "create_scenario",
    "delete",
    "delete_job",
    "delete_jobs",
    "exists",
    "export_scenario_manifest",
    "get",
    "get_jobs",
    "get_latest_job",
    "get_latest_submission",
    "get_scenarios",
    "get_submissions",
    "is_deletable",
    "load_scenario_manifest",
    "submit",
    "subscribe_scenario",
    "unsubscribe_scenario",
]
