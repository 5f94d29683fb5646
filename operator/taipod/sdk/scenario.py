"""Scenario, Sequence and Task: views of a Scenario custom resource (its spec is immutable; its status is re-read).

``scenario.<data node>``, ``scenario.<task>`` and ``scenario.<sequence>`` give the entities by config id, as in
Taipy. Ids: the Scenario's is its name; tasks, sequences and data nodes have Taipy-style ids
(``TASK_<name>_<scenario>``) that ``tp.get`` resolves.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException

from taipod.api import datanodes
from taipod.sdk import functions, names
from taipod.sdk.cluster import Cluster
from taipod.sdk.data_node import DataNode
from taipod.sdk.errors import NonExistingScenario, ReasonCollection, TaipodError

if TYPE_CHECKING:
    from taipod.sdk.submission import Submission

__all__ = ["Scenario", "Sequence", "Task"]


def _submit(entity: Any, **kwargs: Any) -> Submission:
    from taipod.sdk.submitting import submit  # noqa: PLC0415 (submit imports the entities)

    return submit(entity, **kwargs)


class _Attributes:
    """``entity.<config id>`` for the data nodes (and tasks, sequences) an entity holds."""

    def _members(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        members = self._members()
        if name in members:
            return members[name]
        raise AttributeError(f"{type(self).__name__} {getattr(self, 'id', '?')!r} has no attribute {name!r}")


class Task(_Attributes):
    """A task of a scenario."""

    def __init__(self, scenario: Scenario, spec: dict[str, Any]) -> None:
        self._scenario = scenario
        self._spec = spec

    @property
    def id(self) -> str:
        return names.entity_id("TASK", self.config_id, self._scenario.id)

    @property
    def config_id(self) -> str:
        return str(self._spec["name"])

    @property
    def name(self) -> str:
        return self.config_id

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def owner_id(self) -> str:
        return self._scenario.id

    @property
    def parent_ids(self) -> set[str]:
        ids = {self._scenario.id}
        ids.update(seq.id for seq in self._scenario.sequences.values() if self.config_id in seq.tasks)
        return ids

    @property
    def function(self) -> Callable[..., Any] | str:
        """The function when importable here, else its reference (``"__main__:double"`` for one shipped by value)."""
        return functions.resolve(str(self._spec["function"]))

    @property
    def skippable(self) -> bool:
        return bool(self._spec.get("skippable", False))

    @property
    def input(self) -> dict[str, DataNode]:
        dns = self._scenario.data_nodes
        return {name: dns[name] for name in self._spec.get("inputs") or []}

    @property
    def output(self) -> dict[str, DataNode]:
        dns = self._scenario.data_nodes
        return {name: dns[name] for name in self._spec.get("outputs") or []}

    @property
    def data_nodes(self) -> dict[str, DataNode]:
        return {**self.input, **self.output}

    def _members(self) -> dict[str, Any]:
        return self.data_nodes

    def submit(
        self,
        callbacks: Iterable[Callable[..., Any]] | None = None,
        force: bool = False,
        wait: bool = False,
        timeout: float | None = None,
        **properties: Any,
    ) -> Submission:
        return _submit(self, callbacks=callbacks, force=force, wait=wait, timeout=timeout, **properties)

    def __repr__(self) -> str:
        return f"Task({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


class Sequence(_Attributes):
    """A named subset of a scenario's tasks."""

    def __init__(self, scenario: Scenario, spec: dict[str, Any]) -> None:
        self._scenario = scenario
        self._spec = spec

    @property
    def id(self) -> str:
        return names.entity_id("SEQUENCE", self.name, self._scenario.id)

    @property
    def name(self) -> str:
        return str(self._spec["name"])

    @property
    def config_id(self) -> None:
        return None  # sequences have no configuration of their own, as in Taipy

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def owner_id(self) -> str:
        return self._scenario.id

    @property
    def tasks(self) -> dict[str, Task]:
        tasks = self._scenario.tasks
        return {name: tasks[name] for name in self._spec.get("tasks") or []}

    @property
    def data_nodes(self) -> dict[str, DataNode]:
        found: dict[str, DataNode] = {}
        for task in self.tasks.values():
            found.update(task.data_nodes)
        return found

    def _members(self) -> dict[str, Any]:
        return {**self.data_nodes, **self.tasks}

    def submit(
        self,
        callbacks: Iterable[Callable[..., Any]] | None = None,
        force: bool = False,
        wait: bool = False,
        timeout: float | None = None,
        **properties: Any,
    ) -> Submission:
        return _submit(self, callbacks=callbacks, force=force, wait=wait, timeout=timeout, **properties)

    def __repr__(self) -> str:
        return f"Sequence({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


