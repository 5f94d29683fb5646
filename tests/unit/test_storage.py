"""Data-node values by URL: locations, round trips for every storage type, atomic local writes."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from taipod import storage
from taipod.samples import make_frame


def test_default_url() -> None:
    assert (
        storage.default_url("file:///var/lib/taipod/data", "ns", "scn", "numbers", "pickle")
        == "file:///var/lib/taipod/data/ns/scn/numbers.pkl"
    )
    assert storage.default_url("s3://bucket/prefix/", "ns", "_global", "t", "parquet") == (
        "s3://bucket/prefix/ns/_global/t.parquet"
    )
    assert storage.default_url("/data", "ns", "_cycle_c1", "rows", "csv") == "/data/ns/_cycle_c1/rows.csv"
    assert storage.default_url("memory://x", "ns", "scn", "cfg", "json") == "memory://x/ns/scn/cfg.json"


def test_unknown_storage_type() -> None:
    with pytest.raises(storage.UnknownStorageTypeError, match="unknown data node storage type 'excel'"):
        storage.default_url("/data", "ns", "scn", "x", "excel")
    with pytest.raises(storage.UnknownStorageTypeError):
        storage.write("memory://never/x", "sql", 1)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, "file:///d/ns/scn/x.json"),
        ("shared/x.json", "file:///d/shared/x.json"),
        ("/shared/x.json", "file:///d/shared/x.json"),
        ("s3://other/x.json", "s3://other/x.json"),
        ("file:///elsewhere/x.json", "file:///elsewhere/x.json"),
    ],
)
def test_resolve_url(path: str | None, expected: str) -> None:
    assert storage.resolve_url("file:///d/", "ns", "scn", "x", "json", path) == expected


VALUES: dict[str, Any] = {
    "pickle": {"a": (1, 2), 3: {4.5, None}, "text": "été"},
    "json": {"a": [1, 2.5, None, True], "text": "été"},
    "csv": make_frame(5),
    "parquet": make_frame(5),
}


def _location(kind: str, tmp_path: Path, name: str) -> str:
    if kind == "file-url":
        return (tmp_path / "sub" / "dir" / name).as_uri()
    if kind == "plain-path":
        return str(tmp_path / "sub" / "dir" / name)
    return f"memory://taipod-test-{uuid.uuid4().hex}/sub/{name}"


def _assert_same(storage_type: str, actual: Any, expected: Any) -> None:
    if storage_type in ("csv", "parquet"):
        pd.testing.assert_frame_equal(actual, expected)
    else:
        assert actual == expected


@pytest.mark.parametrize("kind", ["file-url", "plain-path", "memory"])
@pytest.mark.parametrize("storage_type", list(storage.EXTENSIONS))
def test_round_trip(storage_type: str, kind: str, tmp_path: Path) -> None:
    url = _location(kind, tmp_path, f"value.{storage.EXTENSIONS[storage_type]}")
    assert not storage.exists(url)
    storage.write(url, storage_type, VALUES[storage_type])
    assert storage.exists(url)
    _assert_same(storage_type, storage.read(url, storage_type), VALUES[storage_type])


@pytest.mark.parametrize("storage_type", ["csv", "parquet"])
def test_frames_from_plain_data(storage_type: str, tmp_path: Path) -> None:
    url = str(tmp_path / f"rows.{storage_type}")
    storage.write(url, storage_type, [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    _assert_same(storage_type, storage.read(url, storage_type), pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    storage.write(url, storage_type, {"a": [3]})
    _assert_same(storage_type, storage.read(url, storage_type), pd.DataFrame({"a": [3]}))


def test_csv_has_no_index(tmp_path: Path) -> None:
    url = tmp_path / "rows.csv"
    storage.write(str(url), "csv", {"a": [1, 2]})
    assert url.read_text() == "a\n1\n2\n"


def test_json_is_utf8_text(tmp_path: Path) -> None:
    url = tmp_path / "v.json"
    storage.write(str(url), "json", {"k": "é"})
    assert url.read_bytes() == b'{"k": "\\u00e9"}'
    url.write_bytes('{"k": "é"}'.encode())
    assert storage.read(str(url), "json") == {"k": "é"}


def test_local_write_replaces_atomically(tmp_path: Path) -> None:
    url = tmp_path / "out" / "v.pkl"
    storage.write(str(url), "pickle", 1)
    storage.write(url.as_uri(), "pickle", 2)
    assert storage.read(str(url), "pickle") == 2
    assert [p.name for p in url.parent.iterdir()] == ["v.pkl"]  # no temporary file left


def test_failed_write_keeps_the_previous_value(tmp_path: Path) -> None:
    url = str(tmp_path / "v.pkl")
    storage.write(url, "pickle", "before")
    with pytest.raises(Exception, match="pickle"):
        storage.write(url, "pickle", lambda: None)
    with pytest.raises(TypeError):
        storage.write(str(tmp_path / "v.json"), "json", {1, 2})
    assert storage.read(url, "pickle") == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.pkl"]


def test_as_if_written() -> None:
    assert storage.as_if_written("json", (1, 2)) == [1, 2]
    assert storage.as_if_written("pickle", (1, 2)) == (1, 2)
    pd.testing.assert_frame_equal(storage.as_if_written("csv", {"a": [1, 2]}), pd.DataFrame({"a": [1, 2]}))


@pytest.mark.parametrize(
    ("storage_type", "missing"), [("csv", "pandas"), ("parquet", "pandas"), ("parquet", "pyarrow")]
)
def test_missing_optional_dependency(storage_type: str, missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import` fail and find_spec answer None
    with pytest.raises(storage.MissingDependencyError, match=rf"{storage_type} data nodes need pandas and pyarrow"):
        storage.encode(storage_type, {"a": [1]})
    with pytest.raises(storage.MissingDependencyError, match=r"pip install 'taipod\[data\]'"):
        storage.decode(storage_type, b"a\n1\n")
    assert storage.decode("pickle", storage.encode("pickle", 1)) == 1  # other types do not need pandas
