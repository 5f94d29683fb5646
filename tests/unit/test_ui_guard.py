"""The job selector's guard without a cluster: the token and its cookie, the CSRF header on mutations, the Host
check, the security headers, and the in-cluster mode's need for the user's Authorization header. These requests
never reach the API server (the client points at a closed port)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from taipod.ui.apiclient import ApiClient
from taipod.ui.auth import CSRF_HEADER, Guard
from taipod.ui.server import UiSettings, make_app

TOKEN = "t0ken"


def run(check: Callable[[TestClient[Any, Any], Guard], Awaitable[None]], in_cluster: bool = False) -> None:
    async def main() -> None:
        guard = Guard(None if in_cluster else TOKEN, 0)
        app: web.Application = make_app(
            ApiClient("http://127.0.0.1:9", False, None, own_credentials=not in_cluster),
            UiSettings("team", in_cluster=in_cluster),
            guard,
        )
        async with TestClient(TestServer(app)) as client:
            guard.hosts = None if in_cluster else frozenset({f"127.0.0.1:{client.port}"})
            await check(client, guard)

    asyncio.run(main())


def test_without_the_token_everything_is_refused() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        for path in ("/", "/static/app.js", "/api/session", "/api/jobs", "/api/events", "/api/jobs/team/x"):
            response = await client.get(path)
            assert response.status == 403, path
            assert "token" in await response.text()
            response = await client.get(path, params={"token": "wrong"})
            assert response.status == 403, path

    run(check)


def test_the_token_becomes_a_strict_http_only_cookie_and_leaves_the_address() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        response = await client.get("/", params={"token": TOKEN, "show_id": "false"}, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"] == "/?show_id=false"
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith(f"{guard.cookie}={TOKEN}")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = await client.get("/")  # the client keeps the cookie
        assert page.status == 200 and "<title>taipod jobs</title>" in await page.text()
        session = await (await client.get("/api/session")).json()
        assert session == {"csrf": guard.csrf, "namespace": "team", "allNamespaces": False, "inCluster": False}

    run(check)


def test_mutations_need_the_csrf_header() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        await client.get("/", params={"token": TOKEN}, allow_redirects=False)
        client.session.cookie_jar.update_cookies({guard.cookie: TOKEN})
        for path in ("/api/cancel", "/api/delete"):
            for headers in ({}, {CSRF_HEADER: "forged"}):
                response = await client.post(path, json={"jobs": [{"namespace": "team", "id": "j"}]}, headers=headers)
                assert response.status == 403
                assert "CSRF" in (await response.json())["message"]
        # With the header the request gets through the guard (and fails later, on bad input, before any API call).
        response = await client.post("/api/delete", data=b"not json", headers={CSRF_HEADER: guard.csrf})
        assert response.status == 400
        response = await client.post(
            "/api/delete", json={"jobs": [{"namespace": "other", "id": "j"}]}, headers={CSRF_HEADER: guard.csrf}
        )
        assert response.status == 400 and "outside namespace team" in await response.text()

    run(check)


def test_a_foreign_host_header_is_refused_even_with_the_token() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        response = await client.get("/", params={"token": TOKEN}, headers={"Host": "evil.example"})
        assert response.status == 403 and "Host" in await response.text()

    run(check)


def test_every_answer_carries_the_security_headers() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        for response in (await client.get("/"), await client.get("/", params={"token": TOKEN})):
            policy = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"

    run(check)


def test_references_that_are_not_kubernetes_names_never_reach_the_api_server() -> None:
    """A "/" or ".." in a namespace or name (percent-encoded in the address) would address another API path."""

    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        client.session.cookie_jar.update_cookies({guard.cookie: TOKEN})
        for path in (
            "/api/jobs/team%2F..%2F..%2F..%2Fapi%2Fv1%2Fsecrets/x",
            "/api/jobs/team/x%2F..%2F..%2Fsecrets",
            "/api/jobs/team/x%3FfieldSelector=y/logs",
            "/api/submissions/Team/x",
            "/api/jobs/other/x",  # a real name, outside the namespace this page serves
        ):
            response = await client.get(path)
            assert response.status == 400, path
        for reference in ({"namespace": "team", "id": "../secrets"}, {"namespace": "team/..", "id": "j"}):
            response = await client.post("/api/cancel", json={"jobs": [reference]}, headers={CSRF_HEADER: guard.csrf})
            assert response.status == 400 and "not a Kubernetes namespace and name" in await response.text()

    run(check)


def test_bad_queries_are_answered_400_naming_the_parameter() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        client.session.cookie_jar.update_cookies({guard.cookie: TOKEN})
        response = await client.get("/api/jobs", params={"sort": "colour", "token": TOKEN})
        assert response.status == 400 and "sort" in (await response.json())["message"]

    run(check)


def test_static_files_are_only_the_packaged_ones() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        params = {"token": TOKEN}
        assert (await client.get("/static/app.js", params=params)).headers["Content-Type"].startswith("text/javascript")
        assert (await client.get("/static/app.css", params=params)).status == 200
        for name in ("..%2Fserver.py", "server.py", ".hidden.js", "missing.js"):
            assert (await client.get(f"/static/{name}", params=params)).status == 404, name

    run(check)


def test_in_cluster_mode_needs_no_token_but_the_users_authorization() -> None:
    async def check(client: TestClient[Any, Any], guard: Guard) -> None:
        assert (await client.get("/")).status == 200
        assert (await client.get("/api/session")).status == 200
        for path in ("/api/jobs", "/api/events", "/api/jobs/team/x", "/api/jobs/team/x/logs"):
            response = await client.get(path)
            assert response.status == 401 and "Authorization" in (await response.json())["message"], path
        response = await client.post("/api/delete", json={"jobs": []}, headers={CSRF_HEADER: guard.csrf})
        assert response.status == 401

    run(check, in_cluster=True)
