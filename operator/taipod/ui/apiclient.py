"""Requests to the API server with the user's own credentials (aiohttp, which kopf already brings).

Two modes. Local (``taipod ui``): the user's kubeconfig (its server, CA, client certificate or token), as kubectl
uses it. In-cluster (the chart's ``ui.enabled``): the API server and CA of the pod's service account, but never its
token: every request carries the Authorization header of the page's user, so the API server applies that user's
RBAC and the page never acts with more rights than its user.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from taipod.operator.kubeapi import load_configuration

__all__ = ["ApiAnswer", "ApiClient", "Credentials"]

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class ApiAnswer:
    """The API server's answer: its HTTP status and its JSON body (a Status object for errors, shown as is)."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.body.get("reason") or f"HTTP {self.status}")


@dataclass(frozen=True)
class Credentials:
    """Whose rights a request uses: the Authorization header forwarded from the page's user, or None for the
    kubeconfig's own (local mode)."""

    authorization: str | None = None


class ApiClient:
    """One connection pool to one API server; credentials per request."""

    def __init__(
        self, host: str, ssl_context: ssl.SSLContext | bool, default_authorization: str | None, own_credentials: bool
    ) -> None:
        self.host = host.rstrip("/")
        self._ssl = ssl_context
        self._default_authorization = default_authorization
        self.own_credentials = own_credentials
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None) -> ApiClient:
        """The kubeconfig's current context (certificates, token) or, without one, the in-cluster service account."""
        configuration = load_configuration(kubeconfig)
        token = configuration.get_api_key_with_prefix("BearerToken", alias="authorization") or None
        return cls(configuration.host, _ssl_context(configuration), token, own_credentials=True)

    @classmethod
    def in_cluster(cls, host: str, ca_file: str | None) -> ApiClient:
        """The API server at ``host`` trusted through ``ca_file``, with no credentials of its own."""
        context = ssl.create_default_context(cafile=ca_file) if host.startswith("https") else False
        return cls(host, context, None, own_credentials=False)

    def _headers(self, credentials: Credentials, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "taipod-ui"}
        authorization = credentials.authorization or self._default_authorization
        if authorization:
            headers["Authorization"] = authorization
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._ssl, limit=64))
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> ApiAnswer:
        data = None if body is None else json.dumps(body)
        async with self._client().request(
            method,
            self.host + path,
            params=params,
            data=data,
            headers=self._headers(credentials, content_type if data is not None else None),
            timeout=aiohttp.ClientTimeout(total=60),
        ) as response:
            raw = await response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"message": raw.decode(errors="replace")[:2000]}
        return ApiAnswer(response.status, parsed if isinstance(parsed, dict) else {"items": parsed})

    async def text(self, path: str, credentials: Credentials, params: dict[str, str]) -> ApiAnswer:
        """A plain-text answer (pod logs) as ``{"text": ...}``, or the API server's error."""
        async with self._client().get(
            self.host + path,
            params=params,
            headers=self._headers(credentials),
            timeout=aiohttp.ClientTimeout(total=60),
        ) as response:
            raw = await response.read()
        if response.status >= 400:
            try:
                return ApiAnswer(response.status, json.loads(raw))
            except ValueError:
                return ApiAnswer(response.status, {"message": raw.decode(errors="replace")[:2000]})
        return ApiAnswer(response.status, {"text": raw.decode(errors="replace")})

    async def watch(self, path: str, credentials: Credentials, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """The events of one watch request (``watch=1``), until the server ends it."""
        async with self._client().get(
            self.host + path,
            params={**params, "watch": "1"},
            headers=self._headers(credentials),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=params_timeout(params)),
        ) as response:
            if response.status >= 400:
                raw = await response.read()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"message": raw.decode(errors="replace")}
                yield {"type": "ERROR", "object": {"code": response.status, **body}}
                return
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def params_timeout(params: dict[str, str]) -> float:
    """A read timeout a little past the watch's own ``timeoutSeconds``."""
    return float(params.get("timeoutSeconds", "300")) + 30


def _ssl_context(configuration: Any) -> ssl.SSLContext | bool:
    if not configuration.host.startswith("https"):
        return False
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return context
