"""Taipy's ``Config``: data node, task, scenario and job-execution configurations (pure; no cluster access).

``Config`` keeps the configurations of the process, keyed by id, as Taipy's does; configuring an id again replaces
the previous configuration. What the cluster can run is checked when a scenario is created or exported
(``taipod.sdk.manifest``), with every problem reported at once.
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from taipod.core.status import Scope
from taipod.sdk import settings as _settings
from taipod.sdk.errors import ConfigurationError

__all__ = [
    "Config",
    "DataNodeConfig",
    "Frequency",
    "JobConfig",
    "ScenarioConfig",
    "Scope",
    "TaskConfig",
    "cycle_name",
]

MAX_ID_LENGTH = 50
MODES = ("development", "standalone")


class Frequency(enum.Enum):
    """How often a recurrent scenario's cycle changes (Taipy's ``Frequency``)."""

    DAILY = 1
    WEEKLY = 2
    MONTHLY = 3
    QUARTERLY = 4
    YEARLY = 5


def cycle_name(frequency: Frequency | None, moment: datetime) -> str | None:
    """The name of the cycle holding ``moment`` (``daily-2024-10-24``, ``weekly-2024-w43``, ...), None without one."""
    if frequency is None:
        return None
    if frequency is Frequency.DAILY:
        return f"daily-{moment:%Y-%m-%d}"
    if frequency is Frequency.WEEKLY:
        year, week, _ = moment.isocalendar()
        return f"weekly-{year}-w{week:02d}"
    if frequency is Frequency.MONTHLY:
        return f"monthly-{moment:%Y-%m}"
    if frequency is Frequency.QUARTERLY:
        return f"quarterly-{moment.year}-q{(moment.month - 1) // 3 + 1}"
    return f"yearly-{moment.year}"


def _check_id(kind: str, config_id: str) -> str:
    if not isinstance(config_id, str) or not config_id.isidentifier() or keyword.iskeyword(config_id):
        raise ConfigurationError(
            f"invalid {kind} configuration id {config_id!r}: use a Python identifier (letters, digits and "
            "underscores, not starting with a digit), as Taipy requires"
        )
    if len(config_id) > MAX_ID_LENGTH:
        raise ConfigurationError(
            f"{kind} configuration id {config_id!r} is {len(config_id)} characters long: taipod names Kubernetes "
            f"fields after it, use at most {MAX_ID_LENGTH} characters"
        )
    return config_id


@dataclass(eq=False)
class DataNodeConfig:
    """A data node's configuration. ``default_data`` and ``path`` are read from ``properties``, as in Taipy."""

    id: str
    storage_type: str = "pickle"
    scope: Scope = Scope.SCENARIO
    validity_period: timedelta | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def default_data(self) -> Any:
        return self.properties.get("default_data")

    @property
    def path(self) -> str | None:
        value = self.properties.get("path") or self.properties.get("default_path")
        return None if value is None else str(value)

    def __getattr__(self, name: str) -> Any:
        # Taipy exposes properties as attributes (``cfg.default_data``, ``cfg.encoding``).
        properties = self.__dict__.get("properties", {})
        if name in properties:
            return properties[name]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('id')!r} has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"DataNodeConfig({self.id!r}, storage_type={self.storage_type!r}, scope={self.scope})"


TaskFunction = Callable[..., Any] | str


@dataclass(eq=False)
class TaskConfig:
    """A task's configuration: ``function`` is a callable, or a ``"module:qualname"`` string (a taipod extension
    naming a function importable in the task image only)."""

    id: str
    function: TaskFunction
    input_configs: list[DataNodeConfig] = field(default_factory=list)
    output_configs: list[DataNodeConfig] = field(default_factory=list)
    skippable: bool = False
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> list[DataNodeConfig]:
        return list(self.input_configs)

    @property
    def outputs(self) -> list[DataNodeConfig]:
        return list(self.output_configs)

    def __repr__(self) -> str:
        return f"TaskConfig({self.id!r})"


@dataclass(eq=False)
class ScenarioConfig:
    """A scenario's configuration: its tasks, additional data nodes and sequences."""

    id: str
    task_configs: list[TaskConfig] = field(default_factory=list)
    additional_data_node_configs: list[DataNodeConfig] = field(default_factory=list)
    frequency: Frequency | None = None
    comparators: dict[str, Any] = field(default_factory=dict)
    sequences: dict[str, list[TaskConfig]] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks(self) -> list[TaskConfig]:
        return list(self.task_configs)

    @property
    def data_node_configs(self) -> list[DataNodeConfig]:
        """Every data node of the scenario: the tasks' inputs and outputs, then the additional ones (unique ids)."""
        found: dict[str, DataNodeConfig] = {}
        for task in self.task_configs:
            for dn in (*task.input_configs, *task.output_configs):
                found.setdefault(dn.id, dn)
        for dn in self.additional_data_node_configs:
            found.setdefault(dn.id, dn)
        return list(found.values())

    def add_sequences(self, sequences: Mapping[str, Iterable[TaskConfig]]) -> None:
        for name, tasks in sequences.items():
            self.sequences[name] = list(tasks)

    def remove_sequences(self, sequence_names: str | Iterable[str]) -> None:
        for name in [sequence_names] if isinstance(sequence_names, str) else list(sequence_names):
            self.sequences.pop(name, None)

    def __repr__(self) -> str:
        return f"ScenarioConfig({self.id!r})"


