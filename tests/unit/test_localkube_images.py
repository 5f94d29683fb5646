"""The pure parts of the image pipeline (localkube.images): names, tags, references, cache keys, archive sizes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from localkube import images
from localkube.errors import ClusterError
from taipod._version import __version__
from taipod.core.runner_images import RUNNER_PYTHONS


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with the files the images are built from, and a cache and CA folder of its own."""
    root = tmp_path / "repo"
    for relative, text in {
        "pyproject.toml": "[project]\nname='taipod'\n",
        "README.md": "# taipod\n",
        "Dockerfile": "ARG PYTHON_IMAGE=python:3.11\nFROM ${PYTHON_IMAGE}\n",
        "runner_image/Dockerfile": "ARG PYTHON_IMAGE=python:3.11\nFROM ${PYTHON_IMAGE}\n",
        "runner_image/README.md": "# runner\n",
        "operator/taipod/__init__.py": "",
        "operator/taipod/sdk/api.py": "x = 1\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(images, "REPO_ROOT", root)
    monkeypatch.setattr(images, "EXTRA_CA_DIR", tmp_path / "ca")
    monkeypatch.setenv("TAIPOD_CACHE", str(tmp_path / "cache"))
    return root


def test_one_operator_and_a_runner_per_published_python() -> None:
    assert images.image_names() == ["operator", *(f"runner-py{py}" for py in RUNNER_PYTHONS)]
    operator = images.recipe("operator")
    assert (operator.repository, operator.tag, operator.python) == ("taipod/operator", __version__, "3.11")
    assert operator.dockerfile == images.REPO_ROOT / "Dockerfile"
    for python in RUNNER_PYTHONS:
        runner = images.recipe(f"runner-py{python}")
        assert (runner.repository, runner.tag, runner.python) == ("taipod/runner", f"{__version__}-py{python}", python)
        assert runner.dockerfile == images.REPO_ROOT / "runner_image" / "Dockerfile"
        assert python in images.SUITES  # every published Python has a Debian suite to build its base from
        assert f"python{python}" in images.base_packages(python)
    assert images.SUITES["3.11"] == "bookworm" and images.SUITES["3.13"] == "trixie"


def test_unknown_names_are_refused_with_the_choices() -> None:
    with pytest.raises(ClusterError, match=r"no image named 'runner-py3\.12': choose among operator, runner-py3\.11"):
        images.recipe("runner-py3.12")


def test_references() -> None:
    image = images.BuiltImage("runner-py3.13", "taipod/runner", "0.1.0-py3.13", Path("/cache/x/image.oci.tar"))
    assert images.reference(image, "127.0.0.1:5000") == "127.0.0.1:5000/taipod/runner:0.1.0-py3.13"
    assert image.local_ref == "localhost/taipod/runner:0.1.0-py3.13"


def test_cache_folders_are_keyed_by_every_input(tree: Path) -> None:
    operator, runner = images.recipe("operator"), images.recipe("runner-py3.11")
    first = {name: images.image_dir(item) for name, item in (("operator", operator), ("runner", runner))}
    assert first["operator"].parent == tree.parent / "cache"
    assert first["operator"].name.startswith("images-operator-")
    assert images.image_dir(operator) == first["operator"]  # stable

    # Caches and byte code are not inputs (.dockerignore leaves them out of the build context).
    (tree / "operator/taipod/__pycache__").mkdir()
    (tree / "operator/taipod/__pycache__/api.cpython-311.pyc").write_bytes(b"\0")
    assert images.image_dir(operator) == first["operator"]

    # The runner's documentation is in no build context; its Dockerfile is an input of the runners only.
    (tree / "runner_image/README.md").write_text("# runner, edited\n")
    assert images.image_dir(runner) == first["runner"]
    (tree / "runner_image/Dockerfile").write_text("ARG PYTHON_IMAGE=python:3.11\nFROM ${PYTHON_IMAGE}\nUSER 1\n")
    assert images.image_dir(operator) == first["operator"]
    assert images.image_dir(runner) != first["runner"]

    # Sources, README and pyproject are inputs of every image.
    (tree / ".dockerignore").write_text("*\n")
    for relative in ("operator/taipod/sdk/api.py", "README.md", "pyproject.toml", "Dockerfile", ".dockerignore"):
        before = images.image_dir(operator)
        (tree / relative).write_text((tree / relative).read_text() + "# edited\n")
        assert images.image_dir(operator) != before, relative


def test_the_base_is_keyed_by_its_recipe_and_the_host_certificates(tree: Path) -> None:
    before = images.base_dir("3.11")
    assert before.name.startswith("images-base-bookworm-py3.11-")
    assert images.base_dir("3.13").name.startswith("images-base-trixie-py3.13-")
    operator_before = images.image_dir(images.recipe("operator"))
    (tree.parent / "ca").mkdir()
    (tree.parent / "ca" / "proxy.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    assert images.base_dir("3.11") != before
    assert images.image_dir(images.recipe("operator")) != operator_before  # built on the new base
    assert images.base_ref("3.11").startswith("localhost/taipod/python:3.11-")


def _blob(tar: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}"


def test_archive_sizes_count_the_layers_compressed_and_not(tmp_path: Path) -> None:
    archive = tmp_path / "image.oci.tar"
    layers = [gzip.compress(b"a" * 5000), gzip.compress(b"b" * 300)]
    with tarfile.open(archive, "w") as tar:
        described = [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _blob(tar, data), "size": len(data)}
            for data in layers
        ]
        manifest = json.dumps({"schemaVersion": 2, "layers": described}).encode()
        index = json.dumps({"manifests": [{"digest": _blob(tar, manifest)}]}).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(index)
        tar.addfile(info, io.BytesIO(index))
    assert images._archive_sizes(archive) == (5300, sum(len(data) for data in layers))
