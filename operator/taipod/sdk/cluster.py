"""The connection to the cluster: the official ``kubernetes`` client, the namespace, and clear errors.

The kubeconfig (``KUBECONFIG`` or ``~/.kube/config``, or ``Config.configure_cluster(kubeconfig=..., context=...)``)
is loaded with its current context; in a pod without one, the in-cluster configuration is used. The namespace is
``Config.configure_cluster(namespace=...)``, else ``TAIPOD_NAMESPACE``, else the context's, else the pod's, else
``default``. Every API error is turned into an exception that names the cause and the fix.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError as Urllib3Error

from taipod.sdk import names, settings
from taipod.sdk.errors import (
    ClusterUnreachableError,
    CrdsNotInstalledError,
    ForbiddenError,
    TaipodError,
)

__all__ = ["Cluster", "current", "is_not_found", "reset"]

_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_FIX_CLUSTER = (
    "Fix: start the cluster, or point KUBECONFIG (or Config.configure_cluster(kubeconfig=..., context=...)) at a "
    "reachable one; `kubectl cluster-info` must work"
)
_FIX_CRDS = (
    "Fix: install taipod in the cluster with `helm install taipod charts/taipod`, or apply the CRDs with "
    "`kubectl apply -f crds/`"
)


def _body(exc: ApiException) -> dict[str, Any]:
    try:
        parsed = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def is_not_found(exc: ApiException) -> bool:
    """A 404 about a missing *object* (a Status with reason NotFound), not about a missing resource type."""
    return exc.status == 404 and _body(exc).get("reason") == "NotFound"


class Cluster:
    """API clients for one kubeconfig context, and the namespace the SDK works in."""

    def __init__(self, api_client: client.ApiClient, namespace: str, source: str) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.source = source
        self.host = str(api_client.configuration.host)
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.coordination = client.CoordinationV1Api(api_client)

    # -- error translation -----------------------------------------------------------------------------------------
    def error(self, exc: Exception, what: str) -> Exception:
        """The SDK's exception for ``exc`` raised while doing ``what`` (``exc`` itself for object-not-found)."""
        if isinstance(exc, ApiException):
            body = _body(exc)
            message = body.get("message") or (exc.body or "").strip() or exc.reason
            if exc.status == 404 and not body:
                return CrdsNotInstalledError(
                    f"cannot {what}: the cluster at {self.host} does not serve the {names.GROUP}/{names.VERSION} "
                    f"resources (the taipod CRDs are not installed). {_FIX_CRDS}"
                )
            if exc.status == 404 and (body.get("details") or {}).get("kind") == "namespaces":
                return TaipodError(
                    f"cannot {what}: namespace {self.namespace!r} does not exist. Fix: create it (`kubectl create "
                    "namespace ...`) or choose another one with TAIPOD_NAMESPACE or "
                    "Config.configure_cluster(namespace=...)"
                )
            if exc.status == 401:
                return ForbiddenError(
                    f"cannot {what}: the API server at {self.host} rejected the credentials of {self.source} "
                    f"({message}). Fix: refresh the kubeconfig's credentials (`kubectl get ns` must work)"
                )
            if exc.status == 403:
                return ForbiddenError(
                    f"cannot {what}: forbidden ({message}). Fix: ask for the RBAC permissions taipod's users need "
                    f"in namespace {self.namespace!r} (the chart's taipod-user role binds them), or use another "
                    "namespace"
                )
            if exc.status == 404:
                return exc
            return TaipodError(f"cannot {what}: the API server answered {exc.status} {exc.reason}: {message}")
        if isinstance(exc, (Urllib3Error, OSError)):
            return ClusterUnreachableError(
                f"cannot {what}: the Kubernetes API server at {self.host} (from {self.source}) is not reachable "
                f"({exc}). {_FIX_CLUSTER}"
            )
        return exc

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; errors other than object-not-found become the SDK's exceptions."""
        try:
            return fn(*args, **kwargs)
        except (ApiException, Urllib3Error, OSError) as exc:
            translated = self.error(exc, what)
            if translated is exc:
                raise
            raise translated from exc

    # -- custom objects ---------------------------------------------------------------------------------------------
    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        try:
            found: dict[str, Any] = self.call(
                f"read {plural}.{names.GROUP} {name!r}",
                self.custom.get_namespaced_custom_object,
                names.GROUP,
                names.VERSION,
                self.namespace,
                plural,
                name,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def list_raw(self, plural: str, label_selector: str | None = None) -> dict[str, Any]:
        """The List object; its JSON is parsed here rather than by the client, which matters for thousands of
        objects (``tp.get_jobs()``)."""
        kwargs: dict[str, Any] = {"_preload_content": False}
        if label_selector:
            kwargs["label_selector"] = label_selector
        response = self.call(
            f"list {plural}.{names.GROUP}",
            self.custom.list_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            self.namespace,
            plural,
            **kwargs,
        )
        try:
            listed: dict[str, Any] = json.loads(response.data)
        finally:
            response.release_conn()
        return listed

    def items(self, plural: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """The objects not being deleted."""
        listed = self.list_raw(plural, label_selector)
        return [item for item in listed.get("items") or [] if not item["metadata"].get("deletionTimestamp")]

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.call(
            f"create {plural}.{names.GROUP} {body['metadata'].get('name')!r}",
            self.custom.create_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            self.namespace,
            plural,
            body,
        )
        return created

    def patch(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch."""
        patched: dict[str, Any] = self.call(
            f"update {plural}.{names.GROUP} {name!r}",
            self.custom.patch_namespaced_custom_object,
            names.GROUP,
            names.VERSION,
            self.namespace,
            plural,
            name,
            body,
        )
        return patched

    def patch_status(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch of the status subresource."""
        patched: dict[str, Any] = self.call(
            f"update the status of {plural}.{names.GROUP} {name!r}",
            self.custom.patch_namespaced_custom_object_status,
            names.GROUP,
            names.VERSION,
            self.namespace,
            plural,
            name,
            body,
        )
        return patched

    def delete(self, plural: str, name: str) -> bool:
        """Delete (in the background: owned objects follow); False if it did not exist."""
        try:
            self.call(
                f"delete {plural}.{names.GROUP} {name!r}",
                self.custom.delete_namespaced_custom_object,
                names.GROUP,
                names.VERSION,
                self.namespace,
                plural,
                name,
                propagation_policy="Background",
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _context_namespace(kubeconfig: str | None, context: str | None) -> str | None:
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError, TypeError, ValueError):
        return None
    chosen = next((c for c in contexts or [] if c.get("name") == context), None) if context else active
    return ((chosen or {}).get("context") or {}).get("namespace") or None


def _connect(current: settings.Settings) -> Cluster:
    kubeconfig = current.kubeconfig
    try:
        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=current.context
        )
        source = f"kubeconfig {kubeconfig or os.environ.get('KUBECONFIG') or '~/.kube/config'}"
        context_ns = _context_namespace(kubeconfig, current.context)
    except (ConfigException, OSError, TypeError) as kube_exc:
        try:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException:
            raise ClusterUnreachableError(
                f"no Kubernetes cluster is configured: no usable kubeconfig ({kube_exc}) and not running in a pod. "
                f"{_FIX_CLUSTER}"
            ) from kube_exc
        api_client = client.ApiClient(configuration)
        source = "the in-cluster service account"
        context_ns = _SA_NAMESPACE.read_text().strip() if _SA_NAMESPACE.exists() else None
    namespace = current.namespace or os.environ.get("TAIPOD_NAMESPACE") or context_ns or "default"
    return Cluster(api_client, namespace, source)


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], Cluster] | None = None


def current() -> Cluster:
    """The cluster of the current settings (connected once per kubeconfig, context and namespace)."""
    global _cached  # noqa: PLW0603 (a process-wide connection, like Taipy's repositories)
    now = settings.current()
    key = (now.kubeconfig, now.context, now.namespace, os.environ.get("TAIPOD_NAMESPACE"), os.environ.get("KUBECONFIG"))
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, _connect(now))
        return _cached[1]


def reset() -> None:
    """Forget the connection (the next call reconnects with the current settings)."""
    global _cached  # noqa: PLW0603
    with _lock:
        _cached = None
