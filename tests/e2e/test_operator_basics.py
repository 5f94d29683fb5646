"""The documentation's scenarios run end to end through the operator, with real pods running the real runner."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import Taipod

from taipod.operator.embedded import EmbeddedOperator
from taipod.operator.names import parse_time

pytestmark = pytest.mark.e2e

DOUBLE = {
    "data_nodes": [{"name": "input", "defaultData": 21}, {"name": "output"}],
    "tasks": [{"name": "double", "function": "taipod.samples:double", "inputs": ["input"], "outputs": ["output"]}],
}


def test_double_scenario_completes_with_42_and_ordered_times(taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario("doubling", **DOUBLE)
    sub = taipod.submit("doubling")
    job = taipod.wait_jobs(sub, {"double": "COMPLETED"})["double"]
    assert taipod.data_node("doubling", "output")["value"] == 42
    status = job["status"]
    assert [h["status"] for h in status["history"]] == ["SUBMITTED", "PENDING", "RUNNING", "COMPLETED"]
    times = [parse_time(h["at"]) for h in status["history"]]
    assert times == sorted(times)
    assert (status["runAt"], status["finishedAt"]) == (status["history"][2]["at"], status["history"][3]["at"])
    assert taipod.wait_submission(sub, "COMPLETED")["status"]["finished"] == "1/1"
