"""The aiohttp application of the job selector: static page, JSON API, server-sent events.

Routes: ``/`` (the page), ``/static/*``, ``GET /api/session`` (CSRF token and settings), ``GET /api/jobs`` (one page
of rows: filters, sort, offset, limit), ``GET /api/events`` (server-sent events: changed rows, batched every 100 ms),
``POST /api/cancel`` and ``POST /api/delete`` (``{"jobs": [{"namespace", "id"}], "terminate"|"force": bool}``),
``GET /api/jobs/{namespace}/{name}`` (details), ``.../logs``, ``GET /api/submissions/{namespace}/{name}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from taipod.ui import actions, details
from taipod.ui.apiclient import ApiClient, Credentials
from taipod.ui.auth import Guard
from taipod.ui.jobcache import JobCache
from taipod.ui.query import QueryError, parse_query, select

__all__ = ["UiSettings", "make_app"]

STATIC = resources.files("taipod.ui") / "static"
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
EVENT_BATCH_SECONDS = 0.1
IDLE_CACHE_SECONDS = 600
MAX_BATCH = 5000
MAX_CACHES = 64  # in-cluster mode: one watch per user; more users at once than this are asked to come back later
# Kubernetes names: a namespace is a DNS label, an object name a DNS subdomain. Anything else never reaches the API
# server's path (a "/" or ".." there would let a request address another resource than a job of that namespace).
NAMESPACE_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
NAME_PATTERN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_stopping: set[asyncio.Task[None]] = set()  # stops of evicted watches, referenced until they end


@dataclass(frozen=True)
class UiSettings:
    namespace: str | None  # None: every namespace
    in_cluster: bool = False  # True: every request needs the user's Authorization header, forwarded


API_KEY: web.AppKey[ApiClient] = web.AppKey("api", ApiClient)
SETTINGS_KEY: web.AppKey[UiSettings] = web.AppKey("settings", UiSettings)
GUARD_KEY: web.AppKey[Guard] = web.AppKey("guard", Guard)
CACHES_KEY: web.AppKey[dict[str, JobCache]] = web.AppKey("caches", dict)


def _credentials(request: web.Request) -> Credentials:
    if request.app[SETTINGS_KEY].in_cluster:
        return Credentials(request.headers.get("Authorization"))
    return Credentials(None)


def _no_credentials(request: web.Request) -> web.Response | None:
    if request.app[SETTINGS_KEY].in_cluster and not request.headers.get("Authorization"):
        return web.json_response(
            {
                "message": "no Authorization header: in the cluster the page acts with your own bearer token; reach "
                "it through an authenticating proxy that forwards it (see the chart's README)"
            },
            status=401,
        )
    return None


async def _cache(request: web.Request) -> JobCache:
    caches = request.app[CACHES_KEY]
    credentials = _credentials(request)
    key = credentials.authorization or ""
    cache = caches.get(key)
    if cache is None:
        _evict_idle(caches, IDLE_CACHE_SECONDS)
        if len(caches) >= MAX_CACHES:
            _evict_idle(caches, 0)
        if len(caches) >= MAX_CACHES:
            raise web.HTTPServiceUnavailable(text=f"{MAX_CACHES} users are watching jobs already: try again later")
        cache = JobCache(request.app[API_KEY], credentials, request.app[SETTINGS_KEY].namespace)
        caches[key] = cache
        cache.start()
    cache.last_used = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cache.ready.wait(), 60)
    if key and cache.error is not None and cache.error.status in (401, 403) and caches.get(key) is cache:
        # Credentials the API server refuses keep no watch alive (it would list again every 5 s): this request gets
        # the refusal, the next one asks again.
        _stop(caches, key)
    return cache


def _stop(caches: dict[str, JobCache], key: str) -> None:
    task = asyncio.get_running_loop().create_task(caches.pop(key).stop())
    _stopping.add(task)
    task.add_done_callback(_stopping.discard)


def _evict_idle(caches: dict[str, JobCache], idle_seconds: float) -> None:
    """Stop the watches of users gone for ``idle_seconds`` (in-cluster mode has one per user)."""
    now = time.monotonic()
    for key, cache in list(caches.items()):
        if key and cache.subscribers == 0 and now - cache.last_used >= idle_seconds:
            _stop(caches, key)


def _checked_reference(request: web.Request, namespace: str, name: str) -> None:
    """Refuse a job, submission or pod reference that is not a Kubernetes name, or outside the page's namespace."""
    if not NAMESPACE_PATTERN.fullmatch(namespace) or not NAME_PATTERN.fullmatch(name):
        raise web.HTTPBadRequest(text=f"{namespace!r}/{name!r} is not a Kubernetes namespace and name")
    allowed = request.app[SETTINGS_KEY].namespace
    if allowed is not None and namespace != allowed:
        raise web.HTTPBadRequest(text=f"{namespace}/{name} is outside namespace {allowed} this page serves")


def _reference(request: web.Request) -> tuple[str, str]:
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    _checked_reference(request, namespace, name)
    return namespace, name


def _error(cache: JobCache) -> dict[str, Any] | None:
    return None if cache.error is None else {"status": cache.error.status, "message": cache.error.message}


