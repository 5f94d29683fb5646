"""The informer's cache: watch events to compact records grouped by scenario, waking a scenario only on change."""

from __future__ import annotations

from typing import Any

import pytest

from taipod.operator.informer import Informer, _Expired
from taipod.operator.records import pod_record


def pod(name: str, phase: str = "Pending", rv: int = 1, scenario: str = "s", node: str = "") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": str(rv),
            "creationTimestamp": "2026-12-02T10:00:00Z",
            "labels": {"taipod.io/job": name[:-6], "taipod.io/scenario": scenario},
        },
        "spec": {"nodeName": node},
        "status": {"phase": phase},
    }


def informer(woken: list[tuple[str, str]]) -> Informer[Any]:
    return Informer(
        None,
        path=lambda ns: f"/api/v1/namespaces/{ns}/pods",
        namespaces=["ns"],
        label_selector="taipod.io/job",
        scenario_label="taipod.io/scenario",
        record=pod_record,
        on_change=lambda ns, scenario: woken.append((ns, scenario)),
        what="pods",
    )


def feed(inf: Informer[Any], *events: dict[str, Any]) -> str:
    version = "0"
    keys = []
    for event in events:
        key, version = inf._handle(event, version)
        keys.append(key)
    inf._changed(keys)
    return version


def test_added_pods_are_grouped_by_scenario_and_wake_it() -> None:
    woken: list[tuple[str, str]] = []
    inf = informer(woken)
    version = feed(inf, {"type": "ADDED", "object": pod("a-abcde")}, {"type": "ADDED", "object": pod("b-abcde", rv=2)})
    assert version == "2"
    assert woken == [("ns", "s")]  # one wake for the burst
    assert sorted(r.facts.name for r in inf.get(("ns", "s"))) == ["a-abcde", "b-abcde"]
    assert inf.get(("ns", "other")) is None
    assert len(inf) == 2


def test_an_update_that_changes_nothing_read_wakes_nothing() -> None:
    woken: list[tuple[str, str]] = []
    inf = informer(woken)
    feed(inf, {"type": "ADDED", "object": pod("a-abcde")})
    woken.clear()
    # Scheduled (nodeName set), then the Job controller removes its finalizer: the record is the same.
    feed(inf, {"type": "MODIFIED", "object": pod("a-abcde", rv=5, node="n1")})
    assert woken == []
    [record] = inf.get(("ns", "s"))
    assert record.rv == 5  # the newest version is kept all the same
    feed(inf, {"type": "MODIFIED", "object": pod("a-abcde", phase="Running", rv=6, node="n1")})
    assert woken == [("ns", "s")]
    [record] = inf.get(("ns", "s"))
    assert record.facts.phase == "Running"


def test_deleted_pod_leaves_the_cache_and_wakes_its_scenario() -> None:
    woken: list[tuple[str, str]] = []
    inf = informer(woken)
    feed(inf, {"type": "ADDED", "object": pod("a-abcde")}, {"type": "ADDED", "object": pod("b-abcde", scenario="t")})
    woken.clear()
    feed(inf, {"type": "DELETED", "object": pod("a-abcde", rv=9)})
    assert woken == [("ns", "s")]
    assert inf.get(("ns", "s")) is None
    assert len(inf) == 1


def test_bookmark_moves_the_version_only() -> None:
    woken: list[tuple[str, str]] = []
    inf = informer(woken)
    version = feed(inf, {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}})
    assert version == "42" and woken == [] and len(inf) == 0


def test_expired_version_asks_for_a_relist_and_other_errors_raise() -> None:
    inf = informer([])
    with pytest.raises(_Expired):
        inf._handle({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}, "1")
    with pytest.raises(RuntimeError, match="forbidden"):
        inf._handle({"type": "ERROR", "object": {"kind": "Status", "code": 403, "message": "forbidden"}}, "1")


def test_a_relabelled_object_moves_to_its_new_scenario() -> None:
    woken: list[tuple[str, str]] = []
    inf = informer(woken)
    feed(inf, {"type": "ADDED", "object": pod("a-abcde", scenario="s")})
    woken.clear()
    feed(inf, {"type": "MODIFIED", "object": pod("a-abcde", rv=2, scenario="t")})
    assert inf.get(("ns", "s")) is None
    assert [r.facts.name for r in inf.get(("ns", "t"))] == ["a-abcde"]
    assert sorted(set(woken)) == [("ns", "s"), ("ns", "t")]
