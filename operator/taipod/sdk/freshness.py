"""How long a read object may be reused instead of read again.

Entities re-read the cluster on every getter, as Taipy reloads entities; reading the attributes of jobs just listed
by ``tp.get_jobs()`` should not cost one call per job though. A read is reused for at most ``FRESH_SECONDS``, and
never after this process has changed something (a submit, a cancel, a delete, a write), so a script always sees the
effects of its own calls.
"""

from __future__ import annotations

import itertools
import threading
import time

__all__ = ["FRESH_SECONDS", "Stamp", "changed", "is_fresh", "stamp"]

FRESH_SECONDS = 0.5

Stamp = tuple[int, float]

_epochs = itertools.count(1)
_epoch = 0
_lock = threading.Lock()


def changed() -> None:
    """This process changed the cluster: every earlier read is stale."""
    global _epoch  # noqa: PLW0603 (one epoch per process)
    with _lock:
        _epoch = next(_epochs)


def stamp() -> Stamp:
    return (_epoch, time.monotonic())


def is_fresh(when: Stamp | None) -> bool:
    return when is not None and when[0] == _epoch and time.monotonic() - when[1] < FRESH_SECONDS
