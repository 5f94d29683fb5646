"""``taipod apply -f FILE``: server-side apply of scenario manifests, whatever their size.

Plain ``kubectl apply`` keeps a copy of the whole object in the ``last-applied-configuration`` annotation, which the
API server limits to 256 KiB: a scenario of a few thousand tasks is refused. Server-side apply keeps no such copy
(``kubectl apply --server-side`` does the same); this command applies that way with field manager ``taipod``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from taipod.operator.kubeapi import KubeApi

__all__ = ["FIELD_MANAGER", "apply_documents", "read_documents"]

FIELD_MANAGER = "taipod"
APPLY_PATCH = "application/apply-patch+yaml"
# The kinds a scenario manifest holds (the SDK's export: Scenario, its functions' ConfigMap, a Submission).
_PLURALS = {
    ("taipod.io", "Scenario"): "scenarios",
    ("taipod.io", "Submission"): "submissions",
    ("taipod.io", "Job"): "jobs",
    ("", "ConfigMap"): "configmaps",
    ("", "Secret"): "secrets",
}


def read_documents(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The non-empty YAML documents of the files (``-``: standard input), in order."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        for doc in yaml.safe_load_all(text):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                raise ValueError(f"{path}: a document without apiVersion and kind is not a Kubernetes object")
            docs.append(doc)
    return docs


def _path(doc: dict[str, Any], namespace: str) -> str:
    group, _, version = str(doc["apiVersion"]).rpartition("/")
    plural = _PLURALS.get((group, str(doc["kind"])))
    if plural is None:
        raise ValueError(
            f"kind {doc['kind']} ({doc['apiVersion']}) is not part of a scenario manifest: apply it with "
            "`kubectl apply --server-side -f`"
        )
    name = (doc.get("metadata") or {}).get("name")
    if not name:
        raise ValueError(f"a {doc['kind']} without metadata.name: give it a name")
    ns = (doc.get("metadata") or {}).get("namespace") or namespace
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return f"{base}/namespaces/{ns}/{plural}/{name}"


def apply_documents(api: KubeApi, namespace: str, docs: Iterable[dict[str, Any]], force: bool) -> list[str]:
    """Apply each document server-side; returns ``kind/name`` lines as kubectl prints them."""
    paths = [(doc, _path(doc, namespace)) for doc in docs]  # every document checked before anything is written
    done = []
    for doc, path in paths:
        params = {"fieldManager": FIELD_MANAGER, **({"force": "true"} if force else {})}
        api.request("PATCH", path, json.dumps(doc), content_type=APPLY_PATCH, params=params)
        done.append(f"{str(doc['kind']).lower()}/{doc['metadata']['name']} serverside-applied")
    return done
