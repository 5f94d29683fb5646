"""Config -> Scenario manifest -> Config, names, and the export for ``kubectl apply`` (no cluster)."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import cloudpickle
import pytest
import yaml

import taipod as tp
import taipod.samples
from taipod import Config
from taipod.api.models import ScenarioSpec
from taipod.sdk import manifest, names


@pytest.fixture(autouse=True)
def fresh_config() -> Iterator[None]:
    Config.reset()
    yield
    Config.reset()


def double(nb: int) -> int:
    return nb * 2


def doc_config() -> tp.ScenarioConfig:
    input_cfg = Config.configure_data_node("my_input", default_data=21)
    output_cfg = Config.configure_data_node("my_output")
    double_cfg = Config.configure_task("double_task", double, input_cfg, output_cfg)
    print_cfg = Config.configure_task("print_task", print, output_cfg)
    return Config.configure_scenario("my_scenario", [double_cfg, print_cfg], sequences={"only_double": [double_cfg]})


def test_names() -> None:
    assert re.fullmatch(r"my-scenario-[0-9a-f]{8}", names.scenario_name("My_Scenario"))
    long = names.scenario_name("a" * 50)
    assert len(long) == 49 and long.startswith("a" * 40 + "-")
    assert names.submission_name("sc-12345678", "abcdef01") == "sc-12345678-abcdef01"
    assert names.scenario_name("x", "0a0b0c0d") != names.scenario_name("x")
    ident = names.entity_id("TASK", "double_task", "my-scenario-1a2b3c4d")
    assert ident == "TASK_double_task_my-scenario-1a2b3c4d"
    assert names.parse_entity_id(ident) == ("TASK", "double_task", "my-scenario-1a2b3c4d")
    assert names.parse_entity_id("my-scenario-1a2b3c4d") is None
    assert names.parse_entity_id("SEQUENCE__x") is None


def test_scenario_manifest_of_the_documentation_example() -> None:
    built = manifest.build(doc_config(), "my-scenario-0a0b0c0d")
    body = built.scenario
    assert body["apiVersion"] == "taipod.io/v1alpha1" and body["kind"] == "Scenario"
    assert body["metadata"]["name"] == "my-scenario-0a0b0c0d"
    assert body["metadata"]["labels"] == {"taipod.io/config-id": "my_scenario"}
    assert body["metadata"]["annotations"]["taipod.io/config-id"] == "my_scenario"
    spec = body["spec"]
    assert spec["dataNodes"] == [
        {"name": "my_input", "storageType": "pickle", "scope": "SCENARIO", "defaultData": 21},
        {"name": "my_output", "storageType": "pickle", "scope": "SCENARIO"},
    ]
    assert spec["tasks"] == [
        {
            "name": "double_task",
            "inputs": ["my_input"],
            "outputs": ["my_output"],
            "skippable": False,
            "function": "__main__:double",
            "pickled": {
                "configMap": "my-scenario-0a0b0c0d-functions",
                "key": "double_task",
                "pythonVersion": tp.sdk.functions.python_version(),
            },
            # shipped by value: the runner image of the client's Python (tests/unit/test_runner_images.py)
            "image": f"ghcr.io/taipod/runner:0.1.0-py{tp.sdk.functions.python_version()}",
        },
        {"name": "print_task", "inputs": ["my_output"], "outputs": [], "skippable": False, "function": "print"},
    ]
    assert spec["sequences"] == [{"name": "only_double", "tasks": ["double_task"]}]
    ScenarioSpec.model_validate(spec)
    cm = built.config_map
    assert cm is not None and cm["metadata"]["name"] == "my-scenario-0a0b0c0d-functions"
    assert list(cm["binaryData"]) == ["double_task"]
    assert cloudpickle.loads(base64.b64decode(cm["binaryData"]["double_task"]))(21) == 42


def test_importable_functions_need_no_config_map() -> None:
    a = Config.configure_data_node("a", "json", tp.Scope.GLOBAL, timedelta(seconds=1.5), default_data=[1, 2])
    b = Config.configure_data_node("b", "csv", tp.Scope.CYCLE)
    t = Config.configure_task("t", taipod.samples.identity, a, b, skippable=True, timeout_seconds=30)
    built = manifest.build(Config.configure_scenario("s", [t], frequency=tp.Frequency.DAILY))
    assert built.config_map is None
    assert built.scenario["spec"]["dataNodes"][0] == {
        "name": "a", "storageType": "json", "scope": "GLOBAL", "validityPeriodSeconds": 2, "defaultData": [1, 2]
    }  # fmt: skip
    assert built.scenario["spec"]["tasks"][0]["function"] == "taipod.samples:identity"
    assert built.scenario["spec"]["tasks"][0]["timeoutSeconds"] == 30
    assert built.scenario["spec"]["cycle"].startswith("daily-")


@pytest.mark.parametrize("default", [(1, 2), {1: "a"}, math.nan, object(), {"a": {3}}])
def test_default_data_must_be_json(default: Any) -> None:
    dn = Config.configure_data_node("a", default_data=default)
    task = Config.configure_task("t", print, dn)
    with pytest.raises(tp.ConfigurationError, match=r"not JSON-serialisable.*Fix"):
        manifest.build(Config.configure_scenario("s", [task]))


def test_every_problem_is_reported_at_once() -> None:
    a = Config.configure_data_node("a", "excel")
    b = Config.configure_data_node("b")
    t1 = Config.configure_task("t1", double, a, b)
    t2 = Config.configure_task("t2", double, b, a)
    sc = Config.configure_scenario("s", [t1, t2], sequences={"seq": [t1, Config.configure_task("other", print)]})
    with pytest.raises(tp.InvalidScenario) as info:
        manifest.build(sc)
    text = str(info.value)
    assert "spec.dataNodes[0].storageType" in text and "excel" in text
    assert "cycle" in text
    assert "spec.sequences[0].tasks[1]" in text and "other" in text


def test_inline_values() -> None:
    assert manifest.inline_value(42) == (True, 42)
    assert manifest.inline_value({"a": [1, "x", None]}) == (True, {"a": [1, "x", None]})
    assert manifest.inline_value("x" * 300)[0] is False
    assert manifest.inline_value((1, 2))[0] is False
    assert manifest.inline_value(float("inf"))[0] is False


def test_export_is_yaml_for_kubectl_apply() -> None:
    built = manifest.build(doc_config(), "my-scenario-0a0b0c0d")
    text = manifest.export_yaml(built)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["Scenario", "ConfigMap"]
    assert "# kind: Submission" in text and "#   scenario: my-scenario-0a0b0c0d" in text
    with_run = [d for d in yaml.safe_load_all(manifest.export_yaml(built, include_submission=True)) if d]
    assert [d["kind"] for d in with_run] == ["Scenario", "ConfigMap", "Submission"]
    assert with_run[2]["spec"] == {"scenario": "my-scenario-0a0b0c0d", "force": False}


def test_manifest_round_trip() -> None:
    original = manifest.build(doc_config(), "my-scenario-0a0b0c0d")
    loaded = manifest.load_manifest(manifest.export_yaml(original))
    assert loaded.id == "my_scenario"
    assert [t.id for t in loaded.task_configs] == ["double_task", "print_task"]
    assert loaded.task_configs[1].function is print
    assert loaded.task_configs[0].function(21) == 42  # type: ignore[operator]
    assert loaded.data_node_configs[0].default_data == 21
    assert list(loaded.sequences) == ["only_double"]
    again = manifest.build(loaded, "my-scenario-0a0b0c0d")
    assert again.scenario["spec"] == original.scenario["spec"]
    assert again.scenario["metadata"]["labels"] == original.scenario["metadata"]["labels"]


def test_round_trip_keeps_extra_fields_and_additional_data_nodes() -> None:
    a = Config.configure_data_node("a", "json", tp.Scope.GLOBAL, timedelta(seconds=10), default_data={"k": 1})
    b = Config.configure_data_node("b", path="s3://bucket/b.pkl")
    extra = Config.configure_data_node("extra", "parquet")
    t = Config.configure_task("t", "my_package.tasks:f", a, b, image="my/image:1", resources={"limits": {"cpu": 1}})
    sc = Config.configure_scenario("sc", [t], [extra], image="my/default:2")
    original = manifest.build(sc, "sc-00000000")
    loaded = manifest.load_manifest(manifest.export_yaml(original))
    assert [dn.id for dn in loaded.additional_data_node_configs] == ["extra"]
    assert loaded.task_configs[0].function == "my_package.tasks:f"  # not importable here: kept as a reference
    assert manifest.build(loaded, "sc-00000000").scenario["spec"] == original.scenario["spec"]


def test_load_rejects_what_is_not_a_scenario(tmp_path: Any) -> None:
    with pytest.raises(tp.ConfigurationError, match="no taipod Scenario"):
        manifest.load_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    text = manifest.export_yaml(manifest.build(doc_config(), "my-scenario-0a0b0c0d"))
    without_cm = "---\n".join(part for part in text.split("---\n") if "kind: ConfigMap" not in part)
    with pytest.raises(tp.ConfigurationError, match="ConfigMap"):
        manifest.load_manifest(without_cm)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert tp.load_scenario_manifest(path).id == "my_scenario"
    assert Config.scenarios["my_scenario"].id == "my_scenario"
