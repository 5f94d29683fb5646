"""A job's details: status timeline, reason and stacktrace, data nodes with small values, its submission's Gantt
and its scenario's DAG coloured by live status; and its pod's logs. All read with the user's credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from taipod.api import datanodes
from taipod.ui import graph, timeline
from taipod.ui.apiclient import ApiClient, Credentials
from taipod.ui.jobcache import JobCache, jobs_path
from taipod.ui.rows import row_from_body

__all__ = ["LOG_LINES", "SHOWN_VALUE_BYTES", "job_details", "pod_logs", "submission_view"]

SHOWN_VALUE_BYTES = 4096
LOG_LINES = 1000


def _scenario_path(namespace: str, name: str) -> str:
    return f"/apis/taipod.io/v1alpha1/namespaces/{namespace}/scenarios/{name}"


def _submission_path(namespace: str, name: str) -> str:
    return f"/apis/taipod.io/v1alpha1/namespaces/{namespace}/submissions/{name}"


DISPLAY_NAME = "taipod.io/display-name"  # Taipy's scenario name, set by tp.create_scenario(cfg, name=...)


def _display_name(scenario: dict[str, Any]) -> str:
    return str(((scenario.get("metadata") or {}).get("annotations") or {}).get(DISPLAY_NAME) or "")


def _shown(value: Any) -> tuple[bool, str]:
    """(small enough to show, its JSON text)."""
    if value is None:
        return False, ""
    text = json.dumps(value, indent=1, sort_keys=True, default=str)
    return len(text) <= SHOWN_VALUE_BYTES, text if len(text) <= SHOWN_VALUE_BYTES else ""


def data_node_views(names: list[str], scenario: dict[str, Any]) -> list[dict[str, Any]]:
    entries = datanodes.entries(scenario.get("status") or {})
    specs = {str(d.get("name")): d for d in (scenario.get("spec") or {}).get("dataNodes") or []}
    views = []
    for name in names:
        entry = entries.get(name) or {}
        value = entry.get("value")
        if value is None and not entry.get("lastEditDate"):
            value = (specs.get(name) or {}).get("defaultData")
        small, text = _shown(value)
        views.append(
            {
                "name": name,
                "storageType": str((specs.get(name) or {}).get("storageType") or "pickle"),
                "lastEditDate": entry.get("lastEditDate") or "",
                "editInProgress": bool(entry.get("editInProgress")),
                "value": text,
                "valueShown": small,
            }
        )
    return views


def _submission_rows(cache: JobCache, namespace: str, submission: str) -> list[Any]:
    return [r for r in cache.rows.values() if r.namespace == namespace and r.submission == submission]


async def submission_view(
    api: ApiClient, credentials: Credentials, cache: JobCache, namespace: str, name: str
) -> dict[str, Any]:
    """A submission's status, its jobs' Gantt chart and its scenario's DAG coloured by their statuses."""
    now = datetime.now(UTC)
    answer = await api.request("GET", _submission_path(namespace, name), credentials)
    submission = answer.body if answer.ok else {}
    rows = _submission_rows(cache, namespace, name)
    scenario_name = str((submission.get("spec") or {}).get("scenario") or (rows[0].scenario if rows else ""))
    scenario: dict[str, Any] = {}
    if scenario_name:
        found = await api.request("GET", _scenario_path(namespace, scenario_name), credentials)
        scenario = found.body if found.ok else {}
    statuses = {r.task: r.status.name for r in rows}
    tasks = (scenario.get("spec") or {}).get("tasks") or []
    return {
        "namespace": namespace,
        "name": name,
        "error": None if answer.ok else {"status": answer.status, "message": answer.message},
        "scenario": scenario_name,
        "scenarioName": _display_name(scenario),
        "status": (submission.get("status") or {}).get("submissionStatus") or "",
        "finished": (submission.get("status") or {}).get("finished") or "",
        "gantt": timeline.gantt([(r.id, r.task, r.history) for r in rows], now).to_json(),
        "dag": graph.layout(tasks, statuses).to_json(),
    }


async def job_details(
    api: ApiClient, credentials: Credentials, cache: JobCache, namespace: str, name: str
) -> dict[str, Any]:
    now = datetime.now(UTC)
    answer = await api.request("GET", jobs_path(namespace, name), credentials)
    if not answer.ok:
        return {"error": {"status": answer.status, "message": answer.message}}
    body = answer.body
    row = row_from_body(body)
    status = body.get("status") or {}
    found = await api.request("GET", _scenario_path(namespace, row.scenario), credentials)
    scenario = found.body if found.ok else {}
    task: dict[str, Any] = next(
        (t for t in (scenario.get("spec") or {}).get("tasks") or [] if t.get("name") == row.task), {}
    )
    durations = row.durations(now)
    return {
        "error": None,
        "row": row.to_json(),
        "message": str(status.get("message") or ""),
        "exitCode": status.get("exitCode"),
        "stacktrace": [str(line) for line in status.get("stacktrace") or []],
        "pod": str(status.get("pod") or ""),
        "function": str(task.get("function") or ""),
        "scenarioName": _display_name(scenario),
        "timeline": [s.to_json(row.history[0].at) for s in timeline.segments(row.history, now)],
        "durations": durations,
        "inputs": data_node_views([str(n) for n in task.get("inputs") or []], scenario),
        "outputs": data_node_views([str(n) for n in task.get("outputs") or []], scenario),
        "scenarioError": None if found.ok else {"status": found.status, "message": found.message},
    }


async def pod_logs(api: ApiClient, credentials: Credentials, namespace: str, name: str) -> dict[str, Any]:
    """The last lines of the job's pod's log, through the API server; or its error (the pod gone, forbidden)."""
    answer = await api.request("GET", jobs_path(namespace, name), credentials)
    if not answer.ok:
        return {"error": {"status": answer.status, "message": answer.message}, "text": ""}
    pod = str((answer.body.get("status") or {}).get("pod") or "")
    if not pod:
        return {"error": {"status": 404, "message": f"job {name} has no pod (it never ran)"}, "text": ""}
    logs = await api.text(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", credentials, {"tailLines": str(LOG_LINES)})
    if not logs.ok:
        return {"error": {"status": logs.status, "message": logs.message}, "text": "", "pod": pod}
    return {"error": None, "text": str(logs.body.get("text") or ""), "pod": pod}
