"""The job selector in real Chromium against the local cluster, on jobs of real scenarios run by the operator.

Every test saves a screenshot under ``<pytest basetemp>/ui-screenshots/<test name>.png``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes.client.exceptions import ApiException
from tests.e2e.conftest import Taipod, dn, task
from tests.e2e.ui.conftest import Screen
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator
from taipod.ui.serve import UiServer

pytestmark = pytest.mark.e2e
Serve = Callable[..., UiServer]
Open = Callable[..., Screen]
TASK_ASCENDING = "() => document.querySelector('th[data-col=task]').getAttribute('aria-sort') === 'ascending'"


def doubling(taipod: Taipod, name: str = "doubling") -> str:
    taipod.scenario(
        name,
        [dn("a", defaultData=21), dn("b"), dn("c")],
        [
            task("double_a", "taipod.samples:double", ["a"], ["b"]),
            task("double_b", "taipod.samples:double", ["b"], ["c"]),
        ],
    )
    return taipod.submit(name)


def mixed(taipod: Taipod, name: str = "mixed") -> str:
    """fine completes, broken fails, after_broken is abandoned."""
    taipod.scenario(
        name,
        [dn("x", defaultData=3), dn("y"), dn("z"), dn("w")],
        [
            task("fine", "taipod.samples:double", ["x"], ["y"]),
            task("broken", "taipod.samples:fail", ["x"], ["z"]),
            task("after_broken", "taipod.samples:double", ["z"], ["w"]),
        ],
    )
    return taipod.submit(name)


def sleeper(taipod: Taipod, name: str = "sleeper", seconds: int = 600) -> str:
    """slow runs for ``seconds``; left and right wait for it (BLOCKED)."""
    taipod.scenario(
        name,
        [dn("seconds", defaultData=seconds), dn("slept"), dn("l"), dn("r")],
        [
            task("slow", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
            task("left", "taipod.samples:double", ["slept"], ["l"]),
            task("right", "taipod.samples:double", ["slept"], ["r"]),
        ],
    )
    return taipod.submit(name)


def job_exists(kube: Kube, namespace: str, name: str) -> bool:
    try:
        kube.custom.get_namespaced_custom_object("taipod.io", "v1alpha1", namespace, "jobs", name)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def test_the_list_shows_a_scenarios_jobs(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = doubling(taipod)
    jobs = taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("double_b", "COMPLETED")
    assert sorted(screen.tasks()) == ["double_a", "double_b"]
    row = screen.row("double_a")
    assert jobs["double_a"]["metadata"]["name"] in row.inner_text()
    assert "doubling" in row.locator("td[data-col=submitted]").inner_text()
    assert screen.page.inner_text("#range") == "1\u20132 of 2"
    # Taipy's show_* switches: the submission column is hidden by default, a query parameter shows it.
    assert not screen.page.locator("th[data-col=submission]").first.is_visible()
    screen.page.goto(screen.page.url.split("?")[0] + "?show_submission_id=true&show_submitted_id=true")
    screen.wait_status("double_b", "COMPLETED")
    assert sub in screen.row("double_a").locator("td[data-col=submission]").inner_text()
    assert "Scenario/doubling" in screen.row("double_a").locator("td[data-col=submitted]").inner_text()
    screen.shot()
    assert not screen.errors


def test_status_filter_and_sort(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = mixed(taipod)
    taipod.wait_jobs(sub, {"fine": "COMPLETED", "broken": "FAILED", "after_broken": "ABANDONED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("after_broken", "ABANDONED")
    page = screen.page
    page.click("#status-filter summary")
    page.check("[data-status-filter=FAILED]")
    page.check("[data-status-filter=ABANDONED]")
    page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 2")
    assert sorted(screen.tasks()) == ["after_broken", "broken"]
    page.keyboard.press("Escape")
    # Sort by task: ascending, then descending, announced to assistive technology by aria-sort.
    page.click("button.sort[data-sort=task]")
    page.wait_for_function(
        "() => document.querySelector('th[data-col=task]').getAttribute('aria-sort') === 'ascending'"
    )
    page.wait_for_function("() => document.querySelector('#rows td[data-col=task]').textContent === 'after_broken'")
    assert screen.tasks() == ["after_broken", "broken"]
    page.click("button.sort[data-sort=task]")
    page.wait_for_function("() => document.querySelector('#rows td[data-col=task]').textContent === 'broken'")
    assert screen.tasks() == ["broken", "after_broken"]
    assert page.get_attribute("th[data-col=task]", "aria-sort") == "descending"
    page.fill("[data-filter=task]", "AFTER")
    page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 1")
    assert screen.tasks() == ["after_broken"]
    screen.shot()


def test_selecting_two_jobs_and_cancelling_blocked_ones(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = sleeper(taipod)
    taipod.wait_jobs(sub, {"slow": "RUNNING", "left": "BLOCKED", "right": "BLOCKED"}, timeout=90)
    screen = open_page(serve_ui(namespace))
    screen.wait_status("left", "BLOCKED")
    page = screen.page
    screen.select("left")
    screen.select("right")
    assert page.inner_text("#selected-count") == "2 selected"
    assert page.is_enabled("#cancel-button")
    assert not page.is_enabled("#delete-button")  # neither is finished
    page.click("#cancel-button")
    page.wait_for_function("() => document.querySelectorAll('#messages p').length === 2", timeout=60_000)
    messages = page.inner_text("#messages")
    assert "canceled" in messages.lower()
    screen.wait_status("left", "CANCELED")
    screen.wait_status("right", "CANCELED")
    assert taipod.job_statuses(sub) == {"slow": "RUNNING", "left": "CANCELED", "right": "CANCELED"}
    # Finished now: the cancel button is disabled for them (the core refuses to cancel a CANCELED job).
    page.wait_for_function("() => document.querySelector('#cancel-button').disabled")
    screen.shot()


def test_deleting_a_finished_job(
    taipod: Taipod, kube: Kube, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = doubling(taipod)
    jobs = taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("double_b", "COMPLETED")
    screen.select("double_b")
    assert screen.page.is_enabled("#delete-button")
    screen.page.click("#delete-button")
    screen.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 1")
    assert screen.tasks() == ["double_a"]
    assert "deleted" in screen.page.inner_text("#messages")
    name = jobs["double_b"]["metadata"]["name"]
    wait_until(lambda: not job_exists(kube, namespace, name), 30, f"job {name} deleted")
    screen.shot()


def test_a_running_job_is_not_deleted_without_force(
    taipod: Taipod, kube: Kube, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = sleeper(taipod)
    jobs = taipod.wait_jobs(sub, {"slow": "RUNNING", "left": "BLOCKED", "right": "BLOCKED"}, timeout=90)
    screen = open_page(serve_ui(namespace))
    screen.wait_status("slow", "RUNNING")
    page = screen.page
    screen.select("slow")
    assert not page.is_enabled("#delete-button")
    assert page.is_enabled("#force-delete-button")
    page.click("#force-delete-button")
    dialog = page.locator("#force-dialog")
    dialog.wait_for(state="visible")
    assert f"{jobs['slow']['metadata']['name']} (RUNNING)" in dialog.inner_text()
    screen.shot("-confirmation")
    page.click("#force-keep")
    dialog.wait_for(state="hidden")
    # A delete without force, as a script would send it: the API server's admission policy refuses it, as is.
    answer = page.evaluate(
        """async (job) => {
             const session = await (await fetch('api/session')).json();
             const response = await fetch('api/delete', {method: 'POST', headers: {'Content-Type': 'application/json',
               'X-CSRF-Token': session.csrf}, body: JSON.stringify({jobs: [job], force: false})});
             return await response.json();
           }""",
        {"namespace": namespace, "id": jobs["slow"]["metadata"]["name"]},
    )
    result = answer["results"][0]
    assert not result["ok"] and result["httpStatus"] >= 400
    assert "cannot be deleted" in result["message"] or "not finished" in result["message"]
    assert job_exists(kube, namespace, jobs["slow"]["metadata"]["name"])
    assert screen.status_of("slow") == "RUNNING"
    screen.shot()


def test_details_of_a_failed_task_show_the_stacktrace_and_the_logs(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = mixed(taipod)
    taipod.wait_jobs(sub, {"fine": "COMPLETED", "broken": "FAILED", "after_broken": "ABANDONED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("broken", "FAILED")
    page = screen.page
    screen.row("broken").locator("button", has_text="Details").click()
    panel = page.locator("#details")
    panel.locator("pre.stacktrace").wait_for()
    assert "sample failure" in panel.locator("pre.stacktrace").inner_text()
    page.wait_for_function("() => !['loading…', ''].includes(document.querySelector('#details pre.logs').textContent)")
    logs = panel.locator("pre.logs").inner_text()
    assert "sample failure" in logs or "ValueError" in logs, logs
    text = panel.inner_text()
    assert "TaskFailed" in text and "Timeline" in text and "execution" in text
    assert "FAILED" in panel.locator("table.timeline").inner_text()
    # Inputs with their small values; the link to the submission opens its Gantt chart and DAG.
    assert "3" in panel.locator("table.nodes").first.inner_text()
    panel.locator("button.link", has_text=sub).click()
    page.locator("#submission svg[aria-label^=Gantt]").wait_for()
    dag = page.locator("#submission svg[aria-label^='The scenario']")
    assert dag.locator("g[data-node='task:broken']").get_attribute("data-status") == "FAILED"
    assert dag.locator("g[data-node='task:fine']").get_attribute("data-status") == "COMPLETED"
    assert page.locator("#submission svg[aria-label^=Gantt] rect").count() >= 6
    screen.shot()


def test_a_live_status_change_appears_without_a_reload(
    taipod: Taipod, kube: Kube, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = sleeper(taipod)
    jobs = taipod.wait_jobs(sub, {"slow": "RUNNING", "left": "BLOCKED", "right": "BLOCKED"}, timeout=90)
    screen = open_page(serve_ui(namespace))
    screen.wait_status("left", "BLOCKED")
    screen.page.evaluate("window.__sameDocument = true")
    requests: list[str] = []
    screen.page.on("request", lambda r: requests.append(r.url))
    # Someone else cancels the slow job's pod the kubectl way: the page hears it from the watch.
    kube.custom.patch_namespaced_custom_object(
        "taipod.io",
        "v1alpha1",
        namespace,
        "jobs",
        jobs["slow"]["metadata"]["name"],
        {"metadata": {"annotations": {"taipod.io/cancel": "terminate"}}},
    )
    screen.wait_status("slow", "CANCELED")
    screen.wait_status("left", "ABANDONED")
    assert screen.page.evaluate("window.__sameDocument") is True  # no reload
    assert not any(url.endswith("/") or "token=" in url for url in requests)
    # Pushed by server-sent events: a message after the stream's hello (row upserts, or a reset when the server's watch
    # was resumed by a new list, whose rows the page then reads), never a reload.
    assert screen.page.evaluate("window.taipodStats.batches") >= 2
    screen.shot()


def test_the_keyboard_alone_selects_opens_details_and_closes_them(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = doubling(taipod)
    taipod.wait_jobs(sub, {"double_a": "COMPLETED", "double_b": "COMPLETED"})
    screen = open_page(serve_ui(namespace))
    screen.wait_status("double_b", "COMPLETED")
    page = screen.page
    page.focus("#status-filter summary")  # the last control of the column heads
    page.keyboard.press("Tab")  # the first row's checkbox, in reading order
    assert page.evaluate("document.activeElement.dataset.role") == "select"
    page.keyboard.press("Space")
    assert page.inner_text("#selected-count") == "1 selected"
    page.keyboard.press("Tab")  # the submission column is hidden by default (Taipy's show_submission_id=False)
    assert page.evaluate("document.activeElement.dataset.role") == "details"
    page.keyboard.press("Enter")
    page.locator("#details pre.logs").wait_for()
    assert page.evaluate("document.activeElement.id") == "details"
    screen.shot()
    page.keyboard.press("Escape")
    page.locator("#details").wait_for(state="hidden")
    # Sorting is a button in each column head.
    page.focus("button.sort[data-sort=task]")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('th[data-col=task]').getAttribute('aria-sort') === 'ascending'"
    )


def test_cancelling_a_running_job_shows_it_unchanged_with_its_dependents_abandoned(
    taipod: Taipod, namespace: str, operator: EmbeddedOperator, serve_ui: Serve, open_page: Open
) -> None:
    sub = sleeper(taipod)
    taipod.wait_jobs(sub, {"slow": "RUNNING", "left": "BLOCKED", "right": "BLOCKED"}, timeout=90)
    screen = open_page(serve_ui(namespace))
    screen.wait_status("slow", "RUNNING")
    screen.select("slow")
    assert screen.page.is_enabled("#cancel-button")  # allowed: Taipy keeps it RUNNING and abandons its dependents
    screen.page.click("#cancel-button")
    screen.page.wait_for_selector("#messages p")
    assert "is running and cannot be canceled; its dependents are abandoned" in screen.page.inner_text("#messages")
    screen.wait_status("left", "ABANDONED")
    screen.wait_status("right", "ABANDONED")
    assert screen.status_of("slow") == "RUNNING"
    screen.shot()
