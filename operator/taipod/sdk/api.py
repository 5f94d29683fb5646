"""Scenario-level functions of Taipy's API: ``create_scenario``, ``get``, ``get_scenarios``, ``get_submissions``,
``get_latest_submission``, ``delete``, ``exists``, and the manifest export and import."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from taipod.sdk import cluster as _cluster
from taipod.sdk import freshness, names, settings
from taipod.sdk import manifest as _manifest
from taipod.sdk.cluster import Cluster
from taipod.sdk.config import Config, ScenarioConfig
from taipod.sdk.data_node import DataNode
from taipod.sdk.errors import InvalidScenario, NonExistingEntity, TaipodError
from taipod.sdk.job import Job
from taipod.sdk.jobs import delete_job
from taipod.sdk.orchestrator import operator_serves
from taipod.sdk.scenario import Scenario, Sequence, Task
from taipod.sdk.submission import Submission
from taipod.sdk.watching import WatchTimeout, wait_for

__all__ = [
    "create_scenario",
    "delete",
    "exists",
    "export_scenario_manifest",
    "get",
    "get_latest_submission",
    "get_scenarios",
    "get_submissions",
    "load_scenario_manifest",
]

Entity = Scenario | Sequence | Task | DataNode | Job | Submission


def _owner_reference(scenario: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{names.GROUP}/{names.VERSION}",
        "kind": "Scenario",
        "name": scenario["metadata"]["name"],
        "uid": scenario["metadata"]["uid"],
        "controller": True,
    }


def _verdict(cluster: Cluster, name: str) -> dict[str, Any] | None:
    """The Scenario once the operator has set its phase (None if no answer within the operator timeout)."""
    try:
        found: dict[str, Any] = wait_for(
            cluster,
            names.SCENARIO_PLURAL,
            lambda items: items[name] if (items.get(name, {}).get("status") or {}).get("phase") else None,
            settings.current().operator_timeout,
            field_selector=f"metadata.name={name}",
        )
    except WatchTimeout:
        return None
    return found


def create_scenario(config: ScenarioConfig, creation_date: datetime | None = None, name: str | None = None) -> Scenario:
    """Create a scenario from ``config`` (a Scenario resource, plus a ConfigMap for functions shipped by value).

    When an operator serves the namespace, returns once it has checked the scenario and written the default data.
    """
    current = settings.current()
    built = _manifest.build(
        config,
        creation_date=creation_date,
        display_name=name,
        image=current.image,
        image_modules=current.resolved_image_modules(),
        runner_repository=current.resolved_runner_repository(),
    )
    cluster = _cluster.current()
    created = cluster.create(names.SCENARIO_PLURAL, built.scenario)
    freshness.changed()
    if built.config_map is not None:
        config_map = copy.deepcopy(built.config_map)
        config_map["metadata"]["ownerReferences"] = [_owner_reference(created)]
        try:
            cluster.call(
                f"create ConfigMap {config_map['metadata']['name']!r} (the functions shipped by value)",
                cluster.core.create_namespaced_config_map,
                cluster.namespace,
                config_map,
            )
        except BaseException:
            cluster.delete(names.SCENARIO_PLURAL, built.name)
            raise
    scenario = Scenario(cluster, built.name, created)
    if operator_serves(cluster):
        checked = _verdict(cluster, built.name)
        if checked is not None:
            scenario._body = checked
            status = checked.get("status") or {}
            if status.get("phase") == "Invalid":
                cluster.delete(names.SCENARIO_PLURAL, built.name)
                problems = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in status.get("problems") or [])
                raise InvalidScenario(
                    f"the operator refused scenario {built.name!r}: {problems or status.get('message')}"
                )
    return scenario


def _object(cluster: Cluster, plural: str, name: str) -> dict[str, Any] | None:
    body = cluster.get(plural, name)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return None
    return body


def _shared_data_node(cluster: Cluster, name: str, scope: str, cycle: str | None) -> Entity | None:
    """The GLOBAL or CYCLE data node ``name``, seen from any scenario that declares it (each sees the same one)."""
    for body in cluster.items(names.SCENARIO_PLURAL):
        spec = body.get("spec") or {}
        if (body.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if scope == "CYCLE" and (spec.get("cycle") or "default") != cycle:
            continue
        for dn in spec.get("dataNodes") or []:
            if dn.get("name") == name and dn.get("scope", "SCENARIO") == scope:
                found: Entity | None = Scenario(cluster, body["metadata"]["name"], body).data_nodes.get(name)
                return found
    return None


def get(entity_id: str | Entity) -> Entity | None:
    """The entity with this id (a scenario, sequence, task, data node, job or submission), or None."""
    if not isinstance(entity_id, str):
        entity_id = entity_id.id
    cluster = _cluster.current()
    parsed = names.parse_entity_id(entity_id)
    if parsed is not None:
        kind, member, scenario_name = parsed
        shared = names.shared_scope(scenario_name) if kind == "DATANODE" else None
        if shared is not None:
            return _shared_data_node(cluster, member, *shared)
        body = _object(cluster, names.SCENARIO_PLURAL, scenario_name)
        if body is None:
            return None
        scenario = Scenario(cluster, scenario_name, body)
        if kind == "TASK":
            return scenario.tasks.get(member)
        if kind == "SEQUENCE":
            return scenario.sequences.get(member)
        return scenario.data_nodes.get(member)
    if not entity_id or len(entity_id) > 253:
        return None
    try:
        job = _object(cluster, names.JOB_PLURAL, entity_id)
        if job is not None:
            return Job._from_body(cluster, job)
        submission = _object(cluster, names.SUBMISSION_PLURAL, entity_id)
        if submission is not None:
            return Submission(cluster, entity_id, submission)
        scenario_body = _object(cluster, names.SCENARIO_PLURAL, entity_id)
    except ApiException as exc:
        if exc.status in (400, 422):  # not a valid object name
            return None
        raise
    return Scenario(cluster, entity_id, scenario_body) if scenario_body is not None else None


def exists(entity_id: str | Entity) -> bool:
    return get(entity_id) is not None


def get_scenarios() -> list[Scenario]:
    """Every scenario of the namespace, by creation date."""
    cluster = _cluster.current()
    scenarios = [Scenario(cluster, str(b["metadata"]["name"]), b) for b in cluster.items(names.SCENARIO_PLURAL)]
    return sorted(scenarios, key=lambda s: (s.creation_date, s.id))


def get_submissions() -> list[Submission]:
    """Every submission of the namespace, by creation date."""
    cluster = _cluster.current()
    subs = [Submission(cluster, str(b["metadata"]["name"]), b) for b in cluster.items(names.SUBMISSION_PLURAL)]
    return sorted(subs, key=lambda s: (s.creation_date, s.id))


def get_latest_submission(entity: Scenario | Sequence | Task) -> Submission | None:
    """The newest submission of ``entity`` (the scenario itself, or that sequence or task), or None."""
    matching = [s for s in get_submissions() if s.entity_id == entity.id]
    return matching[-1] if matching else None


def delete(entity_id: str | Entity) -> None:
    """Delete a scenario (with its submissions and jobs), a submission (with its jobs) or a job (finished only, as
    ``tp.delete_job`` without force)."""
    found = get(entity_id)
    text = entity_id if isinstance(entity_id, str) else entity_id.id
    if found is None:
        raise NonExistingEntity(text, _cluster.current().namespace)
    freshness.changed()
    if isinstance(found, Job):
        delete_job(found)
    elif isinstance(found, Submission):
        found._cluster.delete(names.SUBMISSION_PLURAL, found.id)
    elif isinstance(found, Scenario):
        found._cluster.delete(names.SCENARIO_PLURAL, found.id)
    else:
        raise TaipodError(
            f"{text!r} is part of scenario {found.scenario.id if not isinstance(found, DataNode) else found.owner_id!r}"
            " and cannot be deleted on its own: delete the scenario (tp.delete(scenario.id))"
        )


def export_scenario_manifest(
    scenario: ScenarioConfig | Scenario, include_submission: bool = False, name: str | None = None
) -> str:
    """YAML that ``kubectl apply -f`` accepts: the Scenario, the ConfigMap of its functions shipped by value, and a
    Submission to run it (commented out unless ``include_submission``)."""
    if isinstance(scenario, ScenarioConfig):
        current = settings.current()
        built = _manifest.build(
            scenario,
            name,
            image=current.image,
            image_modules=current.resolved_image_modules(),
            runner_repository=current.resolved_runner_repository(),
        )
        return _manifest.export_yaml(built, include_submission)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a ScenarioConfig or a Scenario, got {scenario!r}")
    cluster = scenario._cluster
    body = scenario._fresh()
    config_map = None
    if any(t.get("pickled") for t in (body.get("spec") or {}).get("tasks") or []):
        cm_name = names.functions_config_map_name(scenario.id)
        try:
            raw = cluster.call(
                f"read ConfigMap {cm_name!r}", cluster.core.read_namespaced_config_map, cm_name, cluster.namespace
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            raw = None
        config_map = (
            cluster.api_client.sanitize_for_serialization(raw)  # type: ignore[no-untyped-call]
            if raw is not None
            else None
        )
    return _manifest.export_yaml(_manifest.manifest_from_objects(body, config_map), include_submission)


def load_scenario_manifest(path: str | Path) -> ScenarioConfig:
    """The scenario configuration of a manifest file (``Config.load_manifest``)."""
    return Config.load_manifest(path)
