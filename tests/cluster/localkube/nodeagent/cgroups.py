"""Memory limits through a per-container memory cgroup (v1 or v2), so OOMKilled is real.

Best effort: where cgroups cannot be created (no permission, no memory controller) the
container runs without a limit and the agent logs that once.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

log = logging.getLogger("localkube.cgroups")

_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "m": 10**-3,
}
_QUANTITY = re.compile(r"^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(text: str) -> int:
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _root() -> tuple[Path, int] | None:
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists() or (v1 / "cgroup.procs").exists():
        return v1, 1
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").exists() and "memory" in (v2 / "cgroup.controllers").read_text():
        return v2, 2
    return None


_warned = False


class MemoryCgroup:
    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version

    @classmethod
    def create(cls, name: str, limit_bytes: int) -> MemoryCgroup | None:
        global _warned  # noqa: PLW0603 - warn once per agent
        root = _root()
        if root is None:
            if not _warned:
                log.warning("no memory cgroup available: memory limits are not enforced")
                _warned = True
            return None
        base, version = root
        path = base / "localkube" / name
        try:
            path.mkdir(parents=True, exist_ok=True)
            if version == 1:
                (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
                with contextlib.suppress(OSError):  # no swap accounting on some hosts
                    (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
            else:
                (path / "memory.max").write_text(str(limit_bytes))
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
        except OSError as exc:
            if not _warned:
                log.warning("cannot create memory cgroups (%s): memory limits are not enforced", exc)
                _warned = True
            return None
        return cls(path, version)

    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def oom_killed(self) -> bool:
        try:
            text = (self.path / ("memory.oom_control" if self.version == 1 else "memory.events")).read_text()
        except OSError:
            return False
        match = re.search(r"^oom_kill (\d+)$", text, re.MULTILINE)
        return bool(match and int(match.group(1)) > 0)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()
