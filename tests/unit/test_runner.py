"""The runner: its pure parts, then ``python -m taipod.runner`` run for real as a subprocess (semantics.md §4.5, §6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from taipod import storage
from taipod.runner.errors import DataNodeWritingError, FunctionLoadError, MalformedTaskError, PythonVersionMismatch
from taipod.runner.loader import check_python_version, load_function, resolve_name, running_python
from taipod.runner.message import (
    ERROR_LIMIT,
    MESSAGE_LIMIT,
    VALUE_LIMIT,
    describe,
    exception_message,
    failure_message,
    inline_value,
    success_message,
)
from taipod.runner.results import map_results
from taipod.runner.task import InputSpec, OutputSpec, PickledFunction, parse_task
from taipod.samples import double, make_frame

OPERATOR_DIR = Path(__file__).resolve().parents[2] / "operator"
PY = running_python()
MISMATCH = (
    "the function was pickled with Python 2.7 but the task image runs Python {py}: use a task image with Python 2.7 "
    "(spec.tasks[].image) or make the function importable in the image and name it as module:qualname"
)


def size(message: str) -> int:
    return len(message.encode("utf-8"))


# -- TAIPOD_TASK -------------------------------------------------------------------------------------------------


def task_json(**overrides: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "job": "JOB_1",
        "task": "double",
        "function": "taipod.samples:double",
        "pickled": None,
        "inputs": [{"name": "nb", "storageType": "pickle", "url": "/d/nb.pkl", "hasDefault": True, "default": 21}],
        "outputs": [{"name": "out", "storageType": "json", "url": "s3://b/out.json"}],
    }
    task.update(overrides)
    return task


def test_parse_task() -> None:
    spec = parse_task(json.dumps(task_json(pickled={"path": "/p", "pythonVersion": "3.11"}, extra="ignored")))
    assert (spec.job, spec.task, spec.function) == ("JOB_1", "double", "taipod.samples:double")
    assert spec.pickled == PickledFunction("/p", "3.11")
    assert spec.inputs == (InputSpec("nb", "pickle", "/d/nb.pkl", True, 21),)
    assert spec.outputs == (OutputSpec("out", "json", "s3://b/out.json"),)
    minimal = parse_task('{"job": "j", "task": "t", "function": "print"}')
    assert (minimal.pickled, minimal.inputs, minimal.outputs) == (None, (), ())
    assert parse_task(json.dumps(task_json(inputs=[{"name": "a", "storageType": "csv", "url": "u"}]))).inputs == (
        InputSpec("a", "csv", "u", False, None),
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (None, "TAIPOD_TASK is not set"),
        ("{not json", "TAIPOD_TASK is not valid JSON"),
        ("[]", "the task must be a JSON object, not list"),
        (json.dumps(task_json(job="")), "job must be a non-empty string"),
        (json.dumps(task_json(function=3)), "function must be a non-empty string"),
        (json.dumps(task_json(inputs={})), "inputs must be a JSON array"),
        (json.dumps(task_json(inputs=[3])), r"inputs\[0\] must be a JSON object"),
        (json.dumps(task_json(outputs=[{"name": "o", "url": "u"}])), r"outputs\[0\]\.storageType must be"),
        (json.dumps(task_json(outputs=[{"name": "o", "url": "u", "storageType": "excel"}])), "'excel' is not one of"),
        (json.dumps(task_json(inputs=[{"name": "i", "url": "u", "storageType": "json", "hasDefault": 1}])), "boolean"),
        (json.dumps(task_json(pickled={"path": "/p"})), r"pickled\.pythonVersion must be"),
    ],
)
def test_malformed_task(text: str | None, match: str) -> None:
    with pytest.raises(MalformedTaskError, match=match):
        parse_task(text)


# -- loading the function ----------------------------------------------------------------------------------------


def test_resolve_name() -> None:
    assert resolve_name("taipod.samples:double") is double
    assert resolve_name("print") is print
    assert resolve_name("builtins:len") is len
    assert resolve_name("os.path:join") is os.path.join
    assert resolve_name("collections:OrderedDict.fromkeys")("ab") == {"a": None, "b": None}


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("no_such_module_xyz:f", r"cannot import module 'no_such_module_xyz' of task function .*install the module"),
        ("taipod.samples:nope", r"taipod.samples has no attribute 'nope'"),
        ("collections:OrderedDict.nope", r"collections.OrderedDict has no attribute 'nope'"),
        ("no_such_builtin", r"builtins has no attribute 'no_such_builtin'"),
        ("taipod.runner.message:MESSAGE_LIMIT", "is not callable"),
        ("__main__:main.<locals>.f", "is local to another function"),
        (":f", "is not of the form module:qualname"),
        ("m:", "is not of the form module:qualname"),
    ],
)
def test_resolve_name_errors(name: str, match: str) -> None:
    with pytest.raises(FunctionLoadError, match=match):
        resolve_name(name)


def test_load_pickled(tmp_path: Path) -> None:
    factor = 3
    path = tmp_path / "fn.pkl"
    path.write_bytes(cloudpickle.dumps(lambda x: x * factor))
    function = load_function("__main__:<lambda>", PickledFunction(str(path), PY))
    assert function(2) == 6
    with pytest.raises(FunctionLoadError, match="cannot read the pickled task function"):
        load_function("f", PickledFunction(str(tmp_path / "absent"), PY))
    path.write_bytes(b"garbage")
    with pytest.raises(FunctionLoadError, match="cannot unpickle the task function"):
        load_function("f", PickledFunction(str(path), PY))


def test_python_version_mismatch() -> None:
    check_python_version(PY)
    with pytest.raises(PythonVersionMismatch) as info:
        check_python_version("2.7")
    assert str(info.value) == MISMATCH.format(py=PY)
    assert isinstance(info.value, FunctionLoadError)


# -- results to outputs ------------------------------------------------------------------------------------------


def test_map_results() -> None:
    assert map_results("t", 42, []) == []
    assert map_results("t", (1, 2), ["a"]) == [("a", (1, 2))]
    assert map_results("t", (1, 2), ["a", "b"]) == [("a", 1), ("b", 2)]
    assert map_results("t", [[1], [2], [3]], ["a", "b", "c"]) == [("a", [1]), ("b", [2]), ("c", [3])]


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ((1, 2, 3), "wrong number of results: task t returned 3 values for 2 outputs a, b"),
        ([1], "wrong number of results: task t returned 1 value for 2 outputs a, b"),
        (None, r"task t returned 1 value \(a NoneType, not a sequence\) for 2 outputs a, b"),
        ({1, 2}, r"returned 1 value \(a set, not a sequence\)"),
        ({"a": 1, "b": 2}, r"returned 1 value \(a dict, not a sequence\)"),
    ],
)
def test_map_results_wrong_number(result: Any, match: str) -> None:
    with pytest.raises(DataNodeWritingError, match=match):
        map_results("t", result, ["a", "b"])


# -- termination messages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (42, "42"),
        (None, "null"),
        (1.5, "1.5"),
        ("été", '"été"'),
        ({"a": [1, True, None]}, '{"a":[1,true,null]}'),
        ("x" * 254, '"' + "x" * 254 + '"'),
        ("x" * 255, None),  # 257 bytes
        ("é" * 127, '"' + "é" * 127 + '"'),  # 256 bytes
        ("é" * 128, None),
        ((1, 2), None),  # would read back as a list
        ({1: "a"}, None),  # would read back with a str key
        (float("nan"), None),
        (float("inf"), None),
        ({1, 2}, None),
        (make_frame(2), None),
        ([[]] * 300, None),
        ("\udc80", None),
    ],
)
def test_inline_value(value: Any, text: str | None) -> None:
    assert inline_value(value) == text


def test_inline_value_of_deep_or_big_values_is_cheap() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert inline_value(deep) is None
    assert inline_value(list(range(10_000_000))) is None


def test_success_message() -> None:
    message = success_message([("a", 42), ("big", "x" * 1000), ("t", (1, 2)), ("none", None)])
    assert json.loads(message) == {
        "ok": True,
        "outputs": {"a": {"value": 42}, "big": {}, "t": {}, "none": {"value": None}},
    }
    assert json.loads(success_message([])) == {"ok": True, "outputs": {}}


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=300), st.text(max_size=300)), max_size=60, unique_by=lambda o: o[0])
)
def test_success_message_fits(outputs: list[tuple[str, str]]) -> None:
    message = success_message(outputs)
    assert size(message) <= MESSAGE_LIMIT
    decoded = json.loads(message)
    assert decoded["ok"] is True
    by_name = dict(outputs)
    for name, entry in decoded["outputs"].items():
        assert entry == {} or (
            entry == {"value": by_name[name]} and size(json.dumps(entry["value"])) <= 6 * VALUE_LIMIT
        )


def test_success_message_keeps_what_fits() -> None:
    outputs = [(f"output_{i:03}", "v" * 200) for i in range(100)]
    decoded = json.loads(message := success_message(outputs))
    assert MESSAGE_LIMIT - 250 < size(message) <= MESSAGE_LIMIT
    assert list(decoded["outputs"])[:10] == [f"output_{i:03}" for i in range(10)]


# Surrogates excluded: a lone one is replaced by "?", the message being UTF-8.
LAST_LINE = st.text(st.characters(exclude_characters="\n", exclude_categories=["Cs"]), min_size=1, max_size=100)


@settings(max_examples=300, deadline=None)
@given(
    error=st.text(max_size=2000),
    body=st.lists(st.text(max_size=3000), max_size=40).map("\n".join),
    last=LAST_LINE,
    trailing=st.sampled_from(["", "\n"]),
)
@example(error="e" * 10_000, body="\n".join(["  frame line"] * 5000), last="ValueError: boom", trailing="\n")
@example(error="\x00" * 600, body="\x01" * 50_000, last="KeyError: 'k'", trailing="")
@example(error="\udc80 é", body="é\udc80\n" * 3000, last="OSError: é", trailing="\n")
@example(error="", body="", last="x", trailing="")
def test_failure_message_fits_and_keeps_the_last_line(error: str, body: str, last: str, trailing: str) -> None:
    stacktrace = f"{body}\n{last}{trailing}"
    message = failure_message(error, stacktrace)
    assert size(message) <= MESSAGE_LIMIT
    decoded = json.loads(message)
    assert decoded["ok"] is False
    assert len(decoded["error"]) <= ERROR_LIMIT
    assert decoded["error"] == (error if len(error) <= ERROR_LIMIT else error[: ERROR_LIMIT - 3] + "...").encode(
        "utf-8", "replace"
    ).decode("utf-8")
    assert decoded["stacktrace"].split("\n")[-1] == last
    if decoded["stacktrace"] != stacktrace.rstrip("\n").encode("utf-8", "replace").decode("utf-8"):
        assert decoded["stacktrace"].startswith("...\n")


@settings(max_examples=100, deadline=None)
@given(error=st.text(), stacktrace=st.text(st.characters(codec=None, exclude_categories=[])))
def test_failure_message_of_any_text(error: str, stacktrace: str) -> None:
    message = failure_message(error, stacktrace * 50)
    assert size(message) <= MESSAGE_LIMIT
    assert json.loads(message)["ok"] is False


def test_failure_message_shortens_a_huge_exception_line() -> None:
    stacktrace = 'Traceback (most recent call last):\n  File "f.py", line 1, in f\nValueError: ' + "x" * 100_000
    decoded = json.loads(failure_message("ValueError: " + "x" * 100_000, stacktrace))
    assert decoded["stacktrace"].startswith("Traceback (most recent call last):\n")
    assert "ValueError: xxx" in decoded["stacktrace"]
    assert "characters ...]" in decoded["stacktrace"]
    assert decoded["error"] == "ValueError: " + "x" * (ERROR_LIMIT - 15) + "..."


def test_exception_message() -> None:
    def inner() -> None:
        raise KeyError("k")

    try:
        try:
            inner()
        except KeyError as exc:
            raise DataNodeWritingError("could not write") from exc
    except DataNodeWritingError as exc:
        decoded = json.loads(exception_message(exc))
    assert decoded["error"] == "DataNodeWritingError: could not write"
    assert "KeyError: 'k'" in decoded["stacktrace"]
    assert "in inner" in decoded["stacktrace"]
    assert decoded["stacktrace"].endswith("taipod.runner.errors.DataNodeWritingError: could not write")


def test_describe() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError

    assert describe(ValueError("v")) == "ValueError: v"
    assert describe(ValueError()) == "ValueError"
    assert describe(Unprintable()) == "Unprintable: <exception str() failed>"


# -- the runner as a process -------------------------------------------------------------------------------------

USER_FUNCTIONS = textwrap.dedent(
    '''
    """Task functions of a user, importable in the "task image" (on PYTHONPATH)."""


    def huge_error(x):
        raise ValueError("x" * 1_000_000)


    def huge_unicode_error(x):
        raise ValueError("é€😀\\n" * 100_000)


    def infinite(n):
        return infinite(n + 1)


    def ping(n):
        if n == 0:
            raise RuntimeError("bottom of a deep traceback")
        return pong(n - 1)


    def pong(n):
        return ping(n)


    def three(x):
        return [x, x, x]
    '''
)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    message: dict[str, Any] | None
    raw_message: bytes


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        (tmp_path / "image").mkdir()
        (tmp_path / "image" / "userfuncs.py").write_text(USER_FUNCTIONS)
        self.termination_log = tmp_path / "termination-log"

    def url(self, name: str) -> str:
        return str(self.dir / "data" / name)

    def run(self, task: dict[str, Any] | str | None, termination_log: Path | None = None, **extra_env: str) -> Run:
        log = termination_log or self.termination_log
        path = [str(OPERATOR_DIR), str(self.dir / "image"), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p), "TAIPOD_TERMINATION_LOG": str(log)}
        env.update(extra_env)
        env.pop("TAIPOD_TASK", None)
        if task is not None:
            env["TAIPOD_TASK"] = task if isinstance(task, str) else json.dumps(task)
        proc = subprocess.run(
            [sys.executable, "-m", "taipod.runner"],
            check=False,
            env=env,
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        raw = log.read_bytes() if log.exists() else b""
        return Run(proc.returncode, proc.stdout, proc.stderr, json.loads(raw) if raw else None, raw)

    def task(
        self,
        function: str,
        inputs: Sequence[tuple[str, str]] = (),
        outputs: Sequence[tuple[str, str]] = (),
        **overrides: Any,
    ) -> dict[str, Any]:
        """A task reading and writing files of data/ named after the data nodes."""
        ext = storage.EXTENSIONS
        task: dict[str, Any] = {
            "job": "JOB_1",
            "task": "the_task",
            "function": function,
            "pickled": None,
            "inputs": [
                {"name": n, "storageType": t, "url": self.url(f"{n}.{ext[t]}"), "hasDefault": False, "default": None}
                for n, t in inputs
            ],
            "outputs": [{"name": n, "storageType": t, "url": self.url(f"{n}.{ext[t]}")} for n, t in outputs],
        }
        task.update(overrides)
        return task


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def assert_failed(run: Run, error_start: str) -> dict[str, Any]:
    assert run.code == 1, run.stderr
    assert run.message is not None
    assert run.message["ok"] is False
    assert run.message["error"].startswith(error_start), run.message["error"]
    assert "Traceback (most recent call last):" in run.stderr
    assert len(run.raw_message) <= MESSAGE_LIMIT
    return run.message


def test_documentation_double(runner: Runner) -> None:
    storage.write(runner.url("nb.pkl"), "pickle", 21)
    run = runner.run(runner.task("taipod.samples:double", [("nb", "pickle")], [("out", "pickle")]))
    assert run.code == 0, run.stderr
    assert storage.read(runner.url("out.pkl"), "pickle") == 42
    assert run.message == {"ok": True, "outputs": {"out": {"value": 42}}}
    assert run.stdout.splitlines() == [
        "taipod runner: job JOB_1 task the_task function taipod.samples:double",
        "taipod runner: job JOB_1 task the_task completed (outputs: out)",
    ]


def test_builtin_print(runner: Runner) -> None:
    storage.write(runner.url("greeting.json"), "json", "hello from a task")
    run = runner.run(runner.task("print", [("greeting", "json")]))
    assert run.code == 0, run.stderr
    assert "hello from a task" in run.stdout.splitlines()
    assert run.message == {"ok": True, "outputs": {}}


def test_an_unreachable_store_fails_with_reason_storage_unavailable(runner: Runner) -> None:
    task = runner.task("taipod.samples:double", [("nb", "pickle")], [("out", "json")])
    task["inputs"][0]["url"] = "s3://taipod/data/ns/s/nb.pkl"
    # The discard port on loopback: nothing listens, the connection is refused at once.
    run = runner.run(
        task, TAIPOD_STORAGE_ENDPOINT="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s"
    )
    message = assert_failed(run, "StorageUnavailableError: the object store at http://127.0.0.1:9 cannot be reached")
    assert message["reason"] == "StorageUnavailable"


def test_default_data_when_the_input_was_never_written(runner: Runner) -> None:
    task = runner.task("taipod.samples:add", [("a", "json"), ("b", "pickle")], [("sum", "json")])
    task["inputs"][0].update(hasDefault=True, default=40)
    task["inputs"][1].update(hasDefault=True, default=1)
    storage.write(task["inputs"][1]["url"], "pickle", 2)  # written: the default does not count
    run = runner.run(task)
    assert run.code == 0, run.stderr
    assert storage.read(runner.url("sum.json"), "json") == 42
    assert not Path(task["inputs"][0]["url"]).exists()  # the runner reads defaults, it does not write inputs


def test_default_frame_for_csv_input(runner: Runner) -> None:
    task = runner.task("taipod.samples:identity", [("rows", "csv")], [("copy", "parquet")])
    task["inputs"][0].update(hasDefault=True, default={"a": [1, 2], "b": ["x", "y"]})
    run = runner.run(task)
    assert run.code == 0, run.stderr
    pd.testing.assert_frame_equal(
        storage.read(runner.url("copy.parquet"), "parquet"), pd.DataFrame(task["inputs"][0]["default"])
    )
    assert run.message == {"ok": True, "outputs": {"copy": {}}}


def test_never_written_input(runner: Runner) -> None:
    run = runner.run(runner.task("taipod.samples:double", [("nb", "pickle")], [("out", "pickle")]))
    message = assert_failed(run, f"NoData: data node nb was never written ({runner.url('nb.pkl')})")
    assert message["stacktrace"].endswith(message["error"])
    assert not Path(runner.url("out.pkl")).exists()


def test_two_outputs_from_a_tuple(runner: Runner) -> None:
    storage.write(runner.url("numbers.json"), "json", [1, 2, 3, 4, 5])
    task = runner.task("taipod.samples:split_even_odd", [("numbers", "json")], [("evens", "pickle"), ("odds", "json")])
    run = runner.run(task)
    assert run.code == 0, run.stderr
    assert storage.read(runner.url("evens.pkl"), "pickle") == [2, 4]
    assert storage.read(runner.url("odds.json"), "json") == [1, 3, 5]
    assert run.message == {"ok": True, "outputs": {"evens": {"value": [2, 4]}, "odds": {"value": [1, 3, 5]}}}


def test_frames(runner: Runner) -> None:
    storage.write(runner.url("n.json"), "json", 4)
    run = runner.run(runner.task("taipod.samples:make_frame", [("n", "json")], [("rows", "csv")]))
    assert run.code == 0, run.stderr
    pd.testing.assert_frame_equal(storage.read(runner.url("rows.csv"), "csv"), make_frame(4))


def test_wrong_number_of_results(runner: Runner) -> None:
    storage.write(runner.url("x.pkl"), "pickle", 7)
    task = runner.task("userfuncs:three", [("x", "pickle")], [("a", "pickle"), ("b", "pickle")])
    message = assert_failed(
        runner.run(task),
        "DataNodeWritingError: wrong number of results: task the_task returned 3 values for 2 outputs a, b",
    )
    assert message["stacktrace"].split("\n")[-1].startswith("taipod.runner.errors.DataNodeWritingError: wrong number")
    assert not Path(runner.url("a.pkl")).exists()


def test_a_failing_write_does_not_stop_the_others(runner: Runner) -> None:
    storage.write(runner.url("numbers.json"), "json", [1, 2])
    (runner.dir / "data" / "blocker").write_text("a file where a directory is needed")
    task = runner.task("taipod.samples:split_even_odd", [("numbers", "json")], [("evens", "json"), ("odds", "json")])
    task["outputs"][0]["url"] = runner.url("blocker/evens.json")
    message = assert_failed(runner.run(task), "DataNodeWritingError: could not write 1 of 2 outputs of task the_task")
    assert "evens" in message["error"]
    assert storage.read(runner.url("odds.json"), "json") == [1]


def test_function_raises(runner: Runner) -> None:
    storage.write(runner.url("x.pkl"), "pickle", 1)
    run = runner.run(runner.task("taipod.samples:fail", [("x", "pickle")], [("out", "pickle")]))
    message = assert_failed(run, "ValueError: sample failure: inputs (1,)")
    assert run.stderr.rstrip("\n").split("\n")[-1] == "ValueError: sample failure: inputs (1,)"
    assert message["stacktrace"].startswith("Traceback (most recent call last):\n")
    assert message["stacktrace"].split("\n")[-1] == "ValueError: sample failure: inputs (1,)"
    assert 'samples.py", line' in message["stacktrace"]


@pytest.mark.parametrize("function", ["userfuncs:huge_error", "userfuncs:huge_unicode_error"])
def test_huge_error_message(runner: Runner, function: str) -> None:
    storage.write(runner.url("x.pkl"), "pickle", 1)
    message = assert_failed(runner.run(runner.task(function, [("x", "pickle")])), "ValueError: ")
    assert len(message["error"]) <= ERROR_LIMIT
    # The exception's text is shortened in the middle: the frame that raised survives.
    assert f"in {function.split(':')[1]}\n" in message["stacktrace"]
    assert "\nValueError: " in message["stacktrace"]
    assert "characters ...]" in message["stacktrace"]


def test_deep_recursion(runner: Runner) -> None:
    storage.write(runner.url("n.pkl"), "pickle", 0)
    message = assert_failed(runner.run(runner.task("userfuncs:infinite", [("n", "pickle")])), "RecursionError: ")
    assert message["stacktrace"].split("\n")[-1].startswith("RecursionError: maximum recursion depth exceeded")


def test_deep_traceback_keeps_its_end(runner: Runner) -> None:
    storage.write(runner.url("n.pkl"), "pickle", 400)
    run = runner.run(runner.task("userfuncs:ping", [("n", "pickle")]))
    message = assert_failed(run, "RuntimeError: bottom of a deep traceback")
    assert len(run.stderr) > 4 * MESSAGE_LIMIT  # the log keeps the whole traceback
    lines = message["stacktrace"].split("\n")
    assert lines[0] == "..."
    assert run.stderr.rstrip("\n").split("\n")[-(len(lines) - 1) :] == lines[1:]  # whole lines
    assert lines[-1] == "RuntimeError: bottom of a deep traceback"
    assert "in ping" in lines[-3]


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("no_such_module_xyz:double", "FunctionLoadError: cannot import module 'no_such_module_xyz' of task function"),
        ("taipod.samples:nope", "FunctionLoadError: task function 'taipod.samples:nope' not found"),
    ],
)
def test_function_not_found(runner: Runner, function: str, error: str) -> None:
    message = assert_failed(runner.run(runner.task(function)), error)
    assert "task image" in message["error"] or "no attribute" in message["error"]


def pickle_function(path: Path, function: Callable[..., Any]) -> None:
    with path.open("wb") as f:
        cloudpickle.dump(function, f)


def test_cloudpickled_closure(runner: Runner) -> None:
    offset = 100

    def scaled(nb: int) -> int:
        return int(double(nb)) * 3 + offset

    pickle_function(runner.dir / "fn.pkl", scaled)
    storage.write(runner.url("nb.pkl"), "pickle", 2)
    task = runner.task(
        "__main__:scaled",
        [("nb", "pickle")],
        [("out", "json")],
        pickled={"path": str(runner.dir / "fn.pkl"), "pythonVersion": PY},
    )
    run = runner.run(task)
    assert run.code == 0, run.stderr
    assert storage.read(runner.url("out.json"), "json") == 112
    assert "function __main__:scaled (pickled)" in run.stdout


def test_cloudpickled_lambda(runner: Runner) -> None:
    pickle_function(runner.dir / "fn.pkl", lambda a, b: f"{a}-{b}")
    storage.write(runner.url("a.json"), "json", "x")
    storage.write(runner.url("b.json"), "json", "y")
    task = runner.task(
        "__main__:<lambda>",
        [("a", "json"), ("b", "json")],
        [("out", "pickle")],
        pickled={"path": str(runner.dir / "fn.pkl"), "pythonVersion": PY},
    )
    run = runner.run(task)
    assert run.code == 0, run.stderr
    assert run.message == {"ok": True, "outputs": {"out": {"value": "x-y"}}}


def test_python_version_mismatch_fails_clearly(runner: Runner) -> None:
    pickle_function(runner.dir / "fn.pkl", lambda: 1)
    task = runner.task("__main__:<lambda>", pickled={"path": str(runner.dir / "fn.pkl"), "pythonVersion": "2.7"})
    message = assert_failed(runner.run(task), "PythonVersionMismatch: ")
    assert message["error"] == f"PythonVersionMismatch: {MISMATCH.format(py=PY)}"


def test_sys_exit_in_the_function_fails(runner: Runner) -> None:
    storage.write(runner.url("code.json"), "json", 0)
    run = runner.run(runner.task("sys:exit", [("code", "json")], [("out", "json")]))
    assert_failed(run, "TaskFunctionExit: the task function called sys.exit(0)")


@pytest.mark.parametrize(
    ("task", "error"),
    [
        ("{not json", "MalformedTaskError: TAIPOD_TASK is not valid JSON"),
        ('{"job": "j", "task": "t"}', "MalformedTaskError: TAIPOD_TASK: function must be a non-empty string"),
        (None, "MalformedTaskError: TAIPOD_TASK is not set"),
    ],
)
def test_malformed_task_exits_2(runner: Runner, task: str | None, error: str) -> None:
    run = runner.run(task)
    assert run.code == 2
    assert run.message is not None
    assert run.message["ok"] is False
    assert run.message["error"].startswith(error)
    assert error.removeprefix("MalformedTaskError: ") in run.stderr


def test_unwritable_termination_log_is_skipped(runner: Runner) -> None:
    storage.write(runner.url("nb.pkl"), "pickle", 1)
    task = runner.task("taipod.samples:double", [("nb", "pickle")], [("out", "pickle")])
    run = runner.run(task, termination_log=runner.dir / "no" / "such" / "dir" / "log")
    assert run.code == 0, run.stderr
    assert "cannot write the termination message" in run.stderr
    assert storage.read(runner.url("out.pkl"), "pickle") == 2