async def index(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=(STATIC / "index.html").read_bytes(), content_type="text/html", headers={"Cache-Control": "no-store"}
    )


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if "/" in name or name.startswith(".") or not any(name.endswith(ext) for ext in STATIC_TYPES):
        raise web.HTTPNotFound()
    entry = STATIC / name
    if not entry.is_file():
        raise web.HTTPNotFound()
    kind = STATIC_TYPES[name[name.rindex(".") :]]
    return web.Response(body=entry.read_bytes(), content_type=kind, headers={"Cache-Control": "no-cache"})


async def session(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS_KEY]
    return web.json_response(
        {
            "csrf": request.app[GUARD_KEY].csrf,
            "namespace": settings.namespace,
            "allNamespaces": settings.namespace is None,
            "inCluster": settings.in_cluster,
        },
        headers={"Cache-Control": "no-store"},
    )


async def jobs(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    try:
        query = parse_query(request.query)
    except QueryError as error:
        return web.json_response({"message": str(error)}, status=400)
    cache = await _cache(request)
    started = time.perf_counter()
    page = select(cache.rows.values(), query)
    body = {
        "total": page.total,
        "matched": page.matched,
        "offset": page.offset,
        "rows": [row.to_json() for row in page.rows],
        "error": _error(cache),
    }
    elapsed = (time.perf_counter() - started) * 1000
    # The time spent filtering, sorting and paging, for the browser's developer tools and the benchmark.
    return web.json_response(body, headers={"Server-Timing": f"select;dur={elapsed:.1f}"})


async def events(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    cache = await _cache(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = cache.subscribe()
    try:
        hello = {"type": "hello", "total": len(cache.rows), "error": _error(cache)}
        await response.write(f"data: {json.dumps([hello])}\n\n".encode())
        while True:
            try:
                first = await asyncio.wait_for(queue.get(), 15)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if first.get("type") == "shutdown":
                break
            await asyncio.sleep(EVENT_BATCH_SECONDS)  # batch what arrives meanwhile: one message, one repaint
            batch = [first]
            while not queue.empty() and len(batch) < MAX_BATCH:
                batch.append(queue.get_nowait())
            await response.write(f"data: {json.dumps(batch, separators=(',', ':'))}\n\n".encode())
    except ConnectionResetError:  # the page went away; a cancellation (the server stopping) propagates
        pass
    finally:
        cache.unsubscribe(queue)
    return response


async def _targets(request: web.Request) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='the body must be JSON: {"jobs": [{"namespace": ..., "id": ...}]}') from None
    targets = []
    for item in body.get("jobs") or []:
        namespace, name = str(item.get("namespace") or ""), str(item.get("id") or "")
        if not namespace or not name:
            raise web.HTTPBadRequest(text="each of jobs needs a namespace and an id")
        _checked_reference(request, namespace, name)
        targets.append((namespace, name))
    return targets, body


async def cancel(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    targets, body = await _targets(request)
    cache = await _cache(request)
    api, credentials = request.app[API_KEY], _credentials(request)
    results = await asyncio.gather(
        *(actions.cancel(api, credentials, cache, ns, name, bool(body.get("terminate"))) for ns, name in targets)
    )
    return web.json_response({"results": list(results)})


async def delete(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    targets, body = await _targets(request)
    api, credentials = request.app[API_KEY], _credentials(request)
    results = await asyncio.gather(
        *(actions.delete(api, credentials, ns, name, bool(body.get("force"))) for ns, name in targets)
    )
    return web.json_response({"results": list(results)})


async def job(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    reference = _reference(request)
    cache = await _cache(request)
    found = await details.job_details(request.app[API_KEY], _credentials(request), cache, *reference)
    return web.json_response(found)


async def logs(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    found = await details.pod_logs(request.app[API_KEY], _credentials(request), *_reference(request))
    return web.json_response(found)


async def submission(request: web.Request) -> web.StreamResponse:
    missing = _no_credentials(request)
    if missing:
        return missing
    reference = _reference(request)
    cache = await _cache(request)
    found = await details.submission_view(request.app[API_KEY], _credentials(request), cache, *reference)
    return web.json_response(found)


async def _warm(app: web.Application) -> None:
    """Local mode has one user: start the watch at once, so the first page is answered from a filled cache."""
    if not app[SETTINGS_KEY].in_cluster:
        cache = JobCache(app[API_KEY], Credentials(None), app[SETTINGS_KEY].namespace)
        app[CACHES_KEY][""] = cache
        cache.start()


async def _end_streams(app: web.Application) -> None:
    """Let every open event stream end, so that stopping the server does not wait on them."""
    for cache in app[CACHES_KEY].values():
        cache.shutdown()


async def _close(app: web.Application) -> None:
    for cache in app[CACHES_KEY].values():
        await cache.stop()
    await app[API_KEY].close()


def make_app(api: ApiClient, settings: UiSettings, guard: Guard) -> web.Application:
    app = web.Application(middlewares=[guard.middleware], client_max_size=1024 * 1024)
    app[API_KEY] = api
    app[SETTINGS_KEY] = settings
    app[GUARD_KEY] = guard
    app[CACHES_KEY] = {}
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/jobs", jobs)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/cancel", cancel)
    app.router.add_post("/api/delete", delete)
    app.router.add_get("/api/jobs/{namespace}/{name}", job)
    app.router.add_get("/api/jobs/{namespace}/{name}/logs", logs)
    app.router.add_get("/api/submissions/{namespace}/{name}", submission)
    app.on_startup.append(_warm)
    app.on_shutdown.append(_end_streams)
    app.on_cleanup.append(_close)
    return app