class Scenario(_Attributes):
    """A view of a Scenario custom resource. Its spec is read once (it is immutable); its status on every access."""

    def __init__(self, cluster: Cluster, name: str, body: dict[str, Any] | None = None) -> None:
        self._cluster = cluster
        self._name = name
        self._body = body
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------------------------------
    def _fresh(self) -> dict[str, Any]:
        body = self._cluster.get(names.SCENARIO_PLURAL, self._name)
        if body is None:
            raise NonExistingScenario(self._name, self._cluster.namespace)
        self._body = body
        return body

    def _cached(self) -> dict[str, Any]:
        return self._body if self._body is not None else self._fresh()

    def _fresh_status(self) -> dict[str, Any]:
        return dict(self._fresh().get("status") or {})

    def _spec(self) -> dict[str, Any]:
        return dict(self._cached().get("spec") or {})

    def _meta(self) -> dict[str, Any]:
        return dict(self._cached().get("metadata") or {})

    def _shared_entries(self, dn: str, scope: str) -> list[dict[str, Any]]:
        """The status entries of ``dn`` in every scenario sharing it (GLOBAL: the namespace; CYCLE: the cycle)."""
        cycle = self._spec().get("cycle")
        entries = []
        for body in self._cluster.items(names.SCENARIO_PLURAL):
            spec = body.get("spec") or {}
            declared = next((d for d in spec.get("dataNodes") or [] if d.get("name") == dn), None)
            if declared is None or declared.get("scope", "SCENARIO") != scope:
                continue
            if scope == "CYCLE" and spec.get("cycle") != cycle:
                continue
            if body["metadata"]["name"] == self._name:
                self._body = body
            entry = datanodes.entries(body.get("status") or {}).get(dn)
            if entry:
                entries.append(dict(entry))
        return entries

    def _record_edit(self, dn: str, at: datetime, inline: bool, value: Any) -> None:
        """Record a write of ``dn`` in the status: the last edit date, and the value when small JSON.

        Read-modify-write conditional on the resourceVersion (the map may be packed, and the operator writes it
        too): on a conflict, read again and redo.
        """
        with self._lock:
            for attempt in range(10):
                body = self._fresh()
                status = body.get("status") or {}
                current = datanodes.entries(status)
                entry = {**current.get(dn, {}), "lastEditDate": names.format_time(at), "value": None, "url": None}
                if inline:
                    entry["value"] = value
                fields = datanodes.status_fields(current, datanodes.is_packed(status), {**current, dn: entry})
                patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "status": fields}
                try:
                    self._body = self._cluster.patch_status(names.SCENARIO_PLURAL, self._name, patch)
                    return
                except TaipodError as error:  # the Cluster's translation of the API error is its cause
                    cause = error.__cause__
                    if not (isinstance(cause, ApiException) and cause.status == 409) or attempt == 9:
                        raise

    # -- identity ---------------------------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._name

    @property
    def namespace(self) -> str:
        return self._cluster.namespace

    @property
    def config_id(self) -> str:
        meta = self._meta()
        annotations = meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        found = annotations.get(names.ANNOTATION_CONFIG_ID) or labels.get(names.LABEL_CONFIG_ID)
        return str(found) if found else self._name

    @property
    def name(self) -> str | None:
        """The display name given at creation (``tp.create_scenario(cfg, name=...)``), else None."""
        found = (self._meta().get("annotations") or {}).get(names.ANNOTATION_DISPLAY_NAME)
        return None if found is None else str(found)

    @property
    def creation_date(self) -> datetime:
        meta = self._meta()
        text = (meta.get("annotations") or {}).get(names.ANNOTATION_CREATED_AT) or meta.get("creationTimestamp")
        return names.parse_time(str(text))

    @property
    def cycle(self) -> str | None:
        cycle = self._spec().get("cycle")
        return None if cycle is None else str(cycle)

    @property
    def properties(self) -> dict[str, Any]:
        raw = (self._meta().get("annotations") or {}).get(names.ANNOTATION_PROPERTIES)
        try:
            return dict(json.loads(raw)) if raw else {}
        except (TypeError, ValueError):
            return {}

    # -- operator's verdict -----------------------------------------------------------------------------------------
    @property
    def phase(self) -> str | None:
        """``Ready`` or ``Invalid`` once the operator has checked the scenario; None before."""
        phase = self._fresh_status().get("phase")
        return None if phase is None else str(phase)

    @property
    def message(self) -> str | None:
        message = self._fresh_status().get("message")
        return None if message is None else str(message)

    @property
    def problems(self) -> list[dict[str, str]]:
        return list(self._fresh_status().get("problems") or [])

    # -- content ----------------------------------------------------------------------------------------------------
    @property
    def data_nodes(self) -> dict[str, DataNode]:
        return {str(dn["name"]): DataNode(self, dn) for dn in self._spec().get("dataNodes") or []}

    @property
    def tasks(self) -> dict[str, Task]:
        return {str(t["name"]): Task(self, t) for t in self._spec().get("tasks") or []}

    @property
    def sequences(self) -> dict[str, Sequence]:
        return {str(s["name"]): Sequence(self, s) for s in self._spec().get("sequences") or []}

    @property
    def additional_data_nodes(self) -> dict[str, DataNode]:
        used = {n for t in self._spec().get("tasks") or [] for n in (*t.get("inputs", []), *t.get("outputs", []))}
        return {name: dn for name, dn in self.data_nodes.items() if name not in used}

    def _members(self) -> dict[str, Any]:
        return {**self.sequences, **self.tasks, **self.data_nodes}

    # -- actions ----------------------------------------------------------------------------------------------------
    def submit(
        self,
        callbacks: Iterable[Callable[..., Any]] | None = None,
        force: bool = False,
        wait: bool = False,
        timeout: float | None = None,
        **properties: Any,
    ) -> Submission:
        return _submit(self, callbacks=callbacks, force=force, wait=wait, timeout=timeout, **properties)

    def subscribe(self, callback: Callable[..., Any], params: list[Any] | None = None) -> None:
        from taipod.sdk.subscriptions import subscribe_scenario  # noqa: PLC0415 (it imports this module)

        subscribe_scenario(callback, params, self)

    def unsubscribe(self, callback: Callable[..., Any], params: list[Any] | None = None) -> None:
        from taipod.sdk.subscriptions import unsubscribe_scenario  # noqa: PLC0415

        unsubscribe_scenario(callback, params, self)

    def is_deletable(self) -> ReasonCollection:
        return ReasonCollection()

    def __repr__(self) -> str:
        return f"Scenario({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and other.id == self.id and other.namespace == self.namespace

    def __hash__(self) -> int:
        return hash((self.namespace, self.id))
