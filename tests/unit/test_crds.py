"""crds/ is generated from the pydantic models; this fails when they drift (regenerate with the command below)."""

from __future__ import annotations

from pathlib import Path

import yaml

from taipod.api import crdgen, models
from taipod.operator.names import job_name, label_value

ROOT = Path(__file__).resolve().parents[2]


def test_crds_directory_matches_the_models() -> None:
    expected = {name: crdgen.render(crd) for name, crd in crdgen.crd_documents().items()}
    actual = {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}
    assert actual == expected, "crds/ drifted from taipod/api/models.py: run `python -m taipod.api.crdgen crds/`"


def test_crds_are_structural_with_status_columns_short_names_and_category() -> None:
    for crd in crdgen.crd_documents().values():
        names = crd["spec"]["names"]
        assert "job" not in names["shortNames"] and names["categories"] == ["taipod"]
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        text = yaml.safe_dump(version["schema"])
        assert "$ref" not in text and "anyOf" not in text and "title" not in text
    job = crdgen.crd_for("Job")["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in job] == ["Status", "Task", "Submission", "Started", "Duration", "Reason", "Age"]


def test_examples_validate_against_the_models() -> None:
    kinds = {"Scenario": models.ScenarioSpec, "Submission": models.SubmissionSpec}
    seen = 0
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in kinds:
                kinds[doc["kind"]].model_validate(doc["spec"])
                seen += 1
    assert seen >= 4


def test_job_names_are_dns_labels_deterministic_and_distinct() -> None:
    long_sub = "s" * 63
    names = {job_name(long_sub, t) for t in ("Task_A", "task_a", "task-a", "_x" * 25)}
    assert len(names) == 4
    for name in names:
        assert len(name) <= 63 and name == name.lower() and not name.startswith("-")
    assert job_name("sub", "double") == job_name("sub", "double")
    # One name per submission instance: a submission re-created under the same name gets new job names.
    assert job_name("sub", "double", "uid-1") == job_name("sub", "double", "uid-1") != job_name("sub", "double", "u2")
    assert label_value("ok-name") == "ok-name"
    assert len(label_value("x" * 100)) <= 63
