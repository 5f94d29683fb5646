"""Helpers for the SDK unit tests (no tests here): a stand-in for ``Cluster`` with objects in dicts, calls recorded."""

from __future__ import annotations

from typing import Any

from taipod.sdk.cluster import Cluster


class FakeCluster(Cluster):
    def __init__(self, namespace: str = "ns") -> None:  # no API client
        self.namespace = namespace
        self.host = "https://fake"
        self.source = "fake"
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"scenarios": {}, "submissions": {}, "jobs": {}}
        self.calls: list[tuple[str, str, str]] = []

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        self.calls.append(("get", plural, name))
        return self.objects[plural].get(name)

    def list_raw(self, plural: str, label_selector: str | None = None) -> dict[str, Any]:
        self.calls.append(("list", plural, label_selector or ""))
        items = list(self.objects[plural].values())
        if label_selector:
            key, _, value = label_selector.partition("=")
            items = [i for i in items if (i["metadata"].get("labels") or {}).get(key) == value]
        return {"items": items, "metadata": {"resourceVersion": "1"}}

    def patch(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("patch", plural, name))
        return self.objects[plural][name]

    def delete(self, plural: str, name: str) -> bool:
        self.calls.append(("delete", plural, name))
        return self.objects[plural].pop(name, None) is not None


def job_body(
    name: str, history: list[tuple[str, str]], task: str = "t", submission: str = "sub", scenario: str = "sc"
) -> dict[str, Any]:
    status: dict[str, Any] = {"history": [{"status": s, "at": at} for s, at in history]}
    if history:
        status["status"] = history[-1][0]
    return {
        "metadata": {"name": name, "labels": {"taipod.io/submission": submission, "taipod.io/scenario": scenario}},
        "spec": {"scenario": scenario, "submission": submission, "task": task, "force": False},
        "status": status,
    }
