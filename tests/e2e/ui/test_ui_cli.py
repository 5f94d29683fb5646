"""``taipod ui`` as users run it (the printed URL with its token), and ``-A`` (every namespace)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod
from tests.e2e.ui.conftest import Screen
from tests.e2e.ui.test_ui_browser import doubling
from tests.e2e.ui.test_ui_security import status
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator
from taipod.ui.serve import UiServer

pytestmark = pytest.mark.e2e


def test_the_command_prints_a_url_whose_token_opens_the_page(
    cluster: ClusterHandle, namespace: str, taipod_installed: None
) -> None:
    exe = Path(sys.executable).parent / "taipod"
    proc = subprocess.Popen(
        [str(exe), "--kubeconfig", str(cluster.kubeconfig), "ui", "-n", namespace],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"taipod ui: jobs of namespace {namespace} at"), first
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        base = url.split("/?")[0]
        assert status(base + "/api/jobs") == 403
        assert status(url) == 302
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url, timeout=30) as page:
            assert page.status == 200 and b"<title>taipod jobs</title>" in page.read()
        with opener.open(base + "/api/jobs", timeout=30) as jobs:
            assert jobs.status == 200
    finally:
        proc.terminate()
        proc.wait(30)


def test_every_namespace_with_a(
    taipod: Taipod,
    namespace: str,
    operator: EmbeddedOperator,
    serve_ui: Callable[..., UiServer],
    open_page: Callable[..., Screen],
) -> None:
    sub = doubling(taipod)
    taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    screen = open_page(serve_ui(None))
    page = screen.page
    assert page.inner_text("#scope") == "every namespace"
    page.fill("[data-filter=id]", namespace)  # the id column matches the namespace too
    screen.wait_status("double_b", "COMPLETED")
    wait_until(lambda: sorted(screen.tasks()) == ["double_a", "double_b"], 30, "the namespace's two jobs only")
    assert namespace in screen.row("double_a").locator("td[data-col=id]").inner_text()
    screen.shot()
