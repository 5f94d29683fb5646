"""Helpers for tests that talk to Kubernetes: clients for a kubeconfig and condition waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float, what: str | Callable[[], str], interval: float = 0.1) -> T:
    """Return the first truthy result of ``check``; a check that raises ApiException 404 is not ready.

    ``what`` may be a callable, evaluated on timeout, to report the state reached.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except ApiException as exc:
            if exc.status != 404:
                raise
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what() if callable(what) else what}"
                + (f" (last error: {last_error})" if last_error else "")
            )
        time.sleep(interval)


class Kube:
    def __init__(self, kubeconfig: Path) -> None:
        self.api_client = config.new_client_from_config(config_file=str(kubeconfig))
        self.core = client.CoreV1Api(self.api_client)
        self.batch = client.BatchV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.apiext = client.ApiextensionsV1Api(self.api_client)
        self.admission = client.AdmissionregistrationV1Api(self.api_client)

    def pod(self, ns: str, name: str) -> Any:
        return self.core.read_namespaced_pod(name, ns)

    def wait_pod_phase(self, ns: str, name: str, phases: set[str], timeout: float = 60) -> Any:
        return wait_until(
            lambda: (p := self.pod(ns, name)).status.phase in phases and p,
            timeout,
            f"pod {ns}/{name} in phase {sorted(phases)}",
        )

    def job_finished(self, ns: str, name: str) -> Any:
        """The batch/v1 Job once it has a true Complete or Failed condition, else None."""
        job = self.batch.read_namespaced_job(name, ns)
        done = any(c.type in ("Complete", "Failed") and c.status == "True" for c in job.status.conditions or [])
        return job if done else None

    def gone(self, read: Callable[[], Any]) -> bool:
        try:
            read()
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def wait_namespaces_gone(self, names: list[str], timeout: float = 180) -> None:
        for name in names:
            wait_until(
                lambda n=name: self.gone(lambda: self.core.read_namespace(n)),
                timeout,  # type: ignore[misc]
                f"namespace {name} deleted",
            )
