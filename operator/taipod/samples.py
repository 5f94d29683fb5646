"""Small task functions importable in the runner image (``taipod.samples:double``), for examples and tests.

Task functions get their inputs positionally, so every parameter here is an input.
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = [
    "add",
    "countdown_print",
    "double",
    "fail",
    "fail_before_attempt",
    "identity",
    "make_frame",
    "noop",
    "sleep_on_first_attempt",
    "sleep_seconds",
    "slow_double",
    "split_even_odd",
    "sum_values",
]


def double(nb: Any) -> Any:
    """Taipy's documentation example: ``nb * 2``."""
    return nb * 2


def add(a: Any, b: Any) -> Any:
    """``a + b``."""
    return a + b


def identity(x: Any) -> Any:
    """Its input, unchanged."""
    return x


def noop(*args: Any) -> None:
    """Nothing, whatever the inputs (for tasks without outputs)."""


def slow_double(nb: Any) -> Any:
    """``nb * 2`` after sleeping ``TAIPOD_SAMPLE_SLEEP`` seconds (2 by default), to observe RUNNING or cancel it."""
    time.sleep(float(os.environ.get("TAIPOD_SAMPLE_SLEEP", "2")))
    return nb * 2


def sleep_seconds(seconds: float) -> float:
    """Sleeps its input (seconds), then returns it."""
    time.sleep(seconds)
    return seconds


def fail(*args: Any) -> None:
    """Always raises ``ValueError``, naming its inputs."""
    raise ValueError(f"sample failure: inputs {args!r}")


def _attempt() -> int:
    """The attempt the pod runs (taipod's retries set TAIPOD_ATTEMPT: 1, 2, ...)."""
    return int(os.environ.get("TAIPOD_ATTEMPT", "1"))


def fail_before_attempt(succeeding_attempt: int) -> int:
    """Raises ``RuntimeError`` on the attempts before ``succeeding_attempt``, then returns the attempt number."""
    attempt = _attempt()
    if attempt < succeeding_attempt:
        raise RuntimeError(f"sample failure on attempt {attempt} (succeeds on attempt {succeeding_attempt})")
    return attempt


def sleep_on_first_attempt(seconds: float) -> int:
    """Sleeps ``seconds`` on the first attempt only, then returns the attempt number."""
    attempt = _attempt()
    if attempt == 1:
        time.sleep(seconds)
    return attempt


def split_even_odd(numbers: list[int]) -> tuple[list[int], list[int]]:
    """Two outputs: the even numbers and the odd numbers of its input, in order."""
    return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2 != 0]


def sum_values(*values: Any) -> Any:
    """The sum of its inputs."""
    return sum(values)


def countdown_print(x: Any) -> Any:
    """Prints its input (to the pod's log) and returns it."""
    print(f"countdown: {x}", flush=True)
    return x


def make_frame(n: int) -> Any:
    """A pandas DataFrame of ``n`` rows (columns ``i``, ``square`` and ``label``), for csv and parquet data nodes."""
    import pandas as pd  # noqa: PLC0415 (pandas is optional)

    return pd.DataFrame({"i": range(n), "square": [i * i for i in range(n)], "label": [f"row{i}" for i in range(n)]})


def allocate_mb(megabytes: int) -> int:
    """Hold ``megabytes`` MiB of memory, then return the number: runs out of memory under a small limit."""
    block = bytearray(int(megabytes) * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touch every page so the memory is really used
        block[i] = 1
    return int(megabytes)
