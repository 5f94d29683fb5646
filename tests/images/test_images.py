"""The two images, built for real without Docker (localkube.images), pushed to a registry on loopback, and run.

Needs root and Debian's buildah, podman, mmdebstrap, docker-registry and skopeo (installed on demand); elsewhere
the module is skipped with one line saying why. The build is cached (``make images``); a cold one takes minutes.
Containers run with ``--network none``: nothing leaves them. Images are pulled from the loopback registry, so the
runs also prove that what was pushed is complete.
"""

from __future__ import annotations

import json
import pickle
import urllib.request
from pathlib import Path

import pytest
from tests.images.conftest import LOCKED_DOWN, MISSING, podman_run, run_image, task_env

from localkube import images
from taipod._version import __version__
from taipod.core.runner_images import RUNNER_PYTHONS, runner_tag

pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=f"images: {MISSING}"),
    pytest.mark.timeout(3600),  # a cold build (`make test` builds them first) takes many minutes
]


def test_names_and_tags(built: dict[str, images.BuiltImage]) -> None:
    assert {name: (image.repository, image.tag) for name, image in built.items()} == {
        "operator": ("taipod/operator", __version__),
        **{f"runner-py{py}": ("taipod/runner", runner_tag(__version__, py)) for py in RUNNER_PYTHONS},
    }
    for image in built.values():
        assert image.archive.is_file() and 0 < image.compressed_size < image.size
        print(f"{image.local_ref}: {image.size / 1e6:.0f} MB, {image.compressed_size / 1e6:.0f} MB compressed")


def test_the_registry_serves_every_manifest_and_layer(
    built: dict[str, images.BuiltImage], registry: images.LocalRegistry, pushed: dict[str, str]
) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{registry.address}/v2/_catalog", timeout=10) as answer:
        assert set(json.loads(answer.read())["repositories"]) == {"taipod/operator", "taipod/runner"}
    for name, image in built.items():
        assert pushed[name] == f"{registry.address}/{image.repository}:{image.tag}"
        manifest = registry.manifest(image.repository, image.tag)
        assert manifest is not None, f"{pushed[name]}: no manifest"
        layers = manifest["layers"]
        assert isinstance(layers, list) and layers
        assert sum(int(layer["size"]) for layer in layers) == image.compressed_size
        for layer in layers:
            head = urllib.request.Request(
                f"http://{registry.address}/v2/{image.repository}/blobs/{layer['digest']}", method="HEAD"
            )
            with opener.open(head, timeout=10) as answer:
                assert int(answer.headers["Content-Length"]) == int(layer["size"])


def read_output(folder: Path) -> object:
    with (folder / "b.p").open("rb") as stored:
        return pickle.load(stored)


@pytest.mark.parametrize("python", RUNNER_PYTHONS)
def test_each_runner_image_runs_a_task_by_name_as_its_user(pushed: dict[str, str], tmp_path: Path, python: str) -> None:
    ref = pushed[f"runner-py{python}"]
    identity = podman_run(ref, options=["--entrypoint", "id"])
    assert identity.returncode == 0 and "uid=10001(taipod)" in identity.stdout, identity.stderr
    output = run_image(ref, volume=tmp_path, env=task_env(tmp_path, "taipod.samples:double"))
    assert read_output(tmp_path) == 42, output
    assert (tmp_path / "b.p").stat().st_uid == 10001  # written by the image's user


@pytest.mark.parametrize("python", RUNNER_PYTHONS)
def test_each_runner_image_runs_a_function_pickled_by_its_python(
    pushed: dict[str, str], tmp_path: Path, python: str
) -> None:
    """A function shipped by value, pickled by cloudpickle under the image's own Python (the client's, for the SDK)."""
    ref = pushed[f"runner-py{python}"]
    pickler = (
        "import cloudpickle, sys; "
        "open('/data/function', 'wb').write(cloudpickle.dumps(lambda nb: nb * 2)); "
        "print('%d.%d' % sys.version_info[:2])"
    )
    tmp_path.chmod(0o777)
    done = podman_run(ref, "-c", pickler, options=["--entrypoint", "python"], volume=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == python, done.stderr
    pickled = {"path": "/data/function", "pythonVersion": python}
    output = run_image(ref, volume=tmp_path, env=task_env(tmp_path, "__main__:_lambda_", pickled))
    assert read_output(tmp_path) == 42, output


def test_a_runner_refuses_a_function_pickled_by_another_python(pushed: dict[str, str], tmp_path: Path) -> None:
    """The runner's own version check: a clear task failure, never an obscure unpickling error."""
    ref = pushed[f"runner-py{RUNNER_PYTHONS[-1]}"]
    other = RUNNER_PYTHONS[0]
    (tmp_path / "function").write_bytes(b"not read: the version check comes first")
    env = task_env(tmp_path, "__main__:double", {"path": "/data/function", "pythonVersion": other})
    done = podman_run(ref, volume=tmp_path, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    message = (tmp_path / "termination-log").read_text()
    assert f"pickled with Python {other} but the task image runs Python {RUNNER_PYTHONS[-1]}" in message


def test_the_operator_image_starts_as_its_user_under_the_chart_security_settings(pushed: dict[str, str]) -> None:
    ref = pushed["operator"]
    identity = podman_run(ref, options=[*LOCKED_DOWN, "--entrypoint", "id"])
    assert identity.returncode == 0 and "uid=10001(taipod)" in identity.stdout, identity.stderr
    # Everything the operator imports loads on a read-only root without capabilities ...
    imports = "import taipod.operator.runtime, kopf, kubernetes, s3fs; print('ok')"
    loaded = podman_run(ref, "-c", imports, options=[*LOCKED_DOWN, "--entrypoint", "python"])
    assert loaded.returncode == 0 and loaded.stdout.strip() == "ok", loaded.stderr
    # ... and its entrypoint runs `python -m taipod.operator`, which reads its configuration first: a bad value is
    # answered at once (exit 2, naming the variable), before any cluster is contacted.
    start = podman_run(ref, options=LOCKED_DOWN, env={"TAIPOD_EVENTS": "loud"})
    assert start.returncode == 2, start.stdout + start.stderr
    assert "taipod operator: TAIPOD_EVENTS='loud' is not one of warnings, all, none" in start.stderr
