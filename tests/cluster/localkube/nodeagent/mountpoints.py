"""Mount targets that do not exist on the host are created for the bind mount and removed
when the last container using them ends (a bind mount needs an existing target, and making
it does not need the namespace: the folder itself stays empty on the host)."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from pathlib import Path


class MountPoints:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._created: Counter[Path] = Counter()

    def acquire(self, target: Path, is_file: bool) -> list[Path]:
        """Create ``target`` (and missing parents); return what this call now holds."""
        held: list[Path] = []
        with self._lock:
            missing = [p for p in [target, *target.parents] if not p.exists() or p in self._created]
            for path in reversed(missing):  # parents first
                if not path.exists():
                    if path == target and is_file:
                        path.touch()
                    else:
                        path.mkdir()
                self._created[path] += 1
                held.append(path)
        return held

    def release(self, held: list[Path]) -> None:
        with self._lock:
            for path in sorted(held, key=lambda p: len(p.parts), reverse=True):  # deepest first
                self._created[path] -= 1
                if self._created[path] <= 0:
                    del self._created[path]
                    with contextlib.suppress(OSError):  # only if still empty
                        if path.is_dir():
                            path.rmdir()
                        elif path.stat().st_size == 0:
                            path.unlink()
