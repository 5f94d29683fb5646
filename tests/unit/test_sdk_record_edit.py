"""The SDK records a data node's write in the Scenario status by a read-modify-write conditional on the
resourceVersion. A fake cluster stands in for the API server here: a write landing between the SDK's read and its
patch cannot be provoked deterministically against a real one (the e2e suite covers the write itself)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from tests.unit.test_datanodes import apply_merge_patch, big
from tests.unit.test_sdk_fakes import FakeCluster

from taipod.api import datanodes
from taipod.sdk.errors import TaipodError
from taipod.sdk.scenario import Scenario

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class ConflictingCluster(FakeCluster):
    """Applies merge patches of the status with the API server's resourceVersion precondition; before the first
    ``conflicts`` patches, someone else writes the scenario (its resourceVersion moves on)."""

    def __init__(self, status: dict[str, Any], conflicts: int) -> None:
        super().__init__()
        self.objects["scenarios"]["s"] = {"metadata": {"name": "s", "resourceVersion": "1"}, "status": status}
        self.conflicts = conflicts
        self.patches: list[dict[str, Any]] = []

    def patch_status(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(copy.deepcopy(body))
        obj = self.objects[plural][name]
        if self.conflicts:
            self.conflicts -= 1
            obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        if body["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            conflict = ApiException(status=409, reason="Conflict")
            raise TaipodError("cannot update the status: the API server answered 409 Conflict") from conflict
        obj["status"] = apply_merge_patch(obj["status"], body["status"])
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        return obj


@pytest.mark.parametrize("packed", [False, True])
def test_a_conflicting_write_is_read_again_and_redone(packed: bool) -> None:
    entries = big() if packed else {"d1": {"lastEditDate": "old"}}
    status = {datanodes.PACKED: datanodes.pack(entries)} if packed else {datanodes.PLAIN: entries}
    cluster = ConflictingCluster(status, conflicts=2)
    Scenario(cluster, "s")._record_edit("d1", AT, True, {"a": [1, 2]})
    assert len(cluster.patches) == 3
    stored = cluster.objects["scenarios"]["s"]["status"]
    assert datanodes.is_packed(stored) is packed
    assert datanodes.entries(stored)["d1"] == {"lastEditDate": "2026-11-25T12:00:00.000000Z", "value": {"a": [1, 2]}}
    assert len(datanodes.entries(stored)) == len(entries)  # every other entry kept


def test_endless_conflicts_give_up_after_ten_tries() -> None:
    cluster = ConflictingCluster({}, conflicts=100)
    with pytest.raises(TaipodError, match="409"):
        Scenario(cluster, "s")._record_edit("d1", AT, False, None)
    assert len(cluster.patches) == 10


def test_other_errors_are_raised_at_once() -> None:
    class Failing(ConflictingCluster):
        def patch_status(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
            self.patches.append(body)
            raise TaipodError("cannot update the status: 500") from ApiException(status=500)

    cluster = Failing({}, conflicts=0)
    with pytest.raises(TaipodError, match="500"):
        Scenario(cluster, "s")._record_edit("d1", AT, False, None)
    assert len(cluster.patches) == 1
