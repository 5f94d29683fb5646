"""Which runner images exist, one per Python minor version, and how they are named.

A task function shipped by value (cloudpickle) only loads in the Python minor version it was pickled with, so the
runner image is built once per supported minor version and tagged ``<taipod version>-py<major.minor>``
(``ghcr.io/taipod/runner:0.1.0-py3.13``). ``RUNNER_PYTHONS`` is the one list of those versions: the SDK picks a task's
image from it, the image build (tests/cluster/localkube/images.py) builds exactly these, and the documentation
(runner_image/README.md) names them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "RUNNER_PYTHONS",
    "RUNNER_REPOSITORY",
    "NoRunnerImageError",
    "runner_image",
    "runner_image_for",
    "runner_tag",
]

RUNNER_PYTHONS: tuple[str, ...] = ("3.11", "3.13")
"""The Python minor versions a runner image is built for (3.11: Debian bookworm, 3.13: Debian trixie)."""

RUNNER_REPOSITORY = "ghcr.io/taipod/runner"
"""The runner image's repository when nothing else is configured (the chart's default ``image.runner.repository``)."""


class NoRunnerImageError(ValueError):
    """No runner image is built for this Python minor version."""


def runner_tag(version: str, python: str) -> str:
    """The tag of the runner image of taipod ``version`` for Python ``python`` (``"0.1.0-py3.11"``)."""
    return f"{version}-py{python}"


def runner_image(repository: str, version: str, python: str) -> str:
    """``repository:<version>-py<python>``."""
    return f"{repository}:{runner_tag(version, python)}"


def runner_image_for(repository: str, version: str, python: str, pythons: Sequence[str] = RUNNER_PYTHONS) -> str:
    """The runner image that loads functions pickled by Python ``python`` (``"3.12"``); raises
    ``NoRunnerImageError`` naming the versions that exist and the fix when none is built for it."""
    if python not in pythons:
        raise NoRunnerImageError(
            f"this client runs Python {python}, and taipod's runner images exist for Python "
            f"{', '.join(pythons)} only: a function shipped by value (cloudpickle) loads only in the Python version "
            f"it was pickled with. Fix: run the client on Python {' or '.join(pythons)}, or set an image built for "
            f"Python {python} on the task or scenario (image=..., or Config.configure_cluster(image=...)) -- "
            "runner_image/README.md shows how to build one -- or put the function in a module installed in the task "
            "image and declare it with Config.configure_cluster(image_modules=[...]) so that it is referenced by name"
        )
    return runner_image(repository, version, python)
