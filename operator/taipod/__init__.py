"""taipod: Taipy-style scenarios run natively on Kubernetes.

``import taipod as tp; from taipod import Config`` gives Taipy's API (the SDK, ``taipod.sdk``). It is imported
lazily, on first use of one of its names: the runner imports ``taipod`` in every task pod and needs none of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taipod._version import __version__

if TYPE_CHECKING:
    from taipod.sdk import (
        ClusterUnreachableError,
        Config,
        ConfigurationError,
        CrdsNotInstalledError,
        DataNode,
        DataNodeConfig,
        ForbiddenError,
        Frequency,
        FunctionNotShippableError,
        InvalidScenario,
        Job,
        JobConfig,
        JobNotDeletedException,
        NoData,
        NonExistingDataNode,
        NonExistingEntity,
        NonExistingJob,
        NonExistingScenario,
        NonExistingSequence,
        NonExistingSubmission,
        NonExistingTask,
        NoOperatorRunningError,
        OperatorTimeoutError,
        Orchestrator,
        OrchestratorServiceIsAlreadyRunning,
        ReasonCollection,
        Scenario,
        ScenarioConfig,
        Scope,
        Sequence,
        Status,
        StorageUnreachableError,
        Submission,
        SubmissionStatus,
        TaipodError,
        Task,
        TaskConfig,
        cancel_job,
        create_scenario,
        delete,
        delete_job,
        delete_jobs,
        exists,
        export_scenario_manifest,
        get,
        get_jobs,
        get_latest_job,
        get_latest_submission,
        get_scenarios,
        get_submissions,
        is_deletable,
        load_scenario_manifest,
        submit,
        subscribe_scenario,
        unsubscribe_scenario,
    )

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
    "__version__",
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
_SDK_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    """The SDK's names, imported on first use (PEP 562)."""
    if name in _SDK_NAMES:
        value = getattr(importlib.import_module("taipod.sdk"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'taipod' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SDK_NAMES})
