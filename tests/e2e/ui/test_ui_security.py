"""The job selector's guards: the token, the CSRF token, text never parsed as HTML, and in-cluster mode acting with
the user's own rights (the API server's 403 shown on the page). Screenshots under ``<basetemp>/ui-screenshots``."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from tests.e2e.conftest import Taipod, dn, task
from tests.e2e.ui.conftest import Screen
from tests.e2e.ui.test_ui_browser import doubling, job_exists
from tests.k8s_helpers import Kube

from taipod.operator.embedded import EmbeddedOperator
from taipod.ui.serve import UiServer

pytestmark = pytest.mark.e2e
Serve = Callable[..., UiServer]
Open = Callable[..., Screen]
PAYLOAD = "<img src=x onerror=alert(1)>"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def status(url: str, headers: dict[str, str] | None = None, method: str = "GET", data: bytes | None = None) -> int:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_requests_without_the_token_are_refused(namespace: str, taipod_installed: None, serve_ui: Serve) -> None:
    server = serve_ui(namespace)
    assert server.token
    for path in ("/", "/api/jobs", "/api/events", "/api/session", "/static/app.js"):
        assert status(server.base + path) == 403, path
        assert status(f"{server.base}{path}?token=wrong") == 403, path
        assert status(server.base + path, {"Cookie": f"taipod-ui-{server.port}=wrong"}) == 403, path
    # The printed URL: its token becomes an HttpOnly cookie and leaves the address bar.
    assert status(server.url) == 302
    assert status(server.base + "/api/session", {"Cookie": f"taipod-ui-{server.port}={server.token}"}) == 200
    # Another Host header (DNS rebinding) is refused even with the token.
    assert status(server.url, {"Host": "evil.example:80"}) == 403


def test_a_mutation_without_the_csrf_token_is_refused(
    taipod: Taipod, kube: Kube, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = doubling(taipod)
    jobs = taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("double_b", "COMPLETED")
    target = {"namespace": namespace, "id": jobs["double_b"]["metadata"]["name"]}
    answers = screen.page.evaluate(
        """async (job) => {
             const send = async (headers) => {
               const response = await fetch('api/delete', {method: 'POST', headers: Object.assign(
                 {'Content-Type': 'application/json'}, headers), body: JSON.stringify({jobs: [job]})});
               return [response.status, await response.text()];
             };
             return [await send({}), await send({'X-CSRF-Token': 'forged'})];
           }""",
        target,
    )
    for code, text in answers:
        assert code == 403 and "CSRF" in text
    assert job_exists(kube, namespace, target["id"])
    screen.shot()


def test_html_in_names_and_errors_is_shown_as_text(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    # Kubernetes names cannot hold it, but a scenario's display name (Taipy's name) and a task's error can.
    taipod.create(
        "scenarios",
        {
            "kind": "Scenario",
            "metadata": {"name": "xss", "annotations": {"taipod.io/display-name": PAYLOAD}},
            "spec": {
                "dataNodes": [dn("evil", defaultData=PAYLOAD), dn("out")],
                "tasks": [task("evil_task", "taipod.samples:fail", ["evil"], ["out"])],
            },
        },
    )
    sub = taipod.submit("xss")
    taipod.wait_jobs(sub, {"evil_task": "FAILED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("evil_task", "FAILED")
    page = screen.page
    screen.row("evil_task").locator("button", has_text="Details").click()
    page.locator("#details pre.stacktrace").wait_for()
    page.wait_for_function("() => !['loading…', ''].includes(document.querySelector('#details pre.logs').textContent)")
    details = page.inner_text("#details")
    assert PAYLOAD in details  # the display name, the input's value and the stacktrace, as text
    assert details.count(PAYLOAD) >= 3, details
    page.locator("#details button.link").click()
    page.locator("#submission svg").first.wait_for()
    assert PAYLOAD in page.inner_text("#submission")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert screen.dialogs == [] and not screen.errors
    screen.shot()


def test_in_cluster_a_user_who_may_not_delete_jobs_gets_the_api_servers_403(
    taipod: Taipod, kube: Kube, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = doubling(taipod)
    jobs = taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    kube.core.create_namespaced_service_account(namespace, {"metadata": {"name": "viewer"}})
    rbac = __import__("kubernetes").client.RbacAuthorizationV1Api(kube.api_client)
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "taipod-viewer"},
            "rules": [
                {
                    "apiGroups": ["taipod.io"],
                    "resources": ["jobs", "scenarios", "submissions"],
                    "verbs": ["get", "list", "watch"],
                },
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]},
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "taipod-viewer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "taipod-viewer"},
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": namespace}],
        },
    )
    token = kube.core.create_namespaced_service_account_token(
        "viewer", namespace, {"spec": {"expirationSeconds": 900}}
    ).status.token
    server = serve_ui(namespace, in_cluster=True)
    assert status(server.base + "/api/jobs") == 401  # no Authorization header: nobody's rights, nothing shown
    screen = open_page(server, headers={"Authorization": f"Bearer {token}"})
    screen.wait_status("double_b", "COMPLETED")
    screen.select("double_b")
    screen.page.click("#delete-button")
    screen.page.wait_for_selector("#messages p.bad")
    message = screen.page.inner_text("#messages")
    assert "403" in message and "forbidden" in message.lower(), message
    assert "system:serviceaccount:" in message and ":viewer" in message
    assert job_exists(kube, namespace, jobs["double_b"]["metadata"]["name"])
    screen.shot()
