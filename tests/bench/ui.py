"""The job selector's figures (issue 14): first paint and a filter with 5,000 jobs, the page's weight, and how many
watch events per second the page keeps up with. Prints figures; asserts no time.

    PYTHONPATH=tests/cluster .venv/bin/python -m tests.bench.ui [--jobs 5000] [--rate 200] [--seconds 10]

A local cluster of its own (or the one of KUBECONFIG), the CRDs, N Job resources created directly (no operator: the
page lists what the API server holds; statuses are written to the status subresource), the page served by
``taipod.ui`` in this process and opened in Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.bench.harness import Api, custom, install_taipod

from localkube.cluster import LocalCluster
from taipod.ui.apiclient import ApiClient
from taipod.ui.auth import Guard
from taipod.ui.serve import UiServer
from taipod.ui.server import UiSettings

NAMESPACE = "taipod-ui-bench"
STATUSES = ["COMPLETED", "FAILED", "RUNNING", "BLOCKED", "PENDING", "CANCELED", "SKIPPED", "ABANDONED"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync"]


def job(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "taipod.io/v1alpha1",
        "kind": "Job",
        "metadata": {"name": f"bench-{i:05d}", "labels": {"taipod.io/submission": f"sub-{i // 50}"}},
        "spec": {"scenario": f"scenario-{i // 500}", "submission": f"sub-{i // 50}", "task": f"task_{i % 50}"},
    }


def status_patch(i: int, status: str) -> dict[str, Any]:
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    return {"status": {"status": status, "history": [{"status": "SUBMITTED", "at": at}, {"status": status, "at": at}]}}


def create_jobs(api: Api, count: int) -> None:
    existing = len(api.list_all(custom(NAMESPACE, "jobs")))
    if existing >= count:
        return

    def one(i: int) -> None:
        api.create(custom(NAMESPACE, "jobs"), job(i))
        api.request(
            "PATCH",
            custom(NAMESPACE, "jobs", f"bench-{i:05d}", "status"),
            status_patch(i, STATUSES[i % len(STATUSES)]),
            content_type="application/merge-patch+json",
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(existing, count)))


def measure(kubeconfig: Path, api: Api, jobs: int, rate: float, seconds: float) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    create_jobs(api, jobs)
    print(f"{jobs} Job resources in place ({time.monotonic() - started:.0f} s)")
    server = UiServer(
        lambda: ApiClient.from_kubeconfig(str(kubeconfig)), UiSettings(NAMESPACE), token=Guard.new_token()
    ).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            # The server starts its watch when it starts (local mode): the first visit may still wait for the LIST.
            for label in ("first visit, right after the server started", "second visit", "third visit"):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(server.url)
                page.wait_for_function("() => window.taipodStats.firstRows !== null", timeout=120_000)
                paint = page.evaluate(
                    "window.taipodStats.firstRows - performance.getEntriesByType('navigation')[0].startTime"
                )
                fcp = page.evaluate(
                    "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: 0}).startTime"
                )
                rows = page.evaluate("document.querySelectorAll('#rows tr').length")
                select_ms = page.evaluate(
                    """performance.getEntriesByType('resource').filter((e) => e.name.includes('api/jobs'))
                       .flatMap((e) => e.serverTiming.map((t) => t.duration))[0] || 0"""
                )
                weight = page.evaluate(
                    """[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
                       .map((e) => `${e.name.split('?')[0].split('/').pop() || 'index'}=${e.decodedBodySize}`)"""
                )
                print(
                    f"first paint of rows ({label}): {paint:.0f} ms after navigation start "
                    f"(first contentful paint {fcp:.0f} ms; server select {select_ms:.0f} ms), "
                    f"{rows} rows shown of {jobs}; bytes: {', '.join(weight)}"
                )
                page.close()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server.url)
            page.wait_for_function("() => window.taipodStats.firstRows !== null", timeout=120_000)
            times = []
            for status in ("FAILED", "RUNNING", "COMPLETED"):
                page.click("#status-filter summary")
                before = page.evaluate("window.taipodStats.refreshes")
                t0 = page.evaluate("performance.now()")
                page.check(f"[data-status-filter={status}]")
                page.wait_for_function(f"() => window.taipodStats.refreshes > {before}")
                times.append(page.evaluate("performance.now()") - t0)
                page.uncheck(f"[data-status-filter={status}]")
                page.keyboard.press("Escape")
                page.wait_for_function(f"() => window.taipodStats.refreshes > {before + 1}")
            t0 = page.evaluate("performance.now()")
            before = page.evaluate("window.taipodStats.refreshes")
            page.fill("[data-filter=task]", "task_7")
            page.wait_for_function(f"() => window.taipodStats.refreshes > {before}")
            text_ms = page.evaluate("performance.now()") - t0 - 150  # minus the page's typing debounce
            print(
                f"status filter applied (click to rows repainted): median {statistics.median(times):.0f} ms "
                f"(of {', '.join(f'{t:.0f}' for t in times)}); text filter {text_ms:.0f} ms after the 150 ms debounce"
            )
            page.fill("[data-filter=task]", "")
            # Events per second: status changes written at `rate` per second for `seconds`; the page counts the
            # events it applied. Jobs on the visible page are among those changed.
            page.wait_for_timeout(1000)
            base = page.evaluate("window.taipodStats.events")
            total = int(rate * seconds)
            stop = threading.Event()
            sent = [0]

            def writer(worker: int, workers: int) -> None:
                i = worker
                begin = time.monotonic()
                while i < total and not stop.is_set():
                    due = begin + (i / rate)
                    if due > time.monotonic():
                        time.sleep(due - time.monotonic())
                    api.request(
                        "PATCH",
                        custom(NAMESPACE, "jobs", f"bench-{(jobs - 1 - i) % jobs:05d}", "status"),
                        status_patch(i, STATUSES[(i + 1) % len(STATUSES)]),
                        content_type="application/merge-patch+json",
                    )
                    sent[0] += 1
                    i += workers

            t0 = time.monotonic()
            threads = [threading.Thread(target=writer, args=(w, 64)) for w in range(64)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wrote = time.monotonic() - t0
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and page.evaluate("window.taipodStats.events") - base < sent[0]:
                time.sleep(0.1)
            caught = time.monotonic() - t0
            applied = page.evaluate("window.taipodStats.events") - base
            batches = page.evaluate("window.taipodStats.batches")
            print(
                f"events: {sent[0]} status changes written in {wrote:.1f} s ({sent[0] / wrote:.0f}/s); "
                f"the page applied {applied} of them within {caught:.1f} s ({applied / caught:.0f}/s), "
                f"{batches} event batches in all; last render {page.evaluate('window.taipodStats.renderMs'):.0f} ms"
            )
            print(f"synthetic events (the page's own capacity): {synthetic(server, page)}")
            browser.close()
    finally:
        server.stop()


def synthetic(server: UiServer, page: Any, rates: tuple[int, ...] = (500, 2000, 5000), seconds: float = 5) -> str:
    """Status changes injected straight into the server's watch cache, as if the watch delivered them (a stand-in
    for an API server faster than this one): how many per second the page applies, and how far behind it ends."""
    from taipod.ui.server import CACHES_KEY

    cache = server.app[CACHES_KEY][""]
    loop = cache._task.get_loop()  # type: ignore[union-attr]
    keys = sorted(cache.bodies)
    found = []
    for rate in rates:
        base = page.evaluate("window.taipodStats.events")
        total = int(rate * seconds)
        begin = time.monotonic()
        sent = 0
        while sent < total:
            due = int((time.monotonic() - begin) * rate) + 1
            chunk = min(total, due) - sent
            if chunk <= 0:
                time.sleep(0.005)
                continue

            def inject(first: int = sent, count: int = chunk) -> None:
                for n in range(first, first + count):
                    body = dict(cache.bodies[keys[n % len(keys)]])
                    body["status"] = status_patch(n, STATUSES[n % len(STATUSES)])["status"]
                    cache._apply("MODIFIED", body)

            loop.call_soon_threadsafe(inject)
            sent += chunk
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and page.evaluate("window.taipodStats.events") - base < total:
            time.sleep(0.05)
        took = time.monotonic() - begin
        applied = page.evaluate("window.taipodStats.events") - base
        found.append(f"{rate}/s for {seconds:.0f} s: {applied}/{total} applied in {took:.1f} s, {applied / took:.0f}/s")
    return "; ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.ui")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200, help="status changes per second to write")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    given = os.environ.get("KUBECONFIG")
    state = None if given else Path(tempfile.mkdtemp(prefix="taipod-ui-bench-"))
    cluster = None
    try:
        if given:
            kubeconfig = Path(given)
        else:
            assert state is not None
            cluster = LocalCluster(state)
            cluster.start()
            kubeconfig = cluster.kubeconfig
        api = Api(kubeconfig)
        install_taipod(SimpleNamespace(kubeconfig=kubeconfig), api)  # type: ignore[arg-type]
        api.ensure_namespace(NAMESPACE)
        measure(kubeconfig, api, args.jobs, args.rate, args.seconds)
    finally:
        if cluster is not None:
            cluster.stop()
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
