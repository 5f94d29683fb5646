"""A data node of a scenario: its state (from the Scenario status) and its value (``read``/``write``).

The value lives in the namespace's store (``taipod.sdk.store``: where the operator publishes it, the URL derived
from the Scenario's ``status.storageRoot`` and the spec), the same place tasks read and write. Small JSON values
are also inline in the data node's status entry (``taipod.api.datanodes``: readable, or packed when large), so
``read()`` needs no access to the store for them. ``write()`` stores the value first and only then records the edit
in the Scenario status, which is what the operator reads to unblock jobs: a write that cannot reach the store raises
``StorageUnreachableError`` and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from taipod import storage
from taipod.api import datanodes
from taipod.core.readiness import DataNodeState, is_ready_for_reading, is_valid
from taipod.core.status import Scope
from taipod.sdk import freshness, names, store
from taipod.sdk.errors import StorageUnreachableError
from taipod.sdk.manifest import inline_value

if TYPE_CHECKING:
    from taipod.core.dag import DataNodeDef
    from taipod.sdk.scenario import Scenario

__all__ = ["DataNode", "NoData"]

_log = logging.getLogger("taipod")


class NoData(Exception):
    """``read_or_raise()`` of a data node that was never written (Taipy's ``NoData``)."""


class DataNode:
    """A view of one data node of a scenario; every state getter re-reads the Scenario."""

    def __init__(self, scenario: Scenario, spec: dict[str, Any]) -> None:
        self._scenario = scenario
        self._spec = spec

    # -- identity and configuration --------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """One id per entity: a GLOBAL or CYCLE node shared by several scenarios has the same id in each."""
        return names.entity_id("DATANODE", self.config_id, self._holder())

    def _holder(self) -> str:
        if self.scope is Scope.GLOBAL:
            return names.GLOBAL_HOLDER
        if self.scope is Scope.CYCLE:
            return names.cycle_holder(self._scenario.cycle or "default")
        return str(self._scenario.id)

    @property
    def config_id(self) -> str:
        return str(self._spec["name"])

    @property
    def name(self) -> str:
        return self.config_id

    @property
    def storage_type(self) -> str:
        return str(self._spec.get("storageType", "pickle"))

    @property
    def scope(self) -> Scope:
        return Scope[str(self._spec.get("scope", "SCENARIO"))]

    @property
    def validity_period(self) -> timedelta | None:
        seconds = self._spec.get("validityPeriodSeconds")
        return None if seconds is None else timedelta(seconds=seconds)

    @property
    def owner_id(self) -> str | None:
        """The scenario for a SCENARIO data node; None for GLOBAL (as in Taipy), the cycle for CYCLE."""
        if self.scope is Scope.GLOBAL:
            return None
        if self.scope is Scope.CYCLE:
            return self._scenario.cycle or "default"
        return self._scenario.id

    @property
    def parent_ids(self) -> set[str]:
        """The ids of the scenario's tasks that read or write it."""
        return {
            task.id
            for task in self._scenario.tasks.values()
            if self.config_id in task.input or self.config_id in task.output
        }

    @property
    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        if "defaultData" in self._spec:
            props["default_data"] = self._spec["defaultData"]
        if self._spec.get("path") is not None:
            props["path"] = self._spec["path"]
        return props

    def _def(self) -> DataNodeDef:
        from taipod.core.dag import DataNodeDef  # noqa: PLC0415 (typing-only import at module level)

        return DataNodeDef(
            name=self.config_id,
            storage_type=self.storage_type,
            scope=self.scope,
            validity_period=self.validity_period,
            has_default_data="defaultData" in self._spec,
        )

    # -- state (re-read) --------------------------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        """This data node's entry in the Scenario status."""
        return self._entry()

    def _location(self, what: str) -> tuple[str, storage.Access]:
        """The value's URL and how this process reaches it (the namespace's published store)."""
        cluster = self._scenario._cluster
        where = store.location(cluster, self._scenario._fresh_status())
        access = store.access_for(cluster, where, what)
        url = storage.resolve_url(
            where.url,
            self._scenario.namespace,
            self._owner(),
            self.config_id,
            self.storage_type,
            self._spec.get("path"),
        )
        return url, access

    def _owner(self) -> str:
        if self.scope is Scope.GLOBAL:
            return "_global"
        if self.scope is Scope.CYCLE:
            return f"_cycle_{self._scenario.cycle or 'default'}"
        return str(self._scenario.id)

    def _entry(self) -> dict[str, Any]:
        """This data node's entry in the Scenario status; for a GLOBAL or CYCLE node, merged over the scenarios
        sharing it (each records its own writes): the latest write, locked if any of them holds a lock."""
        if self.scope is Scope.SCENARIO:
            return datanodes.entries(self._scenario._fresh_status()).get(self.config_id) or {}
        entries = self._scenario._shared_entries(self.config_id, self.scope.name)
        written = [e for e in entries if e.get("lastEditDate")]
        merged = dict(max(written, key=lambda e: names.parse_time(str(e["lastEditDate"])))) if written else {}
        locked = [e for e in entries if e.get("editInProgress")]
        if locked:
            merged["editInProgress"] = True
            merged["editor"] = locked[0].get("editor")
        else:
            merged.pop("editInProgress", None)
            merged.pop("editor", None)
        return merged

    @staticmethod
    def _state_of(status: dict[str, Any]) -> DataNodeState:
        edit = status.get("lastEditDate")
        return DataNodeState(
            last_edit_date=names.parse_time(edit) if edit else None,
            edit_in_progress=bool(status.get("editInProgress")),
            editor_job=status.get("editor"),
        )

    @property
    def last_edit_date(self) -> datetime | None:
        return self._state_of(self._status()).last_edit_date

    @property
    def edit_in_progress(self) -> bool:
        return bool(self._status().get("editInProgress"))

    @property
    def editor_id(self) -> str | None:
        """The job holding the edit lock, if any."""
        editor = self._status().get("editor")
        return None if editor is None else str(editor)

    @property
    def job_ids(self) -> list[str]:
        """The job that wrote the current value, when recorded. The operator does not record writers (it keeps the
        Scenario small enough for thousands of data nodes), so this is empty unless another tool recorded one."""
        job = self._status().get("lastEditJob")
        return [str(job)] if job else []

    @property
    def url(self) -> str | None:
        """Where the value is stored (an fsspec URL), once known."""
        try:
            where = store.location(self._scenario._cluster, self._scenario._fresh_status())
        except Exception:
            return None
        return storage.resolve_url(
            where.url,
            self._scenario.namespace,
            self._owner(),
            self.config_id,
            self.storage_type,
            self._spec.get("path"),
        )

    path = url

    @property
    def expiration_date(self) -> datetime | None:
        edit = self.last_edit_date
        if edit is None:
            return None
        period = self.validity_period
        return edit + period if period is not None else datetime.max.replace(tzinfo=UTC)

    @property
    def is_ready_for_reading(self) -> bool:
        return is_ready_for_reading(self._state_of(self._status()))

    @property
    def is_valid(self) -> bool:
        return is_valid(self._def(), self._state_of(self._status()), datetime.now(UTC))

    # -- value ------------------------------------------------------------------------------------------------------
    def read_or_raise(self) -> Any:
        """The value; raises ``NoData`` if the data node was never written."""
        status = self._status()
        if not status.get("lastEditDate") and "value" not in status and self._spec.get("defaultData") is None:
            raise NoData(f"data node {self.id} from config {self.config_id!r} has never been written")
        if "value" in status or not status.get("lastEditDate"):
            # Default data not recorded yet is the value all the same: Taipy writes it when the scenario is created,
            # the operator when it first sees the scenario (create_scenario may return before that status write).
            value = status["value"] if "value" in status else self._spec["defaultData"]
            return storage.as_if_written(self.storage_type, value) if self.storage_type in ("csv", "parquet") else value
        what = f"read data node {self.config_id!r} of scenario {self._scenario.id!r}"
        url, access = self._location(what)
        try:
            return storage.read(url, self.storage_type, access)
        except FileNotFoundError:
            raise NoData(f"data node {self.id} was recorded as written but no value is stored at {url}") from None
        except storage.StorageUnavailableError as exc:
            raise StorageUnreachableError(f"cannot {what}: {exc}") from exc
        except ImportError as exc:
            raise StorageUnreachableError(f"cannot {what} at {url}: {exc}") from exc

    def read(self) -> Any:
        """The value, or None (with a warning, as in Taipy) if the data node was never written."""
        try:
            return self.read_or_raise()
        except NoData:
            _log.warning(
                "Data node %s from config %s is being read but has never been written.", self.id, self.config_id
            )
            return None

    def write(self, data: Any, job_id: str | None = None, **kwargs: Any) -> None:
        """Store ``data`` where tasks read it, then record the edit in the Scenario status (the operator then unblocks
        waiting jobs). Nothing is recorded, and nothing changes, when the store cannot be reached."""
        del job_id, kwargs  # Taipy's editor/comment bookkeeping: taipod records the last edit only
        what = f"write data node {self.config_id!r} of scenario {self._scenario.id!r}"
        url, access = self._location(what)
        try:
            storage.write(url, self.storage_type, data, access)
        except storage.StorageUnavailableError as exc:
            raise StorageUnreachableError(f"cannot {what}: {exc}") from exc
        except OSError as exc:
            raise StorageUnreachableError(
                f"cannot {what} at {url}: {exc}. Fix: check that this process reaches the namespace's store"
            ) from exc
        small, value = inline_value(data) if self.storage_type in ("pickle", "json") else (False, None)
        self._scenario._record_edit(self.config_id, datetime.now(UTC), small, value)
        freshness.changed()

    def read_bytes(self) -> bytes:
        """The value as stored (its storage type's encoding: JSON text, CSV, Parquet or a pickle), for the CLI."""
        what = f"read data node {self.config_id!r} of scenario {self._scenario.id!r}"
        url, access = self._location(what)
        try:
            return storage.read_bytes(url, access)
        except FileNotFoundError:
            status = self._status()
            if "value" in status:
                return storage.encode(self.storage_type, status["value"])
            raise NoData(f"data node {self.id} from config {self.config_id!r} has never been written") from None
        except storage.StorageUnavailableError as exc:
            raise StorageUnreachableError(f"cannot {what}: {exc}") from exc

    def write_bytes(self, data: bytes) -> None:
        """Store ``data``, already in the storage type's encoding, and record the edit as ``write()`` does. The bytes
        are decoded first, so a file of the wrong format is refused and nothing changes."""
        try:
            value = storage.decode(self.storage_type, data)
        except Exception as exc:
            raise ValueError(
                f"the data is not a valid {self.storage_type} value for data node {self.config_id!r} "
                f"({type(exc).__name__}: {exc}). Fix: give a file in the node's storage type ({self.storage_type})"
            ) from exc
        what = f"write data node {self.config_id!r} of scenario {self._scenario.id!r}"
        url, access = self._location(what)
        try:
            storage.write_bytes(url, data, access)
        except storage.StorageUnavailableError as exc:
            raise StorageUnreachableError(f"cannot {what}: {exc}") from exc
        small, inline = inline_value(value) if self.storage_type in ("pickle", "json") else (False, None)
        self._scenario._record_edit(self.config_id, datetime.now(UTC), small, inline)
        freshness.changed()

    def __repr__(self) -> str:
        return f"DataNode({self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataNode) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)
