"""The Scenario status's data-node map: readable while small, packed when large, and merge patches that reproduce
exactly the wanted map when the API server applies them."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

from taipod.api import datanodes
from taipod.api.datanodes import PACKED, PLAIN


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def stored_after(status: dict[str, Any], desired: dict[str, dict[str, Any]]) -> dict[str, Any]:
    fields = datanodes.status_fields(datanodes.entries(status), datanodes.is_packed(status), desired)
    return apply_merge_patch(status, fields) if fields else status


def big(n: int = 3000) -> dict[str, dict[str, Any]]:
    return {f"d{i}": {"lastEditDate": f"2026-11-25T12:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z"} for i in range(n)}


def test_a_small_map_stays_readable_and_only_changes_are_sent() -> None:
    status = {PLAIN: {"a": {"lastEditDate": "t1"}, "b": {"lastEditDate": "t1", "value": 3}}}
    desired = {"a": {"lastEditDate": "t1", "editor": None}, "b": {"lastEditDate": "t2", "value": None}}
    fields = datanodes.status_fields(datanodes.entries(status), False, desired)
    assert fields == {PLAIN: {"b": {"lastEditDate": "t2", "value": None}}}
    assert apply_merge_patch(status, fields) == {PLAIN: {"a": {"lastEditDate": "t1"}, "b": {"lastEditDate": "t2"}}}


def test_nothing_changed_sends_nothing_in_either_form() -> None:
    small = {PLAIN: {"a": {"lastEditDate": "t1"}}}
    assert datanodes.status_fields(datanodes.entries(small), False, {"a": {"lastEditDate": "t1", "url": None}}) == {}
    packed = {PACKED: datanodes.pack(big())}
    assert datanodes.status_fields(datanodes.entries(packed), True, big()) == {}


def test_a_dict_value_replaces_the_old_one_rather_than_merging_into_it() -> None:
    status = {PLAIN: {"a": {"lastEditDate": "t1", "value": {"x": 1, "y": {"z": 2}}}}}
    after = stored_after(status, {"a": {"lastEditDate": "t2", "value": {"y": {"w": 3}}}})
    assert after == {PLAIN: {"a": {"lastEditDate": "t2", "value": {"y": {"w": 3}}}}}


def test_a_large_map_is_packed_and_reads_back_the_same() -> None:
    wanted = big()
    assert len(json.dumps(wanted)) > datanodes.PACK_ABOVE_BYTES
    after = stored_after({PLAIN: {"d0": {"lastEditDate": "old"}}}, wanted)
    assert PLAIN not in after and datanodes.is_packed(after)
    assert datanodes.entries(after) == wanted
    assert len(after[PACKED]) < len(json.dumps(wanted)) / 3  # what packing is for


def test_a_packed_map_is_rewritten_whole_and_returns_to_readable_when_small() -> None:
    packed = stored_after({}, big())
    changed = {**big(), "d7": {"lastEditDate": "new", "editInProgress": True, "editor": "job-1"}}
    after = stored_after(packed, changed)
    assert datanodes.entries(after)["d7"] == {"lastEditDate": "new", "editInProgress": True, "editor": "job-1"}
    small = {"d1": {"lastEditDate": "t"}}
    back = stored_after(after, small)
    assert back == {PLAIN: small}


def test_an_unreadable_packed_map_reads_as_empty() -> None:
    assert datanodes.entries({PACKED: "not base64!"}) == {}
    assert datanodes.entries({PACKED: base64.b64encode(b"not zlib").decode()}) == {}
    assert datanodes.entries({PACKED: base64.b64encode(zlib.compress(b"[1, 2]")).decode()}) == {}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (42, True),
        ([1, None, 3], True),  # null in a list survives a merge patch (lists are replaced whole)
        ({"a": [1, 2]}, True),
        ({"a": None}, False),  # a merge patch would delete the key
        ({"a": {"b": None}}, False),
        ([{"a": None}], False),
        ("x" * 300, False),  # too large
        (float("nan"), False),
        (None, False),
        ({1, 2}, False),
    ],
)
def test_what_may_be_kept_in_the_status(value: Any, ok: bool) -> None:
    assert datanodes.inlinable(value) is ok


def test_merge_patch_round_trips() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    new = {"a": 1, "b": {"c": 4}, "f": "x", "e": [1, 2]}
    patch = datanodes.merge_patch(old, new)
    assert patch == {"b": {"c": 4, "d": None}, "f": "x", "e": [1, 2]}
    assert apply_merge_patch(old, patch) == new
