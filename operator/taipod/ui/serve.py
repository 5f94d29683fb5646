"""Run the job selector: bind, print the URL with its token, serve until interrupted (``taipod ui``), or run it in
a background thread for tests and benchmarks (``UiServer``)."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass

from aiohttp import web

from taipod.ui.apiclient import ApiClient
from taipod.ui.auth import Guard
from taipod.ui.server import UiSettings, make_app

__all__ = ["UiServer", "in_cluster_client", "loopback_hosts"]

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def loopback_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values a browser sends for the local page."""
    return frozenset({f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"})


def in_cluster_client() -> ApiClient:
    """The API server as pods reach it, trusted through its CA (``TAIPOD_UI_CA_FILE``: the chart mounts the
    namespace's ``kube-root-ca.crt``; else the service account's), never with a token of its own."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    ca_file = os.environ.get("TAIPOD_UI_CA_FILE") or f"{SERVICE_ACCOUNT}/ca.crt"
    return ApiClient.in_cluster(f"https://{host}:{port}", ca_file)


@dataclass
class UiServer:
    """The page served from a thread with its own event loop; ``url`` includes the token."""

    api_factory: object  # () -> ApiClient, called in the server's loop
    settings: UiSettings
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None

    def start(self) -> UiServer:
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="taipod-ui", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}" if self.token else f"{self.base}/"

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:
            self._error = error
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        runner, site_port, guard = await start_site(self.api_factory(), self.settings, self.host, self.port, self.token)  # type: ignore[operator]
        self.port, self.guard, self.app = site_port, guard, runner.app
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


async def start_site(
    api: ApiClient, settings: UiSettings, host: str, port: int, token: str | None
) -> tuple[web.AppRunner, int, Guard]:
    """Bind ``host:port`` (0: a free port) and serve; returns the runner, the bound port and the guard."""
    guard = Guard(token, port)
    app = make_app(api, settings, guard)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port or site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    guard.port = bound
    guard.hosts = loopback_hosts(host, bound) if not settings.in_cluster else None
    return runner, bound, guard
