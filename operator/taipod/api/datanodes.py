"""How a Scenario's status stores its data nodes: a readable map while small, packed once it is large.

``status.dataNodes`` maps each data node to its entry (``lastEditDate``, lock holder, small ``value``). With thousands
of data nodes that map alone is hundreds of KiB, and the Scenario's spec is already large: together they pass etcd's
request limit. Above ``PACK_ABOVE_BYTES`` the same map is stored as ``status.dataNodesPacked``, zlib-compressed JSON
in base64 (16 KiB for 268 KiB at 5,000 nodes), as Argo Workflows does with ``status.compressedNodes``. Readers use
``entries``, writers ``status_fields``. Plain Python, no Kubernetes imports.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INLINE_VALUE_BYTES",
    "PACKED",
    "PACK_ABOVE_BYTES",
    "PLAIN",
    "entries",
    "inlinable",
    "is_packed",
    "merge_patch",
    "pack",
    "status_fields",
    "unpack",
]

PLAIN = "dataNodes"
PACKED = "dataNodesPacked"
PACK_ABOVE_BYTES = 64 * 1024
INLINE_VALUE_BYTES = 256  # a value this small (JSON) is kept in the status: the SDK reads it without the storage

Entries = dict[str, dict[str, Any]]


def pack(data_nodes: Mapping[str, Mapping[str, Any]]) -> str:
    raw = json.dumps(data_nodes, separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def unpack(text: str) -> Entries:
    """The entries of a packed map; an unreadable one (hand-edited) reads as empty rather than stopping readers."""
    try:
        value = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (ValueError, zlib.error):
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): dict(v) for k, v in value.items() if isinstance(v, dict)}


def is_packed(status: Mapping[str, Any]) -> bool:
    return bool(status.get(PACKED))


def entries(status: Mapping[str, Any]) -> Entries:
    """Every data node's entry, from whichever form the status holds."""
    packed = status.get(PACKED)
    if packed:
        return unpack(str(packed))
    plain = status.get(PLAIN) or {}
    return {str(k): dict(v) for k, v in plain.items() if isinstance(v, dict)}


def _present(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v is not None}


def status_fields(
    current: Mapping[str, Mapping[str, Any]], packed: bool, desired: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The merge-patch fields that turn the stored entries (``current``, packed or not) into ``desired``.

    None values in ``desired`` mean absent. Small maps stay readable and only the changed entries are sent (a merge
    patch merges the map key by key); large ones are packed whole. Empty when nothing changes.
    """
    wanted = {name: _present(entry) for name, entry in desired.items()}
    wanted = {name: entry for name, entry in wanted.items() if entry}
    stored = {name: _present(entry) for name, entry in current.items()}
    stored = {name: entry for name, entry in stored.items() if entry}
    if wanted == stored:
        return {}
    if len(json.dumps(wanted, separators=(",", ":"))) > PACK_ABOVE_BYTES:
        return {PACKED: pack(wanted), PLAIN: None}
    if packed:  # back to readable: the whole map, and the packed form goes
        return {PLAIN: wanted, PACKED: None}
    return {PLAIN: merge_patch(stored, wanted)}


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``: changed keys, removed ones as null, objects
    recursively (a merge patch would otherwise merge a new dict value into the old one)."""
    patch: dict[str, Any] = dict.fromkeys((k for k in old if k not in new), None)
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            inner = merge_patch(before, value)
            if inner:
                patch[key] = inner
        elif key not in old or before != value:
            patch[key] = value
    return patch


def inlinable(value: Any, limit: int = INLINE_VALUE_BYTES) -> bool:
    """Whether a value may be kept in the status: JSON of at most ``limit`` bytes, with no null inside an object (a
    merge patch reads null as "delete this key", so such a value would not survive its write)."""
    if value is None:
        return False
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError):
        return False
    return size <= limit and not _null_in_object(value)


def _null_in_object(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(v is None or _null_in_object(v) for v in value.values())
    if isinstance(value, list):
        return any(_null_in_object(v) for v in value)
    return False
