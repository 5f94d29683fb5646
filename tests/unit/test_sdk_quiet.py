"""The two spurious warnings of a normal SDK run (issue 15, point 6), checked at their source."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from taipod.operator import embedded
from taipod.sdk.data_node import DataNode, NoData
from taipod.sdk.submitting import _warn_inputs_not_ready

SCENARIO = {
    "spec": {
        "dataNodes": [{"name": "given", "defaultData": 21}, {"name": "missing"}, {"name": "out"}],
        "tasks": [{"name": "t", "inputs": ["given", "missing"], "outputs": ["out"]}],
    },
    "status": {},
}


def test_an_input_with_default_data_is_not_reported_as_never_written(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _warn_inputs_not_ready(SCENARIO, ["t"])
    assert [r.getMessage() for r in caplog.records] == [
        "missing cannot be read because it has never been written. Hint: write it first."
    ]


def _kopf_signal_warning(thread_name: str) -> list[str]:
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("kopf._core.reactor.running")
    handler = Keep()
    logger.addHandler(handler)
    try:
        thread = threading.Thread(
            target=logger.warning, args=("OS signals are ignored: running not in the main thread.",), name=thread_name
        )
        thread.start()
        thread.join()
        logger.warning("another kopf warning")
    finally:
        logger.removeHandler(handler)
    return seen


def test_kopf_signal_warning_is_dropped_for_the_embedded_operator_thread_only() -> None:
    assert _kopf_signal_warning(embedded.THREAD_NAME) == ["another kopf warning"]
    assert _kopf_signal_warning("someone-elses-thread") == [
        "OS signals are ignored: running not in the main thread.",
        "another kopf warning",
    ]


SCENARIO_VIEW: Any = SimpleNamespace(id="SCENARIO_s", cycle=None)  # what a data node asks of its scenario here


class _Unrecorded(DataNode):
    """A data node whose scenario status has no entry yet (the operator has not recorded it)."""

    def _status(self) -> dict[str, Any]:
        return {}


def test_default_data_not_recorded_yet_reads_as_the_default_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert _Unrecorded(SCENARIO_VIEW, {"name": "given", "defaultData": 21}).read() == 21
    assert caplog.records == []
    with pytest.raises(NoData, match="has never been written"):
        _Unrecorded(SCENARIO_VIEW, {"name": "missing"}).read_or_raise()
