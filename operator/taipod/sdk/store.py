"""Where the SDK reads and writes data-node values: exactly where the namespace's tasks do.

The operator publishes where a namespace's data lives, never a secret value, in the ConfigMap ``taipod-storage``
(``url``, ``endpoint``, ``region``, ``secret``, ``pvc``) and in each Scenario's ``status.storageRoot`` and
``status.storageEndpoint``. The SDK uses that location with the user's own credentials, first found wins:

1. ``Config.configure_cluster(storage_key=..., storage_secret_key=...)``;
2. the standard AWS variables or profile (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, a shared credentials file), left
   to botocore;
3. the namespace's credentials Secret named by the ConfigMap, when the user's RBAC may read it.

``TAIPOD_STORAGE_ENDPOINT`` (or ``configure_cluster(storage_endpoint=...)``) overrides the published endpoint, for a
store the user reaches another way (``kubectl port-forward`` to the chart's embedded store). Values stored on a
volume claim (the chart's pvc mode) are reachable only from task pods: the SDK says so rather than write a local path
that tasks never read.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from taipod import storage
from taipod.sdk import settings
from taipod.sdk.cluster import Cluster
from taipod.sdk.errors import ConfigurationError, StorageUnreachableError

__all__ = ["CONFIG_MAP", "Location", "access_for", "location", "reset"]

CONFIG_MAP = "taipod-storage"
_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Location:
    """Where a namespace's data lives, as the operator published it."""

    url: str
    endpoint: str = ""
    region: str = ""
    secret: str = ""  # the namespace's credentials Secret
    pvc: str = ""  # set: values live on a volume claim only task pods mount


_locations: dict[tuple[str, str], tuple[float, Location | None]] = {}
_accesses: dict[tuple[str, str, str], storage.Access] = {}


def reset() -> None:
    _locations.clear()
    _accesses.clear()


def _published(cluster: Cluster) -> Location | None:
    key = (cluster.host, cluster.namespace)
    cached = _locations.get(key)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    try:
        config_map = cluster.core.read_namespaced_config_map(CONFIG_MAP, cluster.namespace)
    except ApiException as exc:
        if exc.status not in (403, 404):
            raise cluster.error(exc, f"read ConfigMap {CONFIG_MAP!r}") from exc
        found = None
    except OSError as exc:
        raise cluster.error(exc, f"read ConfigMap {CONFIG_MAP!r}") from exc
    else:
        data = config_map.data or {}
        found = (
            Location(
                url=data["url"],
                endpoint=data.get("endpoint", ""),
                region=data.get("region", ""),
                secret=data.get("secret", ""),
                pvc=data.get("pvc", ""),
            )
            if data.get("url")
            else None
        )
    _locations[key] = (time.monotonic(), found)
    return found


def location(cluster: Cluster, status: dict[str, Any]) -> Location:
    """The location of a scenario's data: its status (``storageRoot``), the namespace's ConfigMap, or the SDK's own
    setting (``TAIPOD_STORAGE_URL``); ``ConfigurationError`` when none says."""
    published = _published(cluster)
    current = settings.current()
    root = status.get("storageRoot") or (published.url if published else None) or current.resolved_storage_url()
    if not root:
        raise ConfigurationError(
            f"cannot tell where the data of namespace {cluster.namespace!r} lives: no operator has published it yet "
            f"(ConfigMap {CONFIG_MAP!r}) and no storage root is configured. Fix: start the operator for this "
            "namespace (helm install, or tp.Orchestrator().run()), or set TAIPOD_STORAGE_URL to its storage root"
        )
    endpoint = str(status.get("storageEndpoint") or (published.endpoint if published else "") or "")
    base = published or Location(url=str(root))
    return Location(
        url=str(root),
        endpoint=current.resolved_storage_endpoint() or endpoint,
        region=base.region,
        secret=base.secret,
        pvc=base.pvc,
    )


def _has_ambient_credentials() -> bool:
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return True
    shared = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(Path.home() / ".aws" / "credentials")
    return Path(shared).is_file()


def _secret_credentials(cluster: Cluster, name: str) -> tuple[str, str] | None:
    try:
        secret = cluster.core.read_namespaced_secret(name, cluster.namespace)
    except ApiException as exc:
        if exc.status in (403, 404):
            return None
        raise cluster.error(exc, f"read Secret {name!r}") from exc
    data = secret.data or {}
    key, value = data.get("AWS_ACCESS_KEY_ID"), data.get("AWS_SECRET_ACCESS_KEY")
    if not key or not value:
        return None
    return base64.b64decode(key).decode(), base64.b64decode(value).decode()


def access_for(cluster: Cluster, where: Location, what: str) -> storage.Access:
    """How this process reaches ``where``; ``StorageUnreachableError`` when it cannot (a volume claim)."""
    if where.pvc and not storage.is_remote(where.url):
        raise StorageUnreachableError(
            f"cannot {what}: the data of namespace {cluster.namespace!r} lives on the volume claim {where.pvc!r}, "
            "which only task pods mount. Fix: use object storage (the chart's storage.type objectStore or s3), or "
            "keep the value small and JSON so that it is recorded in the Scenario status"
        )
    current = settings.current()
    key = (cluster.host, cluster.namespace, where.endpoint)
    if current.storage_key and current.storage_secret_key:
        return storage.Access(
            where.endpoint or None, current.storage_key, current.storage_secret_key, where.region or None
        )
    cached = _accesses.get(key)
    if cached is not None:
        return cached
    credentials = None
    if not _has_ambient_credentials() and where.secret:
        credentials = _secret_credentials(cluster, where.secret)
    found = storage.Access(
        endpoint=where.endpoint or None,
        key=credentials[0] if credentials else None,
        secret=credentials[1] if credentials else None,
        region=where.region or None,
    )
    _accesses[key] = found
    return found
