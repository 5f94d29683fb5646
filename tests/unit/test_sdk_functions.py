"""Which task functions are referenced by name and which are shipped by value (no cluster)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import cloudpickle
import pytest
import yaml

import taipod.samples
from taipod.api.models import FUNCTION_PATTERN
from taipod.sdk import functions
from taipod.sdk.errors import ConfigurationError


def double(nb: int) -> int:
    return nb * 2


def _nested() -> Callable[[int], int]:
    def triple(nb: int) -> int:
        return nb * 3

    return triple


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (print, "print"),
        (len, "len"),
        (taipod.samples.double, "taipod.samples:double"),
        (json.dumps, "json:dumps"),
        (os.path.join, f"{os.path.join.__module__}:join"),
        (yaml.safe_dump, "yaml:safe_dump"),
        ("my_package.tasks:double", "my_package.tasks:double"),
        ("print", "print"),
    ],
)
def test_importable_in_the_image_is_referenced_by_name(function: Any, expected: str) -> None:
    assert functions.reference(function) == expected
    assert re.fullmatch(FUNCTION_PATTERN, expected)


def test_user_code_is_shipped_by_value() -> None:
    assert functions.reference(double) is None  # this test module is not in the task image
    assert functions.reference(lambda x: x) is None
    assert functions.reference(_nested()) is None
    in_main = _nested()
    in_main.__module__ = "__main__"
    assert functions.reference(in_main) is None


def test_declared_image_modules_are_referenced_by_name() -> None:
    top = double.__module__.split(".")[0]
    assert functions.reference(double, image_modules=[top]) == f"{double.__module__}:double"


@pytest.mark.parametrize("bad", ["not a ref", "pkg:", "no_such_builtin_xyz", "a-b:c"])
def test_malformed_references_are_rejected(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        functions.reference(bad)


def test_display_names_are_valid_function_fields() -> None:
    for fn, shown in [
        (double, "__main__:double"),
        (lambda x: x, "__main__:test_display_names_are_valid_function_fields._locals_._lambda_"),
        (_nested(), "__main__:_nested._locals_.triple"),
    ]:
        assert functions.display_name(fn) == shown
        assert re.fullmatch(FUNCTION_PATTERN, shown)


def test_shipped_functions_load_where_their_module_is_not_importable(tmp_path: Any) -> None:
    shipped = [functions.pickle_function(fn) for fn in (double, _nested(), lambda x: x + 1)]
    assert all(s.python_version == f"{sys.version_info.major}.{sys.version_info.minor}" for s in shipped)
    code = (
        "import sys, cloudpickle\n"
        "for line in sys.stdin.read().split():\n"
        "    print(cloudpickle.loads(bytes.fromhex(line))(21))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input="\n".join(s.payload.hex() for s in shipped),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout.split()
    assert out == ["42", "63", "22"]
    assert double.__module__ not in cloudpickle.list_registry_pickle_by_value()  # registered only while pickling


def test_resolve_gives_back_callables_when_importable() -> None:
    assert functions.resolve("taipod.samples:double") is taipod.samples.double
    assert functions.resolve("print") is print
    assert functions.resolve("__main__:double") == "__main__:double"
    assert functions.resolve("no_such_module_xyz:f") == "no_such_module_xyz:f"
