"""Where the SDK works: the cluster (kubeconfig, context), the namespace, the storage root, the task image.

Set with ``Config.configure_cluster(...)``; unset values come from the environment (``TAIPOD_NAMESPACE``,
``TAIPOD_STORAGE_URL``, ``TAIPOD_STORAGE_ENDPOINT``, ``TAIPOD_STORAGE_PVC``, ``TAIPOD_IMAGE_MODULES``,
``TAIPOD_RUNNER_REPOSITORY``, ``KUBECONFIG``), then from the kubeconfig's current context.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from taipod.core.runner_images import RUNNER_REPOSITORY

__all__ = ["Settings", "current", "reset", "update"]


@dataclass(frozen=True)
class Settings:
    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    storage_url: str | None = None
    storage_pvc: str | None = None
    storage_endpoint: str | None = None
    storage_key: str | None = field(default=None, repr=False)
    storage_secret_key: str | None = field(default=None, repr=False)
    image: str | None = None
    image_modules: tuple[str, ...] = field(default_factory=tuple)
    runner_repository: str | None = None
    """Where the runner images per Python version are (``<repository>:<version>-py3.X``): the image of a task whose
    function is shipped by value, unless an image is set."""
    operator_timeout: float = 60.0
    """Seconds to wait for the operator to answer (jobs created, a cancel processed) before giving up."""

    def resolved_storage_url(self) -> str | None:
        return self.storage_url or os.environ.get("TAIPOD_STORAGE_URL") or None

    def resolved_storage_endpoint(self) -> str | None:
        return self.storage_endpoint or os.environ.get("TAIPOD_STORAGE_ENDPOINT") or None

    def resolved_storage_pvc(self) -> str | None:
        return self.storage_pvc if self.storage_pvc is not None else os.environ.get("TAIPOD_STORAGE_PVC")

    def resolved_runner_repository(self) -> str:
        return self.runner_repository or os.environ.get("TAIPOD_RUNNER_REPOSITORY") or RUNNER_REPOSITORY

    def resolved_image_modules(self) -> tuple[str, ...]:
        env = tuple(m.strip() for m in os.environ.get("TAIPOD_IMAGE_MODULES", "").split(",") if m.strip())
        return (*self.image_modules, *env)


_current = Settings()


def current() -> Settings:
    return _current


def update(**changes: object) -> Settings:
    """Replace the given fields (None leaves a field unchanged only when ``keep_none`` semantics are wanted)."""
    global _current  # noqa: PLW0603 (the process-wide settings, like Taipy's Config)
    _current = replace(_current, **changes)  # type: ignore[arg-type]
    return _current


def reset() -> Settings:
    global _current  # noqa: PLW0603
    _current = Settings()
    return _current
