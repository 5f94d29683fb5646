"""Scenario configurations as Kubernetes manifests, and back (pure: no cluster access).

``build`` turns a ``ScenarioConfig`` into the Scenario object (``spec.dataNodes``, ``spec.tasks``,
``spec.sequences``) and, when some functions are shipped by value, the ConfigMap holding them. It validates the
graph with the core's ``build_dag`` and the schema with the CRD's pydantic model, so a bad configuration fails
before anything is sent, with every problem listed. ``export_yaml`` writes what ``kubectl apply -f`` accepts;
``load_manifest`` reads it back into a ``ScenarioConfig``.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from taipod._version import __version__
from taipod.api import datanodes
from taipod.api.models import API_VERSION, ScenarioSpec
from taipod.core.dag import DataNodeDef, SequenceDef, SpecError, SpecErrors, TaskDef, build_dag
from taipod.core.runner_images import RUNNER_REPOSITORY, NoRunnerImageError, runner_image_for
from taipod.core.status import Scope
from taipod.sdk import functions, names
from taipod.sdk.config import DataNodeConfig, ScenarioConfig, TaskConfig, cycle_name
from taipod.sdk.errors import ConfigurationError, InvalidScenario

__all__ = [
    "INLINE_LIMIT",
    "ScenarioManifest",
    "build",
    "check_json_value",
    "export_yaml",
    "inline_value",
    "load_manifest",
    "manifest_from_objects",
]

INLINE_LIMIT = 256
"""Values whose JSON is at most this many bytes are also recorded in the Scenario status."""

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_TASK_EXTRAS = {"image": "image", "resources": "resources", "timeout_seconds": "timeoutSeconds"}


@dataclass
class ScenarioManifest:
    """The objects of one scenario: the Scenario and, if some functions are shipped by value, their ConfigMap."""

    name: str
    scenario: dict[str, Any]
    config_map: dict[str, Any] | None = None
    shipped: dict[str, functions.ShippedFunction] = field(default_factory=dict)

    def objects(self) -> list[dict[str, Any]]:
        return [self.scenario] + ([self.config_map] if self.config_map else [])


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def check_json_value(value: Any) -> bool:
    """True if ``value`` is exactly representable in JSON: None, str, bool, int, finite float, list, dict[str, ...]."""
    return _is_json(value)


def inline_value(value: Any, limit: int = INLINE_LIMIT) -> tuple[bool, Any]:
    """``(True, value)`` if ``value`` is JSON and small enough to be recorded in the Scenario status."""
    if not _is_json(value):
        return False, None
    return datanodes.inlinable(value, limit), value


def _data_node_spec(dn: DataNodeConfig) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": dn.id, "storageType": dn.storage_type, "scope": dn.scope.name}
    if dn.validity_period is not None:
        spec["validityPeriodSeconds"] = math.ceil(dn.validity_period.total_seconds())
    default = dn.default_data
    if default is not None:
        if not _is_json(default):
            raise ConfigurationError(
                f"the default_data of data node {dn.id!r} ({type(default).__name__}) is not JSON-serialisable: taipod "
                "keeps default data in the Scenario manifest. Fix: give a small JSON value (numbers, strings, "
                "booleans, lists, dicts with string keys; a csv or parquet node accepts a list of records or a dict "
                "of columns), or write the value after creation with scenario.<data node>.write(value)"
            )
        spec["defaultData"] = default
    if dn.path is not None:
        spec["path"] = dn.path
    return spec


def _task_spec(
    task: TaskConfig, scenario: str, image_modules: Iterable[str], shipped: dict[str, functions.ShippedFunction]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": task.id,
        "inputs": [dn.id for dn in task.input_configs],
        "outputs": [dn.id for dn in task.output_configs],
        "skippable": task.skippable,
    }
    ref = functions.reference(task.function, image_modules)
    if ref is not None:
        spec["function"] = ref
    else:
        function = task.function
        if isinstance(function, str):  # unreachable: reference() accepts every valid string
            raise ConfigurationError(f"task {task.id!r}: malformed function reference {function!r}")
        packed = functions.pickle_function(function)
        shipped[task.id] = packed
        spec["function"] = packed.display
        spec["pickled"] = {
            "configMap": names.functions_config_map_name(scenario),
            "key": task.id,
            "pythonVersion": packed.python_version,
        }
    for prop, key in _TASK_EXTRAS.items():
        if task.properties.get(prop) is not None:
            spec[key] = task.properties[prop]
    return spec


def _pick_runner_images(tasks: list[dict[str, Any]], repository: str) -> None:
    """Give each task shipped by value without an image of its own the runner image of its pickling Python."""
    for task in tasks:
        pickled = task.get("pickled")
        if pickled is None or task.get("image"):
            continue
        try:
            task["image"] = runner_image_for(repository, __version__, pickled["pythonVersion"])
        except NoRunnerImageError as exc:
            raise ConfigurationError(f"task {task['name']!r} ships its function by value, but {exc}") from None


def _validate(spec: dict[str, Any]) -> None:
    """Every problem of the spec at once: the graph (core), then the schema (the CRD's model)."""
    problems: list[str] = []
    try:
        build_dag(
            [
                DataNodeDef(
                    name=dn["name"],
                    storage_type=dn["storageType"],
                    scope=Scope[dn["scope"]],
                    validity_period=(
                        timedelta(seconds=dn["validityPeriodSeconds"]) if "validityPeriodSeconds" in dn else None
                    ),
                    has_default_data="defaultData" in dn,
                )
                for dn in spec["dataNodes"]
            ],
            [
                TaskDef(t["name"], t["function"], tuple(t["inputs"]), tuple(t["outputs"]), t["skippable"])
                for t in spec["tasks"]
            ],
            [SequenceDef(s["name"], tuple(s["tasks"])) for s in spec["sequences"]],
        )
    except SpecErrors as exc:
        problems.extend(str(e) for e in exc.errors)
    except SpecError as exc:
        problems.append(str(exc))
    if not problems:
        try:
            ScenarioSpec.model_validate(spec)
        except ValidationError as exc:
            for err in exc.errors():
                where = "spec." + ".".join(str(p) for p in err["loc"])
                problems.append(f"{where}: {err['msg']}")
    if problems:
        raise InvalidScenario("invalid scenario configuration: " + "; ".join(problems))


def build(
    config: ScenarioConfig,
    name: str | None = None,
    *,
    creation_date: datetime | None = None,
    display_name: str | None = None,
    image: str | None = None,
    image_modules: Iterable[str] = (),
    runner_repository: str = RUNNER_REPOSITORY,
) -> ScenarioManifest:
    """The manifest of a new scenario of ``config``, named ``name`` (default: a fresh ``<config id>-<8 hex>``).

    A task whose function is shipped by value runs, unless it or the scenario names an image, in the runner image of
    the client's own Python minor version (``<runner_repository>:<version>-py3.X``); ConfigurationError when no such
    runner image exists."""
    if not isinstance(config, ScenarioConfig):
        raise ConfigurationError(
            f"expected a scenario configuration (from Config.configure_scenario), got {type(config).__name__}"
        )
    scenario = name or names.scenario_name(config.id)
    created = creation_date or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.astimezone()
    shipped: dict[str, functions.ShippedFunction] = {}
    spec: dict[str, Any] = {
        "dataNodes": [_data_node_spec(dn) for dn in config.data_node_configs],
        "tasks": [_task_spec(task, scenario, image_modules, shipped) for task in config.task_configs],
        "sequences": [
            {"name": seq_name, "tasks": [task.id for task in tasks]} for seq_name, tasks in config.sequences.items()
        ],
    }
    cycle = cycle_name(config.frequency, created) or config.properties.get("cycle")
    if cycle:
        spec["cycle"] = str(cycle)
    image = image or config.properties.get("image")
    if image:
        spec["image"] = str(image)
    else:
        _pick_runner_images(spec["tasks"], runner_repository)
    _validate(spec)
    annotations = {names.ANNOTATION_CONFIG_ID: config.id, names.ANNOTATION_CREATED_AT: names.format_time(created)}
    if display_name:
        annotations[names.ANNOTATION_DISPLAY_NAME] = display_name
    properties = {k: v for k, v in config.properties.items() if k not in ("cycle", "image") and _is_json(v)}
    if properties:
        annotations[names.ANNOTATION_PROPERTIES] = json.dumps(properties, sort_keys=True)
    labels = {names.LABEL_CONFIG_ID: config.id} if _LABEL_VALUE.match(config.id) else {}
    body = {
        "apiVersion": API_VERSION,
        "kind": "Scenario",
        "metadata": {"name": scenario, "labels": labels, "annotations": annotations},
        "spec": spec,
    }
    config_map = None
    if shipped:
        total = sum(len(s.payload) for s in shipped.values())
        if total > functions.MAX_PICKLED_BYTES:
            raise ConfigurationError(
                f"the functions shipped by value for scenario {config.id!r} weigh {total} bytes pickled, more than a "
                f"ConfigMap holds ({functions.MAX_PICKLED_BYTES}): put them in a module installed in the task image "
                "and declare it with Config.configure_cluster(image_modules=[...])"
            )
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": names.functions_config_map_name(scenario),
                "labels": {names.LABEL_SCENARIO: scenario},
            },
            "binaryData": {key: base64.b64encode(s.payload).decode("ascii") for key, s in shipped.items()},
        }
    return ScenarioManifest(scenario, body, config_map, shipped)


