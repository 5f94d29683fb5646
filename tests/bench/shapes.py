"""Scenario, Submission and plain Job manifests of the benchmark's shapes (short names keep objects small)."""

from __future__ import annotations

from typing import Any

from tests.bench.harness import GROUP, KWOK_NODE_SELECTOR, KWOK_TOLERATIONS, VERSION

Spec = dict[str, Any]
RUNS_CODE = "taipod.samples:identity"  # real pods (latency): the runner imports and calls it
NO_CODE = "len"  # kwok pods run nothing; the shortest valid function keeps the spec small


def chain(n: int, function: str = RUNS_CODE) -> Spec:
    """d0 (default 1) -> t0 -> d1 -> t1 -> ... -> d<n>."""
    nodes: list[dict[str, Any]] = [{"name": "d0", "defaultData": 1}, *({"name": f"d{i}"} for i in range(1, n + 1))]
    tasks = [{"name": f"t{i}", "function": function, "inputs": [f"d{i}"], "outputs": [f"d{i + 1}"]} for i in range(n)]
    return {"dataNodes": nodes, "tasks": tasks}


def wide(n: int, function: str = NO_CODE) -> Spec:
    """src (default 1) -> t<i> -> d<i>, for every i: all n tasks are ready at once."""
    nodes: list[dict[str, Any]] = [{"name": "src", "defaultData": 1}, *({"name": f"d{i}"} for i in range(n))]
    tasks = [{"name": f"t{i}", "function": function, "inputs": ["src"], "outputs": [f"d{i}"]} for i in range(n)]
    return {"dataNodes": nodes, "tasks": tasks}


def layered(n: int, layers: int, function: str = NO_CODE) -> Spec:
    """``layers`` layers of n/layers tasks; task j of layer k reads the output of task j of layer k-1."""
    width = max(n // layers, 1)
    nodes: list[dict[str, Any]] = [{"name": "src", "defaultData": 1}]
    tasks = []
    for i in range(width * layers):
        source = "src" if i < width else f"d{i - width}"
        nodes.append({"name": f"d{i}"})
        tasks.append({"name": f"t{i}", "function": function, "inputs": [source], "outputs": [f"d{i}"]})
    return {"dataNodes": nodes, "tasks": tasks}


def scenario(name: str, spec: Spec) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Scenario", "metadata": {"name": name}, "spec": spec}


def submission(name: str, scenario_name: str, task: str | None = None, scenario_uid: str = "") -> dict[str, Any]:
    """A Submission as ``kubectl apply`` makes it, or, given the scenario's uid, as the SDK's ``tp.submit`` and the
    CLI's ``taipod submit`` make it: already owned by its scenario, so the operator need not patch the owner in."""
    spec: dict[str, Any] = {"scenario": scenario_name}
    if task is not None:
        spec["task"] = task
    metadata: dict[str, Any] = {"name": name, "labels": {"taipod.io/scenario": scenario_name}}
    if scenario_uid:
        owner = {"kind": "Scenario", "name": scenario_name, "uid": scenario_uid, "controller": True}
        metadata["ownerReferences"] = [{"apiVersion": f"{GROUP}/{VERSION}", **owner, "blockOwnerDeletion": True}]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Submission", "metadata": metadata, "spec": spec}


def plain_job(name: str) -> dict[str, Any]:
    """The baseline: a batch/v1 Job shaped like the operator's (one pod, never retried), placed on kwok nodes."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"bench": "baseline"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"bench": "baseline"}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "nodeSelector": dict(KWOK_NODE_SELECTOR),
                    "tolerations": [dict(t) for t in KWOK_TOLERATIONS],
                    "containers": [{"name": "task", "image": "ghcr.io/taipod/runner:bench", "command": ["true"]}],
                },
            },
        },
    }
