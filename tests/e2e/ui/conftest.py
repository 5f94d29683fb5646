"""Fixtures of the job selector's browser tests: Debian's chromium driven by Playwright, the page served by
``taipod.ui`` in a thread of the test process, and screenshots saved under the pytest base folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ClusterHandle

from localkube import hostpkgs
from localkube.errors import ClusterError
from taipod.ui.apiclient import ApiClient
from taipod.ui.auth import Guard
from taipod.ui.serve import UiServer
from taipod.ui.server import UiSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium (installed on demand), never a browser Playwright downloads. Module-scoped: Playwright's sync
    API keeps an event loop running in the main thread until it stops, and later tests call asyncio.run()."""
    reason = hostpkgs.missing_reason(["chromium"])
    if reason:
        pytest.skip(reason)
    try:
        hostpkgs.ensure(["chromium"])
    except ClusterError as error:
        pytest.skip(str(error).splitlines()[0])
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<pytest basetemp>/ui-screenshots``: one PNG per browser test."""
    folder = tmp_path_factory.getbasetemp() / "ui-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def serve_ui(cluster: ClusterHandle) -> Iterator[Callable[..., UiServer]]:
    """Start the page for a namespace (local mode: the test's kubeconfig, a token), stopped after the test."""
    started: list[UiServer] = []

    def start(namespace: str | None, in_cluster: bool = False) -> UiServer:
        if in_cluster:
            from taipod.operator.kubeapi import load_configuration

            configuration = load_configuration(str(cluster.kubeconfig))
            server = UiServer(
                lambda: ApiClient.in_cluster(configuration.host, configuration.ssl_ca_cert),
                UiSettings(namespace, in_cluster=True),
            )
        else:
            kubeconfig = str(cluster.kubeconfig)
            server = UiServer(
                lambda: ApiClient.from_kubeconfig(kubeconfig), UiSettings(namespace), token=Guard.new_token()
            )
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


class Screen:
    """One browser page on the job selector, with the helpers the tests share."""

    def __init__(self, page: Any, folder: Path, name: str) -> None:
        self.page = page
        self.folder = folder
        self.name = name
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def shot(self, suffix: str = "") -> Path:
        path = self.folder / f"{self.name}{suffix}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def row(self, task: str) -> Any:
        return self.page.locator("#rows tr", has=self.page.locator("td[data-col=task]", has_text=task)).first

    def status_of(self, task: str) -> str:
        return str(self.row(task).get_attribute("data-status"))

    def wait_status(self, task: str, status: str, timeout: float = 90) -> None:
        self.page.wait_for_function(
            """([task, status]) => [...document.querySelectorAll('#rows tr')].some((tr) =>
                 tr.querySelector('td[data-col=task]')?.textContent === task && tr.dataset.status === status)""",
            arg=[task, status],
            timeout=timeout * 1000,
        )

    def tasks(self) -> list[str]:
        return [str(t) for t in self.page.locator("#rows td[data-col=task]").all_inner_texts()]

    def select(self, task: str) -> None:
        self.row(task).locator("td.sel input").check()


@pytest.fixture
def open_page(browser: Any, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Screen]]:
    contexts: list[Any] = []

    def open_(server: UiServer, headers: dict[str, str] | None = None, url: str | None = None) -> Screen:
        context = browser.new_context(viewport=VIEWPORT, extra_http_headers=headers or {})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        screen = Screen(page, screenshots, request.node.name)
        page.goto(url or server.url)
        page.wait_for_selector("#live.on")
        return screen

    yield open_
    for context in contexts:
        context.close()
