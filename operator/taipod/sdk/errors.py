"""The SDK's exceptions. Each message names the cause and the fix.

Taipy's names are kept where Taipy has the same error (``JobNotDeletedException``, ``NonExistingScenario``,
``InvalidScenario``, ``OrchestratorServiceIsAlreadyRunning``); the others are about the cluster.
"""

from __future__ import annotations

__all__ = [
    "ClusterUnreachableError",
    "ConfigurationError",
    "CrdsNotInstalledError",
    "ForbiddenError",
    "FunctionNotShippableError",
    "InvalidScenario",
    "JobNotDeletedException",
    "NoOperatorRunningError",
    "NonExistingDataNode",
    "NonExistingEntity",
    "NonExistingJob",
    "NonExistingScenario",
    "NonExistingSequence",
    "NonExistingSubmission",
    "NonExistingTask",
    "OperatorTimeoutError",
    "OrchestratorServiceIsAlreadyRunning",
    "ReasonCollection",
    "StorageUnreachableError",
    "TaipodError",
]


class TaipodError(Exception):
    """Base class of the errors raised by the taipod SDK."""


class ConfigurationError(TaipodError, ValueError):
    """A configuration the cluster cannot run (bad id, unknown storage type, a default value that is not JSON)."""


class ClusterUnreachableError(TaipodError, ConnectionError):
    """No Kubernetes API server could be reached (none configured, or it does not answer)."""


class CrdsNotInstalledError(TaipodError):
    """The cluster does not serve the ``taipod.io`` resources."""


class ForbiddenError(TaipodError, PermissionError):
    """The API server refused a call (RBAC, or an admission policy)."""


class NoOperatorRunningError(TaipodError, RuntimeError):
    """No taipod operator serves the namespace, so submitted jobs would never run."""


class OperatorTimeoutError(TaipodError, TimeoutError):
    """The operator did not answer a request in time."""


class StorageUnreachableError(TaipodError, OSError):
    """A data node's value is stored where this process cannot read or write it."""


class FunctionNotShippableError(TaipodError, ValueError):
    """A task function is neither importable in the task image nor picklable by value."""


class InvalidScenario(TaipodError, ValueError):
    """The scenario's graph or fields are invalid (Taipy's ``InvalidScenario``); the message lists every problem."""


class OrchestratorServiceIsAlreadyRunning(TaipodError):
    """``tp.Orchestrator().run()`` was called while this process already runs the embedded operator."""


class NonExistingEntity(TaipodError, LookupError):
    """An entity that does not exist (or no longer does) in the namespace."""

    kind = "entity"

    def __init__(self, entity_id: str, namespace: str | None = None, hint: str | None = None) -> None:
        self.entity_id = entity_id
        where = f" in namespace {namespace!r}" if namespace else ""
        fix = hint or "check the id (tp.get_scenarios(), tp.get_jobs() and tp.get_submissions() list what exists)"
        super().__init__(f"{self.kind} {entity_id!r} does not exist{where}: {fix}")


class NonExistingScenario(NonExistingEntity):
    kind = "scenario"


class NonExistingSequence(NonExistingEntity):
    kind = "sequence"


class NonExistingTask(NonExistingEntity):
    kind = "task"


class NonExistingDataNode(NonExistingEntity):
    kind = "data node"


class NonExistingJob(NonExistingEntity):
    kind = "job"


class NonExistingSubmission(NonExistingEntity):
    kind = "submission"


class JobNotDeletedException(RuntimeError):
    """Raised by ``tp.delete_job(job)`` for a job that is not finished, unless ``force=True`` (as in Taipy).

    ``args[0]`` is the job id, as in Taipy; the message also says why and what to do.
    """

    def __init__(self, job_id: str, status: object | None = None) -> None:
        super().__init__(job_id)
        self.job_id = job_id
        self.status = status

    def __str__(self) -> str:
        state = f"is {getattr(self.status, 'name', self.status)} and " if self.status is not None else "is "
        return (
            f"job {self.job_id} {state}not finished, so it cannot be deleted: wait until it finishes, "
            "cancel it with tp.cancel_job(job), or force the deletion with tp.delete_job(job, force=True)"
        )


class ReasonCollection:
    """Taipy's answer to ``is_deletable`` and friends: truthy when allowed, else ``reasons`` says why."""

    def __init__(self, reasons: list[str] | None = None) -> None:
        self._reasons = list(reasons or [])

    def __bool__(self) -> bool:
        return not self._reasons

    @property
    def reasons(self) -> str:
        """The reasons, joined by '; ' (empty when allowed)."""
        return "; ".join(self._reasons)

    def __repr__(self) -> str:
        return f"ReasonCollection({self._reasons!r})"
