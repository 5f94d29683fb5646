"""The job selector's pictures: a job's timeline segments, a submission's Gantt chart, the scenario's DAG layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from taipod.core.history import Transition
from taipod.core.status import Status
from taipod.ui.graph import COLUMN_WIDTH, MARGIN, ROW_HEIGHT, layout
from taipod.ui.timeline import gantt, segments

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def history(*steps: tuple[Status, float]) -> list[Transition]:
    return [Transition(status, t(s)) for status, s in steps]


def test_each_status_lasts_until_the_next_and_a_finished_one_is_a_point() -> None:
    found = segments(
        history(
            (Status.SUBMITTED, 0), (Status.BLOCKED, 1), (Status.PENDING, 3), (Status.RUNNING, 4), (Status.FAILED, 9)
        ),
        t(100),
    )
    assert [(s.status, s.seconds) for s in found] == [
        ("SUBMITTED", 1.0),
        ("BLOCKED", 2.0),
        ("PENDING", 1.0),
        ("RUNNING", 5.0),
        ("FAILED", 0.0),
    ]
    assert found[1].to_json(T0) | {"start": "", "end": ""} == {
        "status": "BLOCKED",
        "start": "",
        "end": "",
        "seconds": 2.0,
        "reason": "",
        "from": 1.0,
        "to": 3.0,
    }


def test_the_current_unfinished_status_lasts_until_now() -> None:
    found = segments(history((Status.SUBMITTED, 0), (Status.RUNNING, 2)), t(7))
    assert found[-1].seconds == 5.0


def test_clock_skew_never_gives_negative_lengths() -> None:
    found = segments(history((Status.SUBMITTED, 5), (Status.RUNNING, 2)), t(1))
    assert all(s.seconds >= 0 for s in found)


def test_gantt_orders_bars_by_start_and_spans_the_submission() -> None:
    chart = gantt(
        [
            (
                "j-b",
                "second",
                history(
                    (Status.SUBMITTED, 0),
                    (Status.BLOCKED, 1),
                    (Status.PENDING, 5),
                    (Status.RUNNING, 6),
                    (Status.COMPLETED, 8),
                ),
            ),
            (
                "j-a",
                "first",
                history((Status.SUBMITTED, 0), (Status.PENDING, 0.5), (Status.RUNNING, 1), (Status.COMPLETED, 5)),
            ),
            ("j-c", "late", history((Status.SUBMITTED, 2))),
        ],
        t(10),
    )
    assert [bar.task for bar in chart.bars] == ["first", "second", "late"]
    assert chart.start == T0 and chart.end == t(10) and chart.seconds == 10.0
    data = chart.to_json()
    second = data["bars"][1]
    assert [(s["status"], s["from"], s["to"]) for s in second["segments"]] == [
        ("SUBMITTED", 0.0, 1.0),
        ("BLOCKED", 1.0, 5.0),
        ("PENDING", 5.0, 6.0),
        ("RUNNING", 6.0, 8.0),
        ("COMPLETED", 8.0, 8.0),
    ]
    assert second["status"] == "COMPLETED"


def test_an_empty_gantt() -> None:
    chart = gantt([], t(0))
    assert chart.to_json() == {"start": None, "end": None, "seconds": 0.0, "bars": []}


def test_dag_layers_alternate_data_nodes_and_tasks() -> None:
    tasks = [
        {"name": "join", "inputs": ["left", "right"], "outputs": ["out"]},
        {"name": "make_left", "inputs": ["src"], "outputs": ["left"]},
        {"name": "make_right", "inputs": ["src"], "outputs": ["right"]},
    ]
    found = layout(tasks, {"make_left": "COMPLETED", "join": "BLOCKED"})
    layer = {n.id: n.y for n in found.nodes}  # top to bottom
    assert layer["data:src"] == MARGIN
    assert layer["task:make_left"] == layer["task:make_right"] == MARGIN + ROW_HEIGHT
    assert layer["data:left"] == MARGIN + 2 * ROW_HEIGHT
    assert layer["task:join"] == MARGIN + 3 * ROW_HEIGHT
    assert layer["data:out"] == MARGIN + 4 * ROW_HEIGHT
    column = {n.id: n.x for n in found.nodes}
    assert {column["task:make_left"], column["task:make_right"]} == {MARGIN, MARGIN + COLUMN_WIDTH}
    status = {n.id: n.status for n in found.nodes}
    assert status == {
        "task:join": "BLOCKED",
        "data:left": None,
        "data:right": None,
        "data:out": None,
        "task:make_left": "COMPLETED",
        "task:make_right": None,
        "data:src": None,
    }
    assert ("task:make_left", "data:left") in found.edges and ("data:left", "task:join") in found.edges
    assert len(found.edges) == 7
    assert found.height == 2 * MARGIN + 5 * ROW_HEIGHT and found.width == 2 * MARGIN + 2 * COLUMN_WIDTH


def test_nodes_of_a_layer_never_overlap() -> None:
    tasks = [{"name": f"t{i}", "inputs": ["src"], "outputs": [f"o{i}"]} for i in range(6)]
    found = layout(tasks, {})
    places = [(n.x, n.y) for n in found.nodes]
    assert len(places) == len(set(places))


def test_a_cyclic_spec_still_gets_a_finite_layout() -> None:
    tasks = [{"name": "a", "inputs": ["x"], "outputs": ["y"]}, {"name": "b", "inputs": ["y"], "outputs": ["x"]}]
    found = layout(tasks, {})
    assert len(found.nodes) == 4 and max(n.y for n in found.nodes) <= MARGIN + 5 * ROW_HEIGHT
    assert found.to_json()["edges"][0] == {"from": "data:x", "to": "task:a"}


def test_an_empty_scenario() -> None:
    found = layout([], {})
    assert found.nodes == [] and found.width == 2 * MARGIN + COLUMN_WIDTH and found.height == 2 * MARGIN + ROW_HEIGHT