def _strip_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    kept = {k: meta[k] for k in ("name", "labels", "annotations") if meta.get(k)}
    out = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    out["metadata"] = kept
    return out


def manifest_from_objects(scenario: Mapping[str, Any], config_map: Mapping[str, Any] | None) -> ScenarioManifest:
    """The exportable manifest of a scenario read from a cluster: server-side fields (uid, status, owner
    references, which would tie it to this cluster) removed."""
    body = _strip_server_fields(scenario)
    cm = None
    if config_map is not None:
        cm = _strip_server_fields(config_map)
    return ScenarioManifest(str(body["metadata"]["name"]), body, cm)


def export_yaml(manifest: ScenarioManifest, include_submission: bool = False) -> str:
    """YAML documents for ``kubectl apply -f``: the Scenario, its ConfigMap if any, and a Submission that runs it
    (commented out unless ``include_submission``: applying a Submission starts a run)."""
    docs = [yaml.safe_dump(obj, sort_keys=False, width=1 << 30) for obj in manifest.objects()]
    submission = {
        "apiVersion": API_VERSION,
        "kind": "Submission",
        "metadata": {"name": f"{manifest.name}-run"},
        "spec": {"scenario": manifest.name, "force": False},
    }
    sub_text = yaml.safe_dump(submission, sort_keys=False)
    header = (
        f"# taipod scenario {manifest.name}: create it with `kubectl apply -f <this file>`.\n"
        "# Deleting the Scenario deletes its submissions and jobs.\n"
    )
    text = header + "---\n".join(docs)
    if include_submission:
        return text + "---\n" + sub_text
    commented = "".join(f"# {line}\n" for line in ["---", *sub_text.splitlines()])
    return (
        text + "# To run it, apply this Submission (one per run, each with a new name), or `kubectl taipod submit "
        f"{manifest.name}`:\n" + commented
    )


