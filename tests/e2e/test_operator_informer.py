"""The operator's informer against the real API server: list, watch, server-side selection, relist diffing.

ConfigMaps stand in for pods and batch Jobs (the informer is generic over the resource): they are created, changed
and deleted at will, with no controller racing the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from tests.conftest import ClusterHandle
from tests.k8s_helpers import Kube

from taipod.operator.informer import Informer
from taipod.operator.kubeapi import load_configuration


def record(body: Mapping[str, Any]) -> tuple[str, str]:
    """What "the operator reads" of a ConfigMap: its name and data["state"] (annotations are not read)."""
    return (body["metadata"]["name"], (body.get("data") or {}).get("state", ""))


def configmap(name: str, state: str, scenario: str | None = "s") -> dict[str, Any]:
    labels = {"taipod.io/job": name, "taipod.io/scenario": scenario} if scenario else {"unrelated": "yes"}
    return {"metadata": {"name": name, "labels": labels}, "data": {"state": state}}


async def _until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_informer_lists_watches_selects_and_relists(cluster: ClusterHandle, kube: Kube, namespace: str) -> None:
    core = kube.core
    core.create_namespaced_config_map(namespace, configmap("before", "one"))
    core.create_namespaced_config_map(namespace, configmap("other", "x", scenario=None))

    async def scenario_run() -> None:
        woken: list[tuple[str, str]] = []
        inf: Informer[tuple[str, str]] = Informer(
            load_configuration(str(cluster.kubeconfig)),
            path=lambda ns: f"/api/v1/namespaces/{ns}/configmaps",
            namespaces=[namespace],
            label_selector="taipod.io/job",
            scenario_label="taipod.io/scenario",
            record=record,
            on_change=lambda ns, scenario: woken.append((ns, scenario)),
            what="configmaps",
        )
        loop = asyncio.get_running_loop()
        await inf.start()  # returns once listed
        try:
            assert sorted(inf.get((namespace, "s")) or ()) == [("before", "one")]  # "other" is not selected
            assert woken == [(namespace, "s")]

            woken.clear()
            await loop.run_in_executor(None, core.create_namespaced_config_map, namespace, configmap("after", "two"))
            await _until(lambda: ("after", "two") in (inf.get((namespace, "s")) or ()), "the new ConfigMap")
            assert woken == [(namespace, "s")]

            # A change the record does not read wakes nothing; a change it reads wakes the scenario.
            woken.clear()
            events = inf.events
            patch = {"metadata": {"annotations": {"touched": "yes"}}}
            await loop.run_in_executor(None, core.patch_namespaced_config_map, "after", namespace, patch)
            await _until(lambda: inf.events > events, "the annotation's watch event")
            assert woken == []
            patch = {"data": {"state": "three"}}
            await loop.run_in_executor(None, core.patch_namespaced_config_map, "after", namespace, patch)
            await _until(lambda: ("after", "three") in (inf.get((namespace, "s")) or ()), "the changed data")
            assert woken == [(namespace, "s")]

            woken.clear()
            await loop.run_in_executor(None, core.delete_namespaced_config_map, "before", namespace)
            await _until(lambda: ("before", "one") not in (inf.get((namespace, "s")) or ()), "the deletion")
            assert woken == [(namespace, "s")]

            # A relist (after a 410 or repeated failures) drops what the server no longer has, as a missed
            # deletion would leave it, and wakes its scenario.
            ghost = configmap("ghost", "stale", scenario="gone")
            inf._put({**ghost, "metadata": {**ghost["metadata"], "namespace": namespace}})
            woken.clear()
            await inf._list(namespace)
            assert inf.get((namespace, "gone")) is None
            assert woken == [(namespace, "gone")]
            assert sorted(inf.get((namespace, "s")) or ()) == [("after", "three")]
        finally:
            await inf.stop()

    asyncio.run(scenario_run())
