"""Cancel and delete, with the user's credentials, answered as the operator and the API server answer.

Cancel: the ``taipod.io/cancel`` annotation (``terminate`` for taipod's extension), then the operator's answer in
``status.cancel`` (canceled, or unchanged with its dependents abandoned), awaited on the watch. A job the core's
rules refuse (FAILED, CANCELED, ABANDONED) is answered without asking, as the SDK does. Delete: a plain DELETE,
which the API server's admission policy refuses for an unfinished job; ``force`` first sets
``taipod.io/force-delete``, as ``tp.delete_job(job, force=True)`` does. Errors are the API server's, as they are.
"""

from __future__ import annotations

from typing import Any

from taipod.core.jobs import JobView, plan_cancel
from taipod.operator.names import ANNOTATION_CANCEL, ANNOTATION_FORCE_DELETE
from taipod.ui.apiclient import MERGE_PATCH, ApiClient, Credentials
from taipod.ui.jobcache import JobCache, jobs_path
from taipod.ui.rows import status_of

__all__ = ["CANCEL_ANSWER_SECONDS", "cancel", "delete"]

CANCEL_ANSWER_SECONDS = 30.0


def _result(namespace: str, name: str, ok: bool, message: str, status: int = 200) -> dict[str, Any]:
    return {"namespace": namespace, "id": name, "ok": ok, "message": message, "httpStatus": status}


async def cancel(
    api: ApiClient, credentials: Credentials, cache: JobCache, namespace: str, name: str, terminate: bool = False
) -> dict[str, Any]:
    path = jobs_path(namespace, name)
    current = await api.request("GET", path, credentials)
    if not current.ok:
        return _result(namespace, name, False, current.message, current.status)
    status = status_of(current.body)
    refused = plan_cancel(JobView(name, "", "", status), []).refused
    if refused:
        return _result(namespace, name, False, refused)
    previous = (current.body.get("status") or {}).get("cancel")
    if previous:  # the operator answers one cancel request per job: repeat its answer
        return _result(namespace, name, True, str(previous))
    value = "terminate" if terminate else "true"
    patched = await api.request(
        "PATCH", path, credentials, {"metadata": {"annotations": {ANNOTATION_CANCEL: value}}}, content_type=MERGE_PATCH
    )
    if not patched.ok:
        return _result(namespace, name, False, patched.message, patched.status)
    row = await cache.wait_for(
        f"{namespace}/{name}", lambda r: r is None or bool(r.cancel_answer), CANCEL_ANSWER_SECONDS
    )
    if row is None:
        return _result(namespace, name, True, f"job {name} was deleted while being canceled")
    if not row.cancel_answer:
        return _result(
            namespace,
            name,
            True,
            f"cancel of job {name} requested; no operator answered within {CANCEL_ANSWER_SECONDS:.0f} s",
        )
    return _result(namespace, name, True, row.cancel_answer)


async def delete(
    api: ApiClient, credentials: Credentials, namespace: str, name: str, force: bool = False
) -> dict[str, Any]:
    path = jobs_path(namespace, name)
    if force:
        patched = await api.request(
            "PATCH",
            path,
            credentials,
            {"metadata": {"annotations": {ANNOTATION_FORCE_DELETE: "true"}}},
            content_type=MERGE_PATCH,
        )
        if not patched.ok:
            return _result(namespace, name, False, patched.message, patched.status)
    answer = await api.request("DELETE", path, credentials, {"propagationPolicy": "Background"})
    if not answer.ok:
        return _result(namespace, name, False, answer.message, answer.status)
    return _result(namespace, name, True, f"job {name} deleted")
