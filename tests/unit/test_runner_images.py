"""The runner image of a task shipped by value: the one of the client's own Python minor version (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import taipod as tp
from taipod import Config
from taipod._version import __version__
from taipod.core.runner_images import (
    RUNNER_PYTHONS,
    RUNNER_REPOSITORY,
    NoRunnerImageError,
    runner_image,
    runner_image_for,
    runner_tag,
)
from taipod.sdk import functions, manifest, settings
from taipod.sdk.errors import ConfigurationError


@pytest.fixture(autouse=True)
def fresh_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TAIPOD_RUNNER_REPOSITORY", raising=False)
    Config.reset()
    settings.reset()
    yield
    Config.reset()
    settings.reset()


def double(nb: int) -> int:
    return nb * 2


def scenario_config(**task_properties: object) -> tp.ScenarioConfig:
    a = Config.configure_data_node("a", default_data=21)
    b = Config.configure_data_node("b")
    by_value = Config.configure_task("double_task", double, a, b, **task_properties)
    by_name = Config.configure_task("print_task", print, b)
    return Config.configure_scenario("sc", [by_value, by_name])


def images_of(built: manifest.ScenarioManifest) -> dict[str, str | None]:
    return {task["name"]: task.get("image") for task in built.scenario["spec"]["tasks"]}


def on_python(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """Pretend the client runs Python ``version`` (the version the SDK records for a pickled function)."""
    monkeypatch.setattr(functions, "python_version", lambda: version)


def test_tags_and_references() -> None:
    assert runner_tag("0.1.0", "3.13") == "0.1.0-py3.13"
    assert runner_image("reg.example/taipod/runner", "0.1.0", "3.11") == "reg.example/taipod/runner:0.1.0-py3.11"
    assert runner_image_for(RUNNER_REPOSITORY, "0.1.0", "3.11") == "ghcr.io/taipod/runner:0.1.0-py3.11"
    assert RUNNER_PYTHONS == ("3.11", "3.13")


def test_no_runner_image_names_the_version_the_choices_and_the_fix() -> None:
    with pytest.raises(NoRunnerImageError) as caught:
        runner_image_for(RUNNER_REPOSITORY, "0.1.0", "3.12")
    message = str(caught.value)
    assert "Python 3.12" in message and "3.11, 3.13" in message
    assert "image=" in message and "image_modules" in message


@pytest.mark.parametrize("python", RUNNER_PYTHONS)
def test_a_function_shipped_by_value_runs_in_the_runner_of_the_client_python(
    monkeypatch: pytest.MonkeyPatch, python: str
) -> None:
    on_python(monkeypatch, python)
    built = manifest.build(scenario_config(), "sc-0a0b0c0d")
    assert images_of(built) == {"double_task": f"ghcr.io/taipod/runner:{__version__}-py{python}", "print_task": None}
    assert built.scenario["spec"]["tasks"][0]["pickled"]["pythonVersion"] == python
    assert "image" not in built.scenario["spec"]  # the operator's runner image stays the default of the others


def test_the_runner_repository_comes_from_the_settings_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    on_python(monkeypatch, "3.13")
    monkeypatch.setenv("TAIPOD_RUNNER_REPOSITORY", "127.0.0.1:5000/taipod/runner")
    assert settings.current().resolved_runner_repository() == "127.0.0.1:5000/taipod/runner"
    exported = tp.export_scenario_manifest(scenario_config())
    assert f"image: 127.0.0.1:5000/taipod/runner:{__version__}-py3.13" in exported
    Config.configure_cluster(runner_repository="registry.example.com/team/runner")
    exported = tp.export_scenario_manifest(scenario_config())
    assert f"image: registry.example.com/team/runner:{__version__}-py3.13" in exported


def test_an_image_set_by_the_user_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    on_python(monkeypatch, "3.12")  # no runner image for it: no error either, the user's image is used
    task_image = manifest.build(scenario_config(image="my/tasks:3.12"), "sc-0a0b0c0d")
    assert images_of(task_image) == {"double_task": "my/tasks:3.12", "print_task": None}
    scenario_image = manifest.build(scenario_config(), "sc-0a0b0c0d", image="my/scenario:3.12")
    assert images_of(scenario_image) == {"double_task": None, "print_task": None}
    assert scenario_image.scenario["spec"]["image"] == "my/scenario:3.12"


def test_functions_referenced_by_name_need_no_runner_of_the_client_python(monkeypatch: pytest.MonkeyPatch) -> None:
    on_python(monkeypatch, "3.12")
    a = Config.configure_data_node("a", default_data=21)
    task = Config.configure_task("print_task", print, a)
    built = manifest.build(Config.configure_scenario("sc", [task]), "sc-0a0b0c0d")
    assert images_of(built) == {"print_task": None}


def test_a_client_on_a_python_without_runner_image_is_refused_at_create_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on_python(monkeypatch, "3.12")
    # The refusal comes from building the manifest, before any cluster is contacted (none is configured here).
    with pytest.raises(ConfigurationError) as caught:
        tp.create_scenario(scenario_config())
    message = str(caught.value)
    assert "task 'double_task' ships its function by value" in message
    assert "Python 3.12" in message and "3.11, 3.13" in message and "image=" in message
