"""Fixtures of the image tests: the images built (cached), a registry on loopback, the images pushed to it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from localkube import images
from localkube.errors import ClusterError

MISSING = images.missing_reason()
"""Why this host cannot build and run the images (one line), or None."""

# What the task pods' container needs without CAP_SYS_RESOURCE (the machine's limits are above these).
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
# The chart's security settings of the operator container (non-root, read-only root, no capabilities).
LOCKED_DOWN = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


@pytest.fixture(scope="session")
def built() -> dict[str, images.BuiltImage]:
    if MISSING is not None:
        pytest.skip(f"images: {MISSING}")
    try:
        return images.ensure_images()
    except ClusterError as exc:
        pytest.fail(f"building the images failed: {exc}")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[images.LocalRegistry]:
    local = images.LocalRegistry(tmp_path_factory.mktemp("registry"))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def pushed(built: dict[str, images.BuiltImage], registry: images.LocalRegistry) -> Iterator[dict[str, str]]:
    refs = {name: images.push(image, registry.address) for name, image in built.items()}
    yield refs
    # The tests pulled them into podman's storage under this run's registry port: drop those names (the layers
    # shared with the builds stay).
    podman("rmi", "--ignore", *refs.values())


def podman(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False, timeout=timeout, env=env)


def podman_run(
    ref: str, *args: str, options: Sequence[str] = (), volume: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``podman run`` of ``ref``, pulled from the loopback registry, without network, with the limits a task pod's
    container gets here, ``options`` (``--entrypoint``, ...), ``volume`` at /data and ``env``."""
    mounts = ["--volume", f"{volume}:/data"] if volume else []
    envs = [f"--env={key}={value}" for key, value in (env or {}).items()]
    flags = ["--rm", "--tls-verify=false", "--network", "none", *ULIMITS, *options, *mounts, *envs]
    return podman("run", *flags, ref, *args)


def run_image(ref: str, *args: str, volume: Path | None = None, env: dict[str, str] | None = None) -> str:
    """The output of ``podman_run``, which must exit 0."""
    done = podman_run(ref, *args, volume=volume, env=env)
    assert done.returncode == 0, f"podman run {ref} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def task_env(folder: Path, function: str, pickled: dict[str, str] | None = None) -> dict[str, str]:
    """TAIPOD_TASK as the operator writes it: 21 in, the function's result out, both files under /data."""
    task = {
        "job": "job-1",
        "task": "double",
        "function": function,
        "pickled": pickled,
        "inputs": [
            {"name": "a", "storageType": "pickle", "url": "file:///data/a.p", "hasDefault": True, "default": 21}
        ],
        "outputs": [{"name": "b", "storageType": "pickle", "url": "file:///data/b.p"}],
    }
    folder.chmod(0o777)  # the runner writes as its user 10001
    return {"TAIPOD_TASK": json.dumps(task), "TAIPOD_TERMINATION_LOG": "/data/termination-log"}
