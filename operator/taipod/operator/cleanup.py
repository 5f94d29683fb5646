"""Time-to-live of finished submissions and removal of finished jobs' task pods (taipod's extensions to Taipy).

Both are decided from recorded times (the submission's ``status.finishedAt``, the job's last history entry), so a
restarted operator deletes on time too; a pass is scheduled for the next due time. Only what is finished is touched:
a submission's status is final once every one of its jobs finished (the delete guard then lets it go, and the garbage
collector deletes its jobs, their batch Jobs and pods through the owner references), and a job's outcome, message,
stacktrace and history are in the Job resource before its batch Job and pod are deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from taipod.core.lifetime import due, first_set
from taipod.core.status import FINISHED
from taipod.operator.kubeapi import ApiError, batch_path, custom_path
from taipod.operator.names import label_value, parse_time
from taipod.operator.records import JobRecord, ScenarioRecord, SubmissionRecord

if TYPE_CHECKING:
    from taipod.operator.reconciler import Reconciler

__all__ = ["expire_submissions", "remove_finished_pods", "submission_ttl"]


def submission_ttl(sub: SubmissionRecord, scenario: ScenarioRecord, default: int | None) -> timedelta | None:
    """The submission's ttlSecondsAfterFinished, else its scenario's, else the operator's (None: kept)."""
    spec_default = scenario.spec.get("ttlSecondsAfterFinished")
    seconds = first_set(
        sub.ttl_seconds_after_finished, spec_default if isinstance(spec_default, int) else None, default
    )
    return None if seconds is None else timedelta(seconds=seconds)


def _final(sub: SubmissionRecord) -> bool:
    done, _, total = str(sub.status.get("finished") or "").partition("/")
    return bool(total) and done == total and int(total) > 0


async def expire_submissions(
    reconciler: Reconciler, scenario: ScenarioRecord, submissions: Mapping[str, SubmissionRecord], now: datetime
) -> None:
    soonest: float | None = None
    for sub in submissions.values():
        if sub.deleting or sub.owner_uid != scenario.uid or not _final(sub):
            continue
        finished_at = sub.status.get("finishedAt")
        when = due(
            parse_time(finished_at) if finished_at else None,
            submission_ttl(sub, scenario, reconciler.config.submission_ttl_seconds),
            now,
        )
        if when is None:
            continue
        if not when.now:
            soonest = when.in_seconds if soonest is None else min(soonest, when.in_seconds)
            continue
        try:
            await reconciler.call(reconciler.api.delete, custom_path(sub.namespace, "submissions", sub.name))
        except ApiError as error:
            if error.status != 404:
                raise
        reconciler.events.post(
            {
                "apiVersion": "taipod.io/v1alpha1",
                "kind": "Scenario",
                "metadata": {"name": scenario.name, "namespace": scenario.namespace, "uid": scenario.uid},
            },
            "Normal",
            "SubmissionExpired",
            f"submission {sub.name} deleted {int((now - parse_time(str(finished_at))).total_seconds())}s after it "
            "finished (ttlSecondsAfterFinished)",
        )
    if soonest is not None:  # one timer per scenario and pass, for the first one due
        reconciler.trigger_later((scenario.namespace, scenario.name), soonest)


async def remove_finished_pods(
    reconciler: Reconciler, scenario: ScenarioRecord, jobs: Mapping[str, JobRecord], now: datetime
) -> None:
    """Delete the batch Jobs (and so the pods) of jobs finished for longer than TAIPOD_TASK_POD_DELETE_AFTER_SECONDS,
    every attempt's."""
    delay = reconciler.config.task_pod_delete_after
    if delay is None:
        return
    soonest: float | None = None
    doomed: list[str] = []
    by_job: dict[str, list[str]] = {}
    for batch in reconciler.caches.batches.get((scenario.namespace, label_value(scenario.name))) or ():
        by_job.setdefault(batch.job, []).append(batch.name)
    for job in jobs.values():
        names = by_job.get(job.name)
        if not names or not job.history or job.history[-1].status not in FINISHED:
            continue
        when = due(job.history[-1].at, delay, now)
        if when is None:
            continue
        if not when.now:
            soonest = when.in_seconds if soonest is None else min(soonest, when.in_seconds)
            continue
        doomed.extend(batch_path(job.namespace, name) for name in names)
    semaphore = asyncio.Semaphore(16)

    async def delete(path: str) -> None:
        async with semaphore:
            try:
                await reconciler.call(reconciler.api.delete, path)
            except ApiError as error:
                if error.status != 404:  # gone already
                    raise

    await asyncio.gather(*(delete(path) for path in doomed))
    if soonest is not None:
        reconciler.trigger_later((scenario.namespace, scenario.name), soonest)
