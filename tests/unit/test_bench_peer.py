"""The benchmark's Argo Workflows peer and CPU pinning: the manifests it submits, the kwok stage that finishes Argo's
pods, and how the CPUs are split (the measurements themselves run in `make bench`, never in the suite)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.bench import argo
from tests.bench.harness import KWOK_NODE_SELECTOR, Pinning

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_single_step_workflow_runs_one_container_on_kwok_nodes_without_a_token() -> None:
    wf = argo.single_step("w1")
    spec = wf["spec"]
    assert wf["kind"] == "Workflow" and wf["metadata"]["name"] == "w1"
    assert spec["entrypoint"] == "step"
    assert [t["name"] for t in spec["templates"]] == ["step"]
    assert spec["nodeSelector"] == KWOK_NODE_SELECTOR
    # Without a token Argo refuses a workflow whose executor names no service account.
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": "default"}


def test_dag_of_independent_tasks_and_chain() -> None:
    wide = argo.dag("d", 5)["spec"]
    tasks = wide["templates"][0]["dag"]["tasks"]
    assert wide["entrypoint"] == "main"
    assert [t["name"] for t in tasks] == [f"t{i}" for i in range(5)]
    assert all("dependencies" not in t for t in tasks)
    chain = argo.dag("c", 4, chain=True)["spec"]["templates"][0]["dag"]["tasks"]
    assert [t.get("dependencies") for t in chain] == [None, ["t0"], ["t1"], ["t2"]]


def test_settings_are_defaults_raised_and_fast() -> None:
    assert (argo.SETTINGS["defaults"].qps, argo.SETTINGS["defaults"].burst) == (20, 30)
    assert argo.SETTINGS["defaults"].requeue is None
    assert argo.SETTINGS["fast"].requeue == "1s"


def _pod(node: str, phase: str) -> dict[str, Any]:
    annotations = {"workflows.argoproj.io/node-name": node}
    return {"metadata": {"name": "p", "annotations": annotations}, "status": {"phase": phase}}


def test_pod_and_workflow_marks() -> None:
    assert list(argo.pod_marks(_pod("chain.t3", "Succeeded"))) == [("t3", "added"), ("t3", "succeeded")]
    assert list(argo.pod_marks(_pod("w7", "Pending"))) == [("w7", "added")]
    assert list(argo.pod_marks({"metadata": {"name": "other"}})) == []
    done = {"metadata": {"name": "w"}, "status": {"phase": "Succeeded"}}
    assert list(argo.workflow_marks(done)) == [("w", "added"), ("w", "Succeeded")]
    running = {"metadata": {"name": "w"}, "status": {"phase": "Running"}}
    assert list(argo.workflow_marks(running)) == [("w", "added")]


def test_kwok_stage_finishes_only_workflow_pods_and_every_container() -> None:
    (stage,) = list(yaml.safe_load_all((BENCH / "kwok-argo.yaml").read_text()))
    assert stage["kind"] == "Stage"
    owner = next(e for e in stage["spec"]["selector"]["matchExpressions"] if "ownerReferences" in e["key"])
    assert owner["values"] == ["Workflow"]
    template = stage["spec"]["next"]["statusTemplate"]
    assert "initContainerStatuses" in template and "containerStatuses" in template
    assert "phase: Succeeded" in template and "exitCode: 0" in template


def test_pinning_splits_the_last_cpu_off_for_the_controllers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    pinned = Pinning.split()
    assert (pinned.platform, pinned.controllers) == ("0,1,2", "3")
    assert Pinning.prefix(pinned.controllers) == ["taskset", "-c", "3"]
    assert Pinning.prefix(None) == []
    assert "unpinned" in Pinning().describe()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    with pytest.raises(SystemExit, match="--unpinned"):
        Pinning.split()