@dataclass
class JobConfig:
    """How jobs are executed: ``development`` (submit returns when the submission is finished) or ``standalone``."""

    mode: str = "development"
    max_nb_of_workers: int | str = 2
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        return self.mode == "development"

    @property
    def is_standalone(self) -> bool:
        return self.mode == "standalone"


def _as_list(value: DataNodeConfig | Iterable[DataNodeConfig] | None) -> list[DataNodeConfig]:
    if value is None:
        return []
    if isinstance(value, DataNodeConfig):
        return [value]
    items = list(value)
    for item in items:
        if not isinstance(item, DataNodeConfig):
            raise ConfigurationError(
                f"expected data node configurations (from Config.configure_data_node), got {item!r}"
            )
    return items


class Config:
    """The process's configurations, with Taipy's ``configure_*`` class methods."""

    data_nodes: ClassVar[dict[str, DataNodeConfig]] = {}
    tasks: ClassVar[dict[str, TaskConfig]] = {}
    scenarios: ClassVar[dict[str, ScenarioConfig]] = {}
    job_config: ClassVar[JobConfig] = JobConfig()

    # -- data nodes -------------------------------------------------------------------------------------------------
    @classmethod
    def configure_data_node(
        cls,
        id: str,
        storage_type: str | None = None,
        scope: Scope | None = None,
        validity_period: timedelta | None = None,
        **properties: Any,
    ) -> DataNodeConfig:
        """A data node: ``storage_type`` pickle (default), json, csv or parquet; ``scope`` SCENARIO (default),
        CYCLE or GLOBAL; ``validity_period``; ``default_data`` (small, JSON-serialisable) and ``path``."""
        _check_id("data node", id)
        if scope is not None and not isinstance(scope, Scope):
            raise ConfigurationError(f"scope of data node {id!r} must be a Scope (Scope.SCENARIO, ...), got {scope!r}")
        if validity_period is not None and not isinstance(validity_period, timedelta):
            raise ConfigurationError(
                f"validity_period of data node {id!r} must be a datetime.timedelta, got {validity_period!r}"
            )
        config = DataNodeConfig(
            id=id,
            storage_type=storage_type or "pickle",
            scope=scope or Scope.SCENARIO,
            validity_period=validity_period,
            properties=dict(properties),
        )
        cls.data_nodes[id] = config
        return config

    @classmethod
    def configure_pickle_data_node(
        cls,
        id: str,
        default_data: Any = None,
        scope: Scope | None = None,
        validity_period: timedelta | None = None,
        **properties: Any,
    ) -> DataNodeConfig:
        return cls.configure_data_node(id, "pickle", scope, validity_period, default_data=default_data, **properties)

    @classmethod
    def configure_json_data_node(
        cls,
        id: str,
        default_data: Any = None,
        scope: Scope | None = None,
        validity_period: timedelta | None = None,
        **properties: Any,
    ) -> DataNodeConfig:
        return cls.configure_data_node(id, "json", scope, validity_period, default_data=default_data, **properties)

    @classmethod
    def configure_csv_data_node(
        cls,
        id: str,
        default_data: Any = None,
        scope: Scope | None = None,
        validity_period: timedelta | None = None,
        **properties: Any,
    ) -> DataNodeConfig:
        return cls.configure_data_node(id, "csv", scope, validity_period, default_data=default_data, **properties)

    @classmethod
    def configure_parquet_data_node(
        cls,
        id: str,
        default_data: Any = None,
        scope: Scope | None = None,
        validity_period: timedelta | None = None,
        **properties: Any,
    ) -> DataNodeConfig:
        return cls.configure_data_node(id, "parquet", scope, validity_period, default_data=default_data, **properties)

    # -- tasks and scenarios ----------------------------------------------------------------------------------------
    @classmethod
    def configure_task(
        cls,
        id: str,
        function: TaskFunction,
        input: DataNodeConfig | Iterable[DataNodeConfig] | None = None,
        output: DataNodeConfig | Iterable[DataNodeConfig] | None = None,
        skippable: bool = False,
        **properties: Any,
    ) -> TaskConfig:
        """A task: ``function`` reads the ``input`` data nodes (positionally, in order) and its result is written
        to the ``output`` data nodes (one value, or a tuple in order)."""
        _check_id("task", id)
        if not (callable(function) or isinstance(function, str)):
            raise ConfigurationError(
                f"the function of task {id!r} must be a callable or a 'module:qualname' string, got {function!r}"
            )
        config = TaskConfig(
            id=id,
            function=function,
            input_configs=_as_list(input),
            output_configs=_as_list(output),
            skippable=bool(skippable),
            properties=dict(properties),
        )
        cls.tasks[id] = config
        return config

    @classmethod
    def configure_scenario(
        cls,
        id: str,
        task_configs: Iterable[TaskConfig] | None = None,
        additional_data_node_configs: DataNodeConfig | Iterable[DataNodeConfig] | None = None,
        frequency: Frequency | None = None,
        comparators: dict[str, Any] | None = None,
        sequences: Mapping[str, Iterable[TaskConfig]] | None = None,
        **properties: Any,
    ) -> ScenarioConfig:
        """A scenario: its tasks, the additional data nodes it holds, and named sequences of its tasks."""
        _check_id("scenario", id)
        tasks = list(task_configs or [])
        for task in tasks:
            if not isinstance(task, TaskConfig):
                raise ConfigurationError(
                    f"scenario {id!r}: expected task configurations (from Config.configure_task), got {task!r}"
                )
        config = ScenarioConfig(
            id=id,
            task_configs=tasks,
            additional_data_node_configs=_as_list(additional_data_node_configs),
            frequency=frequency,
            comparators=dict(comparators or {}),
            sequences={name: list(seq) for name, seq in (sequences or {}).items()},
            properties=dict(properties),
        )
        cls.scenarios[id] = config
        return config

    # -- execution and cluster --------------------------------------------------------------------------------------
    @classmethod
    def configure_job_executions(
        cls, mode: str | None = None, max_nb_of_workers: int | str | None = None, **properties: Any
    ) -> JobConfig:
        """``development`` (default): ``submit`` returns when the submission is finished. ``standalone``: it returns
        at once and the jobs progress in the cluster. ``max_nb_of_workers`` is accepted for compatibility: the
        cluster decides how many task pods run at once."""
        if mode is not None and mode not in MODES:
            raise ConfigurationError(
                f"unknown job execution mode {mode!r}: use 'development' or 'standalone' (Taipy Enterprise's "
                "'cluster' mode is what taipod always does: each job runs as a Kubernetes Job)"
            )
        cls.job_config = JobConfig(
            mode=mode or cls.job_config.mode,
            max_nb_of_workers=cls.job_config.max_nb_of_workers if max_nb_of_workers is None else max_nb_of_workers,
            properties={**cls.job_config.properties, **properties},
        )
        return cls.job_config

    @classmethod
    def configure_cluster(
        cls,
        namespace: str | None = None,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        storage_url: str | None = None,
        storage_pvc: str | None = None,
        image: str | None = None,
        image_modules: Iterable[str] | None = None,
        operator_timeout: float | None = None,
        storage_endpoint: str | None = None,
        storage_key: str | None = None,
        storage_secret_key: str | None = None,
        runner_repository: str | None = None,
    ) -> _settings.Settings:
        """taipod's own settings: the namespace (default: ``TAIPOD_NAMESPACE``, else the kubeconfig context's), the
        kubeconfig and context, the storage root of an embedded operator (default ``TAIPOD_STORAGE_URL``; otherwise
        the SDK uses the location the namespace's operator publishes), the PVC of the embedded operator, the default
        task image, the top-level modules importable in that image (their functions are referenced by name instead of
        shipped by value), and how this process reaches the store: its endpoint (default ``TAIPOD_STORAGE_ENDPOINT``,
        else the published one) and credentials (default: the AWS variables or profile, else the namespace's
        ``taipod-storage`` Secret when readable), and the repository of the runner images per Python version that
        run functions shipped by value when no image is set (default ``TAIPOD_RUNNER_REPOSITORY``, else
        ``ghcr.io/taipod/runner``: set it to the chart's ``image.runner.repository``). Unset arguments are
        unchanged."""
        changes: dict[str, object] = {}
        for key, value in (
            ("namespace", namespace),
            ("kubeconfig", None if kubeconfig is None else str(kubeconfig)),
            ("context", context),
            ("storage_url", storage_url),
            ("storage_pvc", storage_pvc),
            ("image", image),
            ("operator_timeout", operator_timeout),
            ("storage_endpoint", storage_endpoint),
            ("storage_key", storage_key),
            ("storage_secret_key", storage_secret_key),
            ("runner_repository", runner_repository),
        ):
            if value is not None:
                changes[key] = value
        if image_modules is not None:
            changes["image_modules"] = tuple(image_modules)
        return _settings.update(**changes)

    @classmethod
    def load_manifest(cls, path: str | Path) -> ScenarioConfig:
        """The scenario configuration of a manifest written by ``tp.export_scenario_manifest`` (or by hand)."""
        from taipod.sdk.manifest import load_manifest  # noqa: PLC0415 (manifest imports this module)

        config = load_manifest(Path(path).read_text(encoding="utf-8"))
        cls.scenarios[config.id] = config
        return config

    @classmethod
    def reset(cls) -> None:
        """Forget every configuration and go back to the default settings (for tests and notebooks)."""
        cls.data_nodes = {}
        cls.tasks = {}
        cls.scenarios = {}
        cls.job_config = JobConfig()
        _settings.reset()
        from taipod.sdk import store  # noqa: PLC0415 (store imports the cluster, which imports this module)

        store.reset()