def _config_id(meta: Mapping[str, Any]) -> str:
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    found = annotations.get(names.ANNOTATION_CONFIG_ID) or labels.get(names.LABEL_CONFIG_ID)
    if found:
        return str(found)
    name = str(meta.get("name", "scenario"))
    base = re.sub(r"-[0-9a-f]{8}$", "", name).replace("-", "_")
    return base if base.isidentifier() else "scenario"


def _load_function(task: Mapping[str, Any], config_maps: Mapping[str, Mapping[str, Any]]) -> Callable[..., Any] | str:
    pickled = task.get("pickled")
    if not pickled:
        return functions.resolve(str(task["function"]))
    cm = config_maps.get(str(pickled.get("configMap")))
    data = ((cm or {}).get("binaryData") or {}).get(str(pickled.get("key")))
    if data is None:
        raise ConfigurationError(
            f"task {task.get('name')!r} ships its function by value in ConfigMap {pickled.get('configMap')!r} "
            f"(key {pickled.get('key')!r}), which is not in the manifest: export the scenario again with "
            "tp.export_scenario_manifest, or name an importable function as 'module:qualname'"
        )
    import cloudpickle  # noqa: PLC0415 (only needed for shipped functions)

    loaded = cloudpickle.loads(base64.b64decode(data))
    if not callable(loaded):
        raise ConfigurationError(f"the pickled function of task {task.get('name')!r} is not callable")
    return loaded  # type: ignore[no-any-return]


