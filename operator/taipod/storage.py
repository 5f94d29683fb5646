"""Data-node values stored by URL through fsspec (decisions, "Data nodes").

A value lives at an fsspec URL: ``s3://bucket/prefix/...`` on S3-compatible object storage (the default data plane,
through s3fs), or a local path / ``file://`` URL on a shared volume. The storage type decides the encoding: pickle
(the default), json, csv and parquet (through pandas, an optional dependency: ``pip install 'taipod[data]'``).

``Access`` says how to reach an object store (endpoint, credentials, region); every function takes one, and the
default (``Access()``) leaves everything to s3fs and botocore's standard chain (``AWS_*`` variables, profiles,
instance roles). Failures to reach the store raise ``StorageUnavailableError`` naming the cause and the fix.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = [
    "EXTENSIONS",
    "Access",
    "MissingDependencyError",
    "StorageUnavailableError",
    "UnknownStorageTypeError",
    "as_if_written",
    "check_bucket",
    "decode",
    "default_url",
    "encode",
    "ensure_bucket",
    "exists",
    "is_remote",
    "read",
    "read_bytes",
    "resolve_url",
    "write",
    "write_bytes",
]

EXTENSIONS = {"pickle": "pkl", "json": "json", "csv": "csv", "parquet": "parquet"}
"""File extension of each supported storage type."""


class UnknownStorageTypeError(ValueError):
    """A storage type other than those of ``EXTENSIONS``."""


class MissingDependencyError(ImportError):
    """pandas or pyarrow is needed for this storage type but not installed."""


class StorageUnavailableError(OSError):
    """The store cannot be used: unreachable, credentials refused, or the bucket missing. ``cause`` says which
    (``unreachable``, ``credentials``, ``bucket``)."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


