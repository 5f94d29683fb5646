"""A thin JSON client over the official client's connection pool and credentials.

The operator writes plain dicts (merge patches with resourceVersion preconditions, manifests) thousands of times per
scenario; going through the generated models would validate and convert each object twice for nothing. Auth, TLS and
token refresh stay the official client's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from kubernetes import client, config

__all__ = ["ApiError", "KubeApi", "NotLeaderError", "load_configuration"]

MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    def __init__(self, status: int, reason: str, body: dict[str, Any]) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        super().__init__(f"{status} {reason}: {body.get('message', '')}")


class NotLeaderError(Exception):
    """A write refused before it was sent: this replica does not lead (taipod.operator.election)."""


def load_configuration(kubeconfig: str | None = None) -> Any:
    """The kubeconfig's current context (or ``kubeconfig``), else the in-cluster service account."""
    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        if kubeconfig:
            raise
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = 32
    return configuration


class KubeApi:
    """``may_write``: asked before every request that is not a GET (a standby replica writes nothing);
    ``observe(verb, code)``: told of every answer ("error" when none came), for the operator's metrics."""

    def __init__(
        self,
        configuration: Any,
        *,
        may_write: Callable[[], bool] | None = None,
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        self.configuration = configuration
        self.api_client = client.ApiClient(configuration)
        self.may_write = may_write
        self.observe = observe

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": "taipod-operator"}
        token = self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if token:
            headers["Authorization"] = token
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        if method != "GET" and self.may_write is not None and not self.may_write():
            raise NotLeaderError(f"{method} {path} refused: this operator replica is not the leader")
        url = self.configuration.host + path + (f"?{urlencode(params)}" if params else "")
        try:
            response = self.api_client.rest_client.request(  # type: ignore[no-untyped-call]
                method,
                url,
                headers=self._headers(content_type),
                body=body,
                _request_timeout=timeout,
            )
        except Exception:
            if self.observe is not None:
                self.observe(method, "error")
            raise
        if self.observe is not None:
            self.observe(method, str(response.status))
        raw = response.read()
        data: dict[str, Any] = json.loads(raw) if raw else {}
        if response.status >= 400:
            raise ApiError(response.status, response.reason or "", data)
        return data

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body)

    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body, content_type=MERGE_PATCH)

    def json_patch(self, path: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """An RFC 6902 patch: its ``test`` operations make it conditional on the object's content."""
        return self.request("PATCH", path, ops, content_type="application/json-patch+json")

    def delete(self, path: str, propagation: str = "Background") -> dict[str, Any]:
        return self.request("DELETE", path, {"propagationPolicy": propagation})

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]


def custom_path(namespace: str, plural: str, name: str = "", subresource: str = "") -> str:
    path = f"/apis/taipod.io/v1alpha1/namespaces/{namespace}/{plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def batch_path(namespace: str, name: str = "") -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/jobs" + (f"/{name}" if name else "")
