"""The chart's retention values (taipod's extensions to Taipy): they reach the operator's environment, empty keeps
everything, and the schema refuses negative numbers naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helm import CHART, helm
from tests.unit.test_chart import _set, env_of, only, render

from taipod.operator.config import OperatorConfig

KEYS = ("TAIPOD_SUBMISSION_TTL_SECONDS", "TAIPOD_TASK_POD_DELETE_AFTER_SECONDS")


def test_by_default_nothing_is_deleted() -> None:
    env = env_of(only(render(), "Deployment"))
    assert not set(KEYS) & set(env)
    config = OperatorConfig.from_env(env)
    assert (config.submission_ttl_seconds, config.task_pod_delete_after) == (None, None)


def test_the_values_reach_the_operator() -> None:
    docs = render(*_set("retention.submissionTtlSeconds=3600", "retention.taskPodDeleteAfterSeconds=0"))
    env = env_of(only(docs, "Deployment"))
    assert (env[KEYS[0]], env[KEYS[1]]) == ("3600", "0")  # 0 is a value: at once
    config = OperatorConfig.from_env(env)
    assert config.submission_ttl_seconds == 3600 and config.task_pod_delete_after is not None
    assert config.task_pod_delete_after.total_seconds() == 0


def test_the_operator_can_delete_finished_submissions() -> None:
    rules = [r for d in render() if d["kind"] == "ClusterRole" for r in d.get("rules") or []]
    assert any("submissions" in r["resources"] and "delete" in r["verbs"] for r in rules)


@pytest.mark.parametrize("key", ["submissionTtlSeconds", "taskPodDeleteAfterSeconds"])
def test_the_schema_refuses_a_negative_number_naming_the_key(tmp_path: Path, key: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"retention:\n  {key}: -1\n")
    proc = helm("template", "rel", str(CHART), "--values", str(bad), check=False)
    assert proc.returncode != 0
    assert key in proc.stderr + proc.stdout


@pytest.mark.parametrize(("value", "fix"), [("-5", "0 or more"), ("soon", "number of seconds")])
def test_the_operator_refuses_a_bad_setting_naming_the_variable(value: str, fix: str) -> None:
    with pytest.raises(ValueError, match=f"TAIPOD_SUBMISSION_TTL_SECONDS.*{fix}"):
        OperatorConfig.from_env({"TAIPOD_SUBMISSION_TTL_SECONDS": value})
