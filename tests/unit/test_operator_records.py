"""Records of batch Jobs and pods name their job by owner reference, not by the labels anyone can edit (issue 17)."""

from __future__ import annotations

from typing import Any

from taipod.operator.records import batch_record, pod_record, run_labels


def _meta(labels: dict[str, str], owner: dict[str, Any] | None) -> dict[str, Any]:
    return {"name": "x", "namespace": "ns", "uid": "u", "labels": labels, "ownerReferences": [owner] if owner else []}


TAIPOD_OWNER = {"apiVersion": "taipod.io/v1alpha1", "kind": "Job", "name": "sc-t-1a2b", "uid": "j", "controller": True}
BATCH_OWNER = {"apiVersion": "batch/v1", "kind": "Job", "name": "sc-t-1a2b", "uid": "b", "controller": True}


def test_a_batch_job_runs_the_job_of_its_controlling_owner_whatever_its_label_says() -> None:
    record = batch_record({"metadata": _meta({"taipod.io/job": "another"}, TAIPOD_OWNER)})
    assert record.job == "sc-t-1a2b"
    assert dict(record.labels)["taipod.io/job"] == "another"


def test_a_pod_runs_the_job_its_batch_job_is_named_after() -> None:
    assert pod_record({"metadata": _meta({}, BATCH_OWNER)}).job == "sc-t-1a2b"


def test_without_an_owner_reference_the_label_is_used() -> None:
    assert batch_record({"metadata": _meta({"taipod.io/job": "old"}, None)}).job == "old"
    not_controller = {**BATCH_OWNER, "controller": False}
    assert pod_record({"metadata": _meta({"taipod.io/job": "old"}, not_controller)}).job == "old"


def test_records_differ_when_only_a_label_was_edited_so_the_edit_wakes_the_scenario() -> None:
    before = batch_record({"metadata": _meta({"taipod.io/scenario": "sc"}, TAIPOD_OWNER)})
    after = batch_record({"metadata": _meta({"taipod.io/scenario": "elsewhere"}, TAIPOD_OWNER)})
    assert before != after


def test_run_labels_lists_every_taipod_label_missing_ones_as_none() -> None:
    assert run_labels({"labels": {"taipod.io/job": "j"}}) == (
        ("taipod.io/scenario", None),
        ("taipod.io/submission", None),
        ("taipod.io/job", "j"),
        ("app.kubernetes.io/managed-by", None),
    )