def load_manifest(text: str, name: str | None = None) -> ScenarioConfig:
    """The ``ScenarioConfig`` of the (first, or named) Scenario in YAML ``text``; pickled functions are loaded from
    the ConfigMap in the same text. The configurations are new objects, not registered in ``Config``."""
    docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    scenarios = [
        d
        for d in docs
        if d.get("kind") == "Scenario"
        and str(d.get("apiVersion", "")).startswith(f"{names.GROUP}/")
        and (name is None or (d.get("metadata") or {}).get("name") == name)
    ]
    if not scenarios:
        raise ConfigurationError(
            "no taipod Scenario in this manifest"
            + (f" named {name!r}" if name else "")
            + f": expected a document with apiVersion {API_VERSION} and kind Scenario"
        )
    scenario = scenarios[0]
    config_maps = {str((d.get("metadata") or {}).get("name")): d for d in docs if d.get("kind") == "ConfigMap"}
    spec = scenario.get("spec") or {}
    try:
        ScenarioSpec.model_validate(spec)
    except ValidationError as exc:
        raise InvalidScenario(f"invalid Scenario manifest: {exc}") from None
    dns: dict[str, DataNodeConfig] = {}
    for dn in spec.get("dataNodes") or []:
        properties: dict[str, Any] = {}
        if dn.get("defaultData") is not None:
            properties["default_data"] = dn["defaultData"]
        if dn.get("path") is not None:
            properties["path"] = dn["path"]
        seconds = dn.get("validityPeriodSeconds")
        dns[dn["name"]] = DataNodeConfig(
            id=dn["name"],
            storage_type=dn.get("storageType", "pickle"),
            scope=Scope[dn.get("scope", "SCENARIO")],
            validity_period=None if seconds is None else timedelta(seconds=seconds),
            properties=properties,
        )
    tasks: dict[str, TaskConfig] = {}
    for task in spec.get("tasks") or []:
        extras = {prop: task[key] for prop, key in _TASK_EXTRAS.items() if task.get(key) is not None}
        tasks[task["name"]] = TaskConfig(
            id=task["name"],
            function=_load_function(task, config_maps),
            input_configs=[dns[n] for n in task.get("inputs") or []],
            output_configs=[dns[n] for n in task.get("outputs") or []],
            skippable=bool(task.get("skippable", False)),
            properties=extras,
        )
    used = {dn.id for t in tasks.values() for dn in (*t.input_configs, *t.output_configs)}
    meta = scenario.get("metadata") or {}
    properties = {}
    raw_properties = (meta.get("annotations") or {}).get(names.ANNOTATION_PROPERTIES)
    if raw_properties:
        try:
            properties = dict(json.loads(raw_properties))
        except (ValueError, TypeError):
            properties = {}
    for key in ("cycle", "image"):
        if spec.get(key):
            properties[key] = spec[key]
    return ScenarioConfig(
        id=_config_id(meta),
        task_configs=list(tasks.values()),
        additional_data_node_configs=[dn for dn_id, dn in dns.items() if dn_id not in used],
        sequences={s["name"]: [tasks[t] for t in s.get("tasks") or []] for s in spec.get("sequences") or []},
        properties=properties,
    )
