"""tp.submit's deadline and time-to-live (taipod's extensions to Taipy): checked at once, written to the spec."""

from __future__ import annotations

from typing import Any

import pytest

from taipod.sdk import submitting


class RecordingCluster:
    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append((plural, body))
        return body


def test_the_limits_go_to_the_submission_spec() -> None:
    cluster = RecordingCluster()
    limits = submitting._limits(60, 0)
    submitting._create_submission(cluster, "sc", None, None, False, {}, None, limits)  # type: ignore[arg-type]
    ((plural, body),) = cluster.created
    assert plural == "submissions"
    assert body["spec"] == {"scenario": "sc", "force": False, "activeDeadlineSeconds": 60, "ttlSecondsAfterFinished": 0}


def test_no_limits_no_fields() -> None:
    assert submitting._limits(None, None) == {}


@pytest.mark.parametrize(
    ("deadline", "ttl", "name"),
    [
        (0, None, "active_deadline_seconds"),
        (-5, None, "active_deadline_seconds"),
        (1.5, None, "active_deadline_seconds"),
        (True, None, "active_deadline_seconds"),
        (None, -1, "ttl_seconds_after_finished"),
        (None, "5", "ttl_seconds_after_finished"),
    ],
)
def test_bad_limits_are_refused_naming_the_argument(deadline: Any, ttl: Any, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be a whole number of seconds"):
        submitting._limits(deadline, ttl)
