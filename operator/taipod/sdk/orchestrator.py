"""``tp.Orchestrator()``: the operator embedded in this process, started unless one already serves the namespace.

An operator serving a namespace holds the Lease ``taipod-operator`` there and renews it; a Lease renewed within its
``leaseDurationSeconds`` means "served". ``run()`` starts kopf in a background thread (the operator's
``EmbeddedOperator``) otherwise; ``stop()`` stops it (it is also stopped when the interpreter exits).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException

from taipod.sdk import cluster as _cluster
from taipod.sdk import names, settings
from taipod.sdk.errors import ForbiddenError, NoOperatorRunningError, OrchestratorServiceIsAlreadyRunning

__all__ = ["Orchestrator", "embedded_namespace", "operator_serves", "require_operator"]

_log = logging.getLogger("taipod")
_lock = threading.Lock()
_embedded: Any = None
_embedded_ns: str | None = None
_atexit_registered = False


def _lease_fresh(lease: Any, now: datetime) -> bool:
    spec = getattr(lease, "spec", None)
    if not getattr(spec, "holder_identity", None):  # released by an operator that stopped
        return False
    renewed = getattr(spec, "renew_time", None) or getattr(spec, "acquire_time", None)
    if renewed is None:
        return False
    if isinstance(renewed, str):
        renewed = names.parse_time(renewed)
    if renewed.tzinfo is None:
        renewed = renewed.replace(tzinfo=UTC)
    duration = getattr(spec, "lease_duration_seconds", None) or 30
    return bool(now <= renewed + timedelta(seconds=int(duration)))


def operator_serves(cluster: _cluster.Cluster) -> bool | None:
    """True if an operator serves the namespace (a fresh Lease, or the embedded one), False if none does, None if
    this user may not read Leases (unknown)."""
    if embedded_namespace() == cluster.namespace:
        return True
    try:
        lease = cluster.call(
            f"read the operator's Lease in namespace {cluster.namespace!r}",
            cluster.coordination.read_namespaced_lease,
            names.LEASE_NAME,
            cluster.namespace,
        )
    except ApiException as exc:
        if exc.status == 404:
            return _cluster_wide_operator(cluster)
        raise
    except ForbiddenError:
        return None
    return _lease_fresh(lease, datetime.now(UTC)) or bool(_cluster_wide_operator(cluster))


def _cluster_wide_operator(cluster: _cluster.Cluster) -> bool | None:
    """A cluster-wide operator holds its Lease in its own namespace, marked ``taipod.io/serves: "*"``."""
    try:
        leases = cluster.call(
            "list the taipod operators' Leases",
            cluster.coordination.list_lease_for_all_namespaces,
            label_selector="app.kubernetes.io/name=taipod-operator",
        )
    except (ForbiddenError, ApiException):
        return None
    now = datetime.now(UTC)
    return any(
        ((lease.metadata.annotations or {}).get("taipod.io/serves") == "*") and _lease_fresh(lease, now)
        for lease in leases.items
    )


def embedded_namespace() -> str | None:
    """The namespace of the operator embedded in this process, if it runs."""
    with _lock:
        if _embedded is not None and getattr(_embedded, "running", True):
            return _embedded_ns
        return None


def require_operator(cluster: _cluster.Cluster, action: str) -> None:
    """Raise ``NoOperatorRunningError`` if no operator serves the namespace."""
    if operator_serves(cluster) is False:
        raise NoOperatorRunningError(
            f"cannot {action}: no taipod operator serves namespace {cluster.namespace!r} (no fresh Lease "
            f"{names.LEASE_NAME!r}), so the jobs would never run. Fix: call tp.Orchestrator().run() first to run the "
            "operator in this process, or install it in the cluster with `helm install taipod charts/taipod`"
        )


def _stop_at_exit() -> None:
    try:
        Orchestrator().stop()
    except Exception:
        _log.debug("could not stop the embedded operator at exit", exc_info=True)


def _register_stop_at_exit() -> None:
    """Stop the operator when the script ends, as Taipy's dispatcher (a daemon thread) ends with it.

    It must stop before the interpreter joins the thread pools the operator uses (``concurrent.futures`` does that
    in a ``threading`` exit hook, before ``atexit`` handlers run), else the exit hangs: register it there too.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # already shutting down
            register(_stop_at_exit)
    atexit.register(_stop_at_exit)


class Orchestrator:
    """Taipy's ``Orchestrator`` service: here, the taipod operator."""

    def run(self, force_restart: bool = False) -> None:
        """Start the operator in a background thread of this process, unless one already serves the namespace.

        Raises ``OrchestratorServiceIsAlreadyRunning`` if this process already runs it (as Taipy does).
        """
        global _embedded, _embedded_ns, _atexit_registered  # noqa: PLW0603 (one operator per process)
        del force_restart
        cluster = _cluster.current()
        if embedded_namespace() is not None:
            raise OrchestratorServiceIsAlreadyRunning(
                f"the taipod operator already runs in this process (namespace {embedded_namespace()!r}): call "
                "tp.Orchestrator().stop() before running it again"
            )
        if operator_serves(cluster):
            _log.info("An operator already serves namespace %s: using it.", cluster.namespace)
            return
        from taipod.operator.config import OperatorConfig  # noqa: PLC0415
        from taipod.operator.embedded import EmbeddedOperator  # noqa: PLC0415 (kopf loads only when needed)

        current = settings.current()
        # The SDK's own storage settings, when given, are the embedded operator's too; the rest comes from the
        # environment (TAIPOD_STORAGE_*, AWS_*), as for `python -m taipod.operator`.
        config = OperatorConfig.from_env()
        changes = {
            "storage_endpoint": current.resolved_storage_endpoint(),
            "storage_key": current.storage_key,
            "storage_secret_key": current.storage_secret_key,
        }
        config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v})  # type: ignore[arg-type]
        operator = EmbeddedOperator(
            cluster.namespace,
            storage_url=current.resolved_storage_url(),
            storage_pvc=current.resolved_storage_pvc(),
            kubeconfig=current.kubeconfig,
            config=config,
        )
        operator.start()
        with _lock:
            _embedded, _embedded_ns = operator, cluster.namespace
            if not _atexit_registered:
                _register_stop_at_exit()
                _atexit_registered = True
        _log.info("The taipod operator runs in this process for namespace %s.", cluster.namespace)

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop the operator embedded in this process, if any."""
        global _embedded, _embedded_ns
        del wait
        with _lock:
            operator, _embedded, _embedded_ns = _embedded, None, None
        if operator is not None:
            operator.stop(timeout if timeout is not None else 30)