ENDPOINT_ENV = ("TAIPOD_STORAGE_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class Access:
    """How to reach an S3-compatible store. None fields are left to botocore's standard chain."""

    endpoint: str | None = None
    key: str | None = None
    secret: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Access:
        """The endpoint and region of the environment (``TAIPOD_STORAGE_ENDPOINT``, else AWS's own variables);
        credentials stay with botocore, which reads ``AWS_ACCESS_KEY_ID`` and the rest itself."""
        env = os.environ if env is None else env
        endpoint = next((env[k] for k in ENDPOINT_ENV if env.get(k)), None)
        region = env.get("TAIPOD_STORAGE_REGION") or None
        return cls(endpoint=endpoint, region=region)

    def options(self, url: str) -> dict[str, Any]:
        """fsspec options for ``url``: s3fs settings for ``s3://`` URLs, nothing for others."""
        if not url.startswith(("s3://", "s3a://")):
            return {}
        client: dict[str, Any] = {}
        if self.endpoint:
            client["endpoint_url"] = self.endpoint
        if self.region:
            client["region_name"] = self.region
        options: dict[str, Any] = {
            "client_kwargs": client,
            # Values change under the same key (a task rewrites its output): never answer from a stale listing.
            "use_listings_cache": False,
            # Fail in seconds, not minutes, when the store is down; s3fs still retries transient errors.
            "config_kwargs": {"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3}},
        }
        if self.key:
            options["key"] = self.key
        if self.secret:
            options["secret"] = self.secret
        return options

    def describe(self) -> str:
        return self.endpoint or "the default AWS S3 endpoint"


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


def is_remote(url: str) -> bool:
    """Whether ``url`` is on a store every client reaches over the network (not a local path)."""
    return "://" in url and not url.startswith(("file://", "local://"))


def _fs(url: str, access: Access | None) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(url, **(access or Access()).options(url))
    return fs, str(path)


def _bucket(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _classify(url: str, access: Access | None, exc: BaseException) -> StorageUnavailableError | None:
    """A ``StorageUnavailableError`` for an error that says the store cannot be used at all, else None (a missing
    object or a bad value is not the store's fault)."""
    if not is_remote(url):
        return None
    where = (access or Access()).describe()
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if isinstance(exc, PermissionError) or any(
        marker in lowered
        for marker in (
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "accessdenied",
            "forbidden",
            "403",
            "xadminusernotfound",  # versitygw's answer to an unknown access key
            "no user exists",
            "nocredentials",
            "unable to locate credentials",
        )
    ):
        return StorageUnavailableError(
            f"the object store at {where} refused the credentials for {url} ({text}). Fix: use the namespace's "
            "storage credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, or the taipod-storage Secret)",
            "credentials",
        )
    if "nosuchbucket" in lowered or "bucket does not exist" in lowered or "specified bucket" in lowered:
        return StorageUnavailableError(
            f"the bucket {_bucket(url)!r} does not exist at {where} ({text}). Fix: create it, or point the storage "
            "URL (TAIPOD_STORAGE_URL / the chart's storage values) at an existing bucket",
            "bucket",
        )
    if any(
        marker in lowered
        for marker in (
            "could not connect",
            "connect call failed",
            "connection refused",
            "cannot connect",
            "connecttimeout",
            "connect timeout",
            "endpointconnectionerror",
            "name or service not known",
            "temporary failure in name resolution",
            "timed out",
            "server disconnected",
            "connection reset",
        )
    ) or isinstance(exc, ConnectionError | TimeoutError):
        return StorageUnavailableError(
            f"the object store at {where} cannot be reached for {url} ({text}). Fix: check that the store runs and "
            "that this machine reaches its endpoint (TAIPOD_STORAGE_ENDPOINT or AWS_ENDPOINT_URL)",
            "unreachable",
        )
    # An unknown access key: AWS answers 403, some servers (versitygw) 404, which s3fs reports as a bare EIO.
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and "404" in lowered:
        return StorageUnavailableError(
            f"the object store at {where} does not know the access key used for {url} ({text}). Fix: use the "
            "namespace's storage credentials",
            "credentials",
        )
    return None


def _guarded(url: str, access: Access | None, action: Any) -> Any:
    try:
        return action()
    except StorageUnavailableError:
        raise
    except Exception as exc:
        classified = _classify(url, access, exc)
        if classified is not None:
            raise classified from exc
        raise


def write(url: str, storage_type: str, value: Any, access: Access | None = None) -> None:
    """Store ``value`` at ``url``; local files are replaced atomically (parent directories made), objects replaced
    whole by their upload. Nothing is written when encoding fails."""
    data = encode(storage_type, value)
    write_bytes(url, data, access)


def write_bytes(url: str, data: bytes, access: Access | None = None) -> None:
    """Store ``data`` as the value at ``url`` (already encoded for its storage type)."""
    fs, path = _fs(url, access)
    if isinstance(fs, LocalFileSystem):
        _write_local_atomically(path, data)
        return
    # Never create directories on an object store: on S3 that could create the bucket, and a missing bucket must be
    # reported, not made.
    _guarded(url, access, lambda: fs.pipe_file(path, data))


def read_bytes(url: str, access: Access | None = None) -> bytes:
    """The stored bytes at ``url``; ``FileNotFoundError`` when nothing is stored there."""
    fs, path = _fs(url, access)
    return bytes(_guarded(url, access, lambda: fs.cat_file(path)))


def read(url: str, storage_type: str, access: Access | None = None) -> Any:
    """The value stored at ``url``; ``FileNotFoundError`` when nothing is stored there."""
    return decode(storage_type, read_bytes(url, access))


def exists(url: str, access: Access | None = None) -> bool:
    """Whether a value is stored at ``url``."""
    fs, path = _fs(url, access)
    return bool(_guarded(url, access, lambda: fs.exists(path)))


def check_bucket(url: str, access: Access | None = None) -> None:
    """Raise ``StorageUnavailableError`` unless the store at ``url`` answers and its bucket exists (a cheap
    listing of the root prefix)."""
    if not is_remote(url):
        return
    fs, _ = _fs(url, access)
    try:
        # A listing of the bucket's top level (one request; s3fs lists with a delimiter): a wrong key, a missing
        # bucket and an unreachable endpoint each answer differently here.
        _guarded(url, access, lambda: fs.ls(_bucket(url), detail=False, refresh=True))
    except FileNotFoundError as exc:
        raise StorageUnavailableError(
            f"the bucket {_bucket(url)!r} does not exist at {(access or Access()).describe()} ({exc}). Fix: create "
            "it, or point the storage URL (TAIPOD_STORAGE_URL / the chart's storage values) at an existing bucket",
            "bucket",
        ) from exc


def ensure_bucket(url: str, access: Access | None = None) -> bool:
    """Create the bucket of ``url`` when it is missing (the chart's embedded store); whether it was created."""
    if not is_remote(url):
        return False
    fs, _ = _fs(url, access)
    bucket = _bucket(url)
    if _guarded(url, access, lambda: fs.exists(bucket)):
        return False
    _guarded(url, access, lambda: fs.mkdir(bucket))  # no LocationConstraint unless a region is set
    return True
