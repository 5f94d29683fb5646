"""Status enums: Taipy's names and values (semantics.md §2.2, §3.2) and their predicates."""

from __future__ import annotations

import pytest

from taipod.core.status import FINISHED, NOT_STARTED, Scope, Status, SubmissionStatus

TAIPY_STATUS_VALUES = {
    "SUBMITTED": 1,
    "BLOCKED": 2,
    "PENDING": 3,
    "RUNNING": 4,
    "CANCELED": 5,
    "FAILED": 6,
    "COMPLETED": 7,
    "SKIPPED": 8,
    "ABANDONED": 9,
}


def test_status_names_and_values_are_taipys() -> None:
    assert {s.name: s.value for s in Status} == TAIPY_STATUS_VALUES
    assert [s.name for s in Status] == list(TAIPY_STATUS_VALUES)


@pytest.mark.parametrize("status", list(Status))
def test_status_prints_like_taipy(status: Status) -> None:
    assert str(status) == f"Status.{status.name}"
    assert f"{status}" == f"Status.{status.name}"


def test_finished_and_not_started_sets() -> None:
    assert {Status.COMPLETED, Status.FAILED, Status.CANCELED, Status.SKIPPED, Status.ABANDONED} == FINISHED
    assert {Status.SUBMITTED, Status.BLOCKED, Status.PENDING} == NOT_STARTED
    assert isinstance(FINISHED, frozenset)
    assert isinstance(NOT_STARTED, frozenset)
    assert not FINISHED & NOT_STARTED
    assert set(Status) - FINISHED - NOT_STARTED == {Status.RUNNING}


@pytest.mark.parametrize("status", list(Status))
def test_is_finished(status: Status) -> None:
    assert status.is_finished() == (status in FINISHED)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("other", list(Status))
def test_each_predicate_is_true_for_its_own_status_only(status: Status, other: Status) -> None:
    predicate = getattr(status, f"is_{other.name.lower()}")
    assert predicate() == (status is other)


def test_submission_status_names_and_values_are_taipys() -> None:
    assert {s.name: s.value for s in SubmissionStatus} == {
        "SUBMITTED": 0,
        "UNDEFINED": 1,
        "BLOCKED": 2,
        "PENDING": 3,
        "RUNNING": 4,
        "CANCELED": 5,
        "FAILED": 6,
        "COMPLETED": 7,
    }
    assert str(SubmissionStatus.COMPLETED) == "SubmissionStatus.COMPLETED"


@pytest.mark.parametrize(
    ("status", "finished", "deletable"),
    [
        (SubmissionStatus.SUBMITTED, False, False),
        (SubmissionStatus.UNDEFINED, False, True),
        (SubmissionStatus.BLOCKED, False, False),
        (SubmissionStatus.PENDING, False, False),
        (SubmissionStatus.RUNNING, False, False),
        (SubmissionStatus.CANCELED, True, True),
        (SubmissionStatus.FAILED, True, True),
        (SubmissionStatus.COMPLETED, True, True),
    ],
)
def test_submission_status_finished_and_deletable(status: SubmissionStatus, finished: bool, deletable: bool) -> None:
    assert status.is_finished() is finished
    assert status.is_deletable() is deletable


def test_scope_values() -> None:
    assert {s.name: s.value for s in Scope} == {"SCENARIO": 1, "CYCLE": 2, "GLOBAL": 3}


def test_core_imports_nothing_from_kubernetes() -> None:
    import ast
    import pathlib

    import taipod.core

    root = pathlib.Path(taipod.core.__file__).parent
    forbidden = {"kopf", "kubernetes"}
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & forbidden, f"{path.name} imports {names}"
