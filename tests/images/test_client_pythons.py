"""Clients on other Python versions (issue 13, point 4): the SDK of a Python 3.13 client ships a function by value to
the py3.13 runner image, which runs it; a Python 3.12 client, for which no runner image exists, is refused at
``create_scenario``.

The clients are real interpreters (pyenv's, or any ``python3.X`` on PATH) with taipod's dependencies in a virtual
environment cached under ``~/.cache/taipod/client-venvs/`` and taipod itself from this checkout (PYTHONPATH). The
task runs in the runner image pulled from the loopback registry, with the pickled bytes of the client's manifest.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from tests.images.conftest import run_image, task_env

from localkube.build import STAMP, cache_root
from taipod._version import __version__
from taipod.core.runner_images import RUNNER_PYTHONS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(3600)  # first use: building the images and the clients' environments

CLIENT = """
import sys
import taipod as tp
from taipod import Config


def triple(nb):
    return nb * 3


a = Config.configure_data_node("a", default_data=21)
b = Config.configure_data_node("b")
scenario = Config.configure_scenario("sc", [Config.configure_task("triple_task", triple, a, b)])
if sys.argv[1] == "export":
    print(tp.export_scenario_manifest(scenario))
else:
    try:
        tp.create_scenario(scenario)
    except tp.sdk.errors.ConfigurationError as exc:
        print(f"refused: {exc}")
"""


def find_python(version: str) -> str | None:
    """An interpreter of Python ``version``: pyenv's, else one on PATH."""
    found = sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python{version}"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


def client_venv(version: str) -> Path:
    """A virtual environment of Python ``version`` with taipod's dependencies (not taipod: it comes from this
    checkout), cached per set of dependencies; skips the test when no such Python is installed."""
    python = find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} here (pyenv install {version}, or put python{version} on PATH)")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256(json.dumps([python, dependencies]).encode()).hexdigest()[:12]
    venv = cache_root() / "client-venvs" / f"py{version}-{key}"
    if (venv / STAMP).is_file():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / STAMP).is_file():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
            done = subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", *dependencies], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, f"pip install of taipod's dependencies on Python {version}:\n{done.stderr}"
            (venv / STAMP).write_text(key + "\n")
    return venv


def run_client(version: str, action: str, env: dict[str, str]) -> str:
    venv = client_venv(version)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CLIENT, action],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "operator"), **env},
    )
    assert done.returncode == 0, f"the Python {version} client failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_python_3_13_client_ships_its_function_to_the_py3_13_runner(pushed: dict[str, str], tmp_path: Path) -> None:
    assert "3.13" in RUNNER_PYTHONS
    registry_address = pushed["operator"].split("/")[0]
    exported = run_client("3.13", "export", {"TAIPOD_RUNNER_REPOSITORY": f"{registry_address}/taipod/runner"})
    documents = [doc for doc in yaml.safe_load_all(exported) if doc]
    scenario = next(doc for doc in documents if doc["kind"] == "Scenario")
    config_map = next(doc for doc in documents if doc["kind"] == "ConfigMap")
    [task] = scenario["spec"]["tasks"]
    assert task["pickled"]["pythonVersion"] == "3.13"
    assert task["image"] == pushed["runner-py3.13"] == f"{registry_address}/taipod/runner:{__version__}-py3.13"

    (tmp_path / "function").write_bytes(base64.b64decode(config_map["binaryData"][task["pickled"]["key"]]))
    pickled = {"path": "/data/function", "pythonVersion": task["pickled"]["pythonVersion"]}
    output = run_image(task["image"], volume=tmp_path, env=task_env(tmp_path, task["function"], pickled))
    with (tmp_path / "b.p").open("rb") as stored:
        assert pickle.load(stored) == 63, output


@pytest.mark.parametrize("version", [v for v in ("3.12",) if v not in RUNNER_PYTHONS])
def test_a_client_on_a_python_without_runner_image_is_refused_at_create_scenario(version: str) -> None:
    # No cluster is configured: the refusal comes before any request.
    output = run_client(version, "create", {"KUBECONFIG": "/nonexistent", "TAIPOD_RUNNER_REPOSITORY": ""})
    assert output.startswith("refused: task 'triple_task' ships its function by value"), output
    assert f"this client runs Python {version}" in output and ", ".join(RUNNER_PYTHONS) in output
    assert "image=" in output


def test_the_suite_own_python_has_a_runner_image() -> None:
    """The main suite's client (this process) is on a Python with a runner image."""
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in RUNNER_PYTHONS
