"""Data-node values stored by URL through fsspec (decisions, "Data nodes").

A value lives at an fsspec URL: a local path or ``file://`` URL on a volume by default, ``s3://...`` and the like
otherwise. The storage type decides the encoding: pickle (the default), json, csv and parquet (through pandas, an
optional dependency: ``pip install 'taipod[data]'``).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import posixpath
import tempfile
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = [
    "EXTENSIONS",
    "MissingDependencyError",
    "UnknownStorageTypeError",
    "as_if_written",
    "decode",
    "default_url",
    "encode",
    "exists",
    "read",
    "resolve_url",
    "write",
]

EXTENSIONS = {"pickle": "pkl", "json": "json", "csv": "csv", "parquet": "parquet"}
"""File extension of each supported storage type."""


class UnknownStorageTypeError(ValueError):
    """A storage type other than those of ``EXTENSIONS``."""


class MissingDependencyError(ImportError):
    """pandas or pyarrow is needed for this storage type but not installed."""


def _extension(storage_type: str) -> str:
    try:
        return EXTENSIONS[storage_type]
    except KeyError:
        raise UnknownStorageTypeError(
            f"unknown data node storage type {storage_type!r}: use one of {', '.join(EXTENSIONS)}"
        ) from None


def default_url(root: str, namespace: str, owner: str, name: str, storage_type: str) -> str:
    """``<root>/<namespace>/<owner>/<name>.<ext>``; ``owner`` is the scenario, ``_global`` or ``_cycle_<name>``."""
    return f"{root.rstrip('/')}/{namespace}/{owner}/{name}.{_extension(storage_type)}"


def resolve_url(root: str, namespace: str, owner: str, name: str, storage_type: str, path: str | None) -> str:
    """The data node's own ``path`` (a URL, or relative to ``root``) when given, else its default URL."""
    if path is None:
        return default_url(root, namespace, owner, name, storage_type)
    if "://" in path:
        return path
    return f"{root.rstrip('/')}/{path.lstrip('/')}"


def _pandas(storage_type: str) -> Any:
    """pandas (and, for parquet, pyarrow), imported only when a data node needs them."""
    try:
        import pandas as pd  # noqa: PLC0415

        if storage_type == "parquet" and importlib.util.find_spec("pyarrow") is None:
            raise ImportError("No module named 'pyarrow'")
    except ImportError as exc:
        raise MissingDependencyError(
            f"{storage_type} data nodes need pandas and pyarrow, which are not installed ({exc}): "
            "pip install 'taipod[data]' (in the task image for the runner)"
        ) from exc
    return pd


def _frame(storage_type: str, value: Any) -> Any:
    pd = _pandas(storage_type)
    return value if isinstance(value, pd.DataFrame) else pd.DataFrame(value)


def encode(storage_type: str, value: Any) -> bytes:
    """The bytes stored for ``value``; csv and parquet take a DataFrame or anything ``pandas.DataFrame()`` accepts."""
    _extension(storage_type)
    if storage_type == "pickle":
        return pickle.dumps(value)
    if storage_type == "json":
        return json.dumps(value).encode("utf-8")
    frame = _frame(storage_type, value)
    if storage_type == "csv":
        return bytes(frame.to_csv(index=False).encode("utf-8"))
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def decode(storage_type: str, data: bytes) -> Any:
    """The value stored as ``data``."""
    _extension(storage_type)
    if storage_type == "pickle":
        return pickle.loads(data)
    if storage_type == "json":
        return json.loads(data.decode("utf-8"))
    pd = _pandas(storage_type)
    if storage_type == "csv":
        return pd.read_csv(io.BytesIO(data))
    return pd.read_parquet(io.BytesIO(data))


def as_if_written(storage_type: str, value: Any) -> Any:
    """``value`` as a read would return it after writing it, e.g. default data as a DataFrame for csv."""
    return decode(storage_type, encode(storage_type, value))


def _write_local_atomically(path: str, data: bytes) -> None:
    # A reader (another task, the SDK) never sees a half-written file: write aside, then rename in one step.
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(url: str, storage_type: str, value: Any) -> None:
    """Store ``value`` at ``url``, creating parent directories; local files are replaced atomically."""
    data = encode(storage_type, value)
    fs, path = fsspec.core.url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        _write_local_atomically(path, data)
        return
    # Object stores replace whole objects on upload and need no directories; make them only where the filesystem
    # asks (creating them up front could, on S3, try to create the bucket).
    try:
        fs.pipe_file(path, data)
    except FileNotFoundError:
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        fs.pipe_file(path, data)


def read(url: str, storage_type: str) -> Any:
    """The value stored at ``url``."""
    fs, path = fsspec.core.url_to_fs(url)
    return decode(storage_type, fs.cat_file(path))


def exists(url: str) -> bool:
    """Whether a value is stored at ``url``."""
    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(path))
