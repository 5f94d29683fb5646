"""One reconcile pass over a scenario's jobs: from what the cluster says to what must change (no Kubernetes imports).

The operator gathers a ``ScenarioFacts`` snapshot (the scenario's DAG, data-node states, submissions, every Job with
its batch Job and pod) and executes the returned ``Plan``. The pass is level-based: it derives everything from the
snapshot, so running it twice, or after a restart, gives the same decisions. Within a pass jobs are visited in DAG
order with a working copy of the state, so a completion unblocks (or skips) its dependents in the same pass, as
Taipy's orchestrator does (§4.3).

Edit locks are not stored separately: a data node is being edited while some unfinished job that writes it exists and
has not released it (Taipy locks every output at submit, §4.2, and unlocks on write, skip, cancel, abandon or failure,
§4.3). Several holders may lock the same node (GLOBAL nodes, the same scenario submitted twice); unlike Taipy's
boolean lock, the node is ready again only when all of them are done (semantics.md §13.3).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from taipod.core.dag import Dag
from taipod.core.history import Transition, current_status
from taipod.core.jobs import JobView, abandon_on_failure, plan_cancel
from taipod.core.lifetime import DEADLINE_REASON
from taipod.core.readiness import NEVER_WRITTEN, DataNodeState, needs_to_run
from taipod.core.retry import Attempt, RetryStrategy, backoff_delay, next_attempt_at, should_retry
from taipod.core.status import FINISHED, NOT_STARTED, Status, SubmissionStatus
from taipod.core.submission_status import submission_status

__all__ = [
    "BAD_WAITING_REASONS",
    "DataNodeWrite",
    "JobChange",
    "JobFacts",
    "Plan",
    "PodFacts",
    "RunFacts",
    "ScenarioFacts",
    "SubmissionFacts",
    "SubmissionSummary",
    "TerminationReport",
    "parse_termination_message",
    "plan_scenario",
]

# Waiting reasons after which a pod will not start by itself; past the grace period the job FAILS (decisions).
BAD_WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


# What the scheduler says when a pod's volume keeps it off every node: a ReadWriteOnce claim bound to another node, a
# missing claim. Other unschedulable pods stay PENDING (a queue such as Kueue, or a cluster scaling up, frees them).
_VOLUME_CONFLICTS = (
    "volume node affinity conflict",  # the scheduler before Kubernetes 1.33
    "persistentvolume's node affinity",  # since: "didn't match PersistentVolume's node affinity"
    "persistentvolumeclaim",  # a claim that does not exist, or is not bound
)


def _succeeded(job: JobFacts) -> bool:
    """Whether the job's pod succeeded: its outputs are written, and observe_run records them (past a deadline too)."""
    return job.run is not None and job.run.pod is not None and job.run.pod.phase == "Succeeded"


def _volume_conflict(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _VOLUME_CONFLICTS)


def _volume_message(scheduler: str) -> str:
    return (
        f"the task's pod cannot mount its data volume on any node it may run on ({scheduler.strip()[:400]}). A "
        "ReadWriteOnce claim is mounted by one node at a time, and task pods of a scenario run on several nodes. "
        "Fix: use object storage (the chart's storage.type objectStore or s3), or a ReadWriteMany claim"
    )


@dataclass(frozen=True)
class PodFacts:
    """The pod of a job's batch Job, as its status reports it."""

    name: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    created_at: datetime
    deleting: bool = False
    started: bool = False  # the container ran (Running now or terminated after starting)
    waiting_reason: str | None = None
    waiting_message: str | None = None
    terminated_reason: str | None = None  # OOMKilled, Error, Completed, ...
    exit_code: int | None = None
    termination_message: str | None = None
    pod_reason: str | None = None  # pod.status.reason: Evicted, DeadlineExceeded, ...
    pod_message: str | None = None
    unschedulable: str | None = None  # the scheduler's message while it cannot place the pod
    running_seen_at: datetime | None = None  # when the operator first saw it Running (None: not known)
    started_at: datetime | None = None  # its container's start as the kubelet reports it (whole seconds)


@dataclass(frozen=True)
class RunFacts:
    """The batch/v1 Job running a taipod Job, and its newest pod."""

    batch_name: str
    batch_uid: str
    failed_reason: str | None = None  # the batch Job's Failed condition: DeadlineExceeded, BackoffLimitExceeded
    failed_message: str | None = None
    pod: PodFacts | None = None
    dispatched_at: datetime | None = None  # when the operator decided to create it (recorded on it: survives restarts)


@dataclass(frozen=True)
class JobFacts:
    """A Job resource and what runs it."""

    name: str
    submission: str
    task: str
    force: bool
    created_at: datetime
    history: tuple[Transition, ...] = ()  # empty: undecided, i.e. SUBMITTED
    batch_recorded: str | None = None  # uid of the batch Job recorded in the Job's status
    outputs_released: bool = False
    cancel_request: str | None = None  # "true" (Taipy's cancel) or "terminate" (also stop a RUNNING pod)
    cancel_handled: bool = False
    run: RunFacts | None = None
    pod_recorded: str | None = None  # the pod named in the Job's status
    retry: RetryStrategy | None = None  # the task's retry strategy (taipod's extension), None: no retry
    attempts: tuple[Attempt, ...] = ()  # finished attempts, as recorded in the Job's status
    batch_name: str | None = None  # the name of the current attempt's batch Job (run.batch_name once it exists)

    @property
    def status(self) -> Status:
        return current_status(self.history) or Status.SUBMITTED


@dataclass(frozen=True)
class SubmissionFacts:
    name: str
    created_at: datetime
    tasks: tuple[str, ...]  # the submitted entity's tasks, in execution order
    jobs_created: bool
    deadline: datetime | None = None  # spec.activeDeadlineSeconds after its creation (taipod's extension)


@dataclass(frozen=True)
class ScenarioFacts:
    dag: Dag
    states: Mapping[str, DataNodeState]  # data-node states; shared nodes already merged across scenarios
    external_locks: Mapping[str, frozenset[str]]  # shared data node -> unfinished jobs of *other* scenarios writing it
    submissions: Sequence[SubmissionFacts]
    jobs: Sequence[JobFacts]
    image_pull_grace: timedelta = timedelta(seconds=120)
    # A pod seen Running is recorded RUNNING only after this long, unless it ends first: a sub-second task is then
    # written once, RUNNING and its end together (each with its own time), rather than twice.
    running_after: timedelta = timedelta(0)
    # The dispatch window: the PENDING and RUNNING of a job just dispatched are written at the latest this long after
    # its dispatch, or with its end if it ends first (one write instead of three; every time kept). 0: at once. It
    # is also the running grace when longer: an intermediate status is never written more than this late.
    dispatch_window: timedelta = timedelta(0)


@dataclass
class JobChange:
    """What to write on one Job (status patch) and do with its batch Job."""

    name: str
    transitions: list[Transition] = field(default_factory=list)
    reason: str | None = None
    message: str | None = None
    stacktrace: list[str] | None = None
    exit_code: int | None = None
    pod: str | None = None
    outputs_released: bool | None = None
    cancel_outcome: str | None = None
    cancel_request: str | None = None  # the request the outcome answers
    record_batch: tuple[str, str] | None = None  # (name, uid) of an existing batch Job to record
    create_batch: bool = False
    delete_batch: bool = False
    batch_name: str | None = None  # the batch Job to delete (the current attempt's); None: the job's name
    attempts: tuple[Attempt, ...] | None = None  # the attempts to record (the whole list)
    next_attempt_at: datetime | None = None  # a retry waits its backoff until then
    clear: frozenset[str] = frozenset()  # status fields to remove: the previous attempt's batch Job, pod, ...
    # Nothing to write yet: the job was just dispatched and its PENDING (or RUNNING) waits for the dispatch window to
    # end or the job to finish (``create_batch`` still applies).
    deferred: bool = False

    def is_empty(self) -> bool:
        return self == JobChange(self.name)


@dataclass(frozen=True)
class DataNodeWrite:
    """A data node written by a completed job: its new last edit date and, when small, its value."""

    name: str
    at: datetime
    job: str
    value: Any = None
    has_value: bool = False


@dataclass(frozen=True)
class SubmissionSummary:
    name: str
    status: SubmissionStatus
    jobs: int
    counts: Mapping[str, int]
    finished: int


@dataclass
class Plan:
    job_changes: dict[str, JobChange] = field(default_factory=dict)
    data_node_writes: dict[str, DataNodeWrite] = field(default_factory=dict)
    submissions: dict[str, SubmissionSummary] = field(default_factory=dict)
    locks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # data node -> jobs holding its edit lock
    requeue_after: float | None = None  # seconds until a time-based decision is due (image-pull grace)

    def change(self, job: str) -> JobChange:
        return self.job_changes.setdefault(job, JobChange(job))


@dataclass(frozen=True)
class TerminationReport:
    """The runner's termination message (see taipod.runner): values on success, the error on failure."""

    ok: bool | None  # None: not a runner message (another image)
    error: str | None = None
    stacktrace: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    raw: str | None = None
    reason: str | None = None  # set by the runner when the store, not the task, failed: StorageUnavailable


def parse_termination_message(text: str | None) -> TerminationReport:
    if not text:
        return TerminationReport(ok=None)
    try:
        data = json.loads(text)
    except ValueError:
        return TerminationReport(ok=None, raw=text)
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        return TerminationReport(ok=None, raw=text)
    values: dict[str, Any] = {}
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        for name, entry in outputs.items():
            if isinstance(entry, dict) and "value" in entry:
                values[str(name)] = entry["value"]
    error = data.get("error")
    stack = data.get("stacktrace")
    reason = data.get("reason")
    return TerminationReport(
        ok=data["ok"],
        error=error if isinstance(error, str) else None,
        stacktrace=stack if isinstance(stack, str) else None,
        values=values,
        raw=text,
        reason=reason if isinstance(reason, str) and reason.isidentifier() else None,
    )


class _Pass:
    """The working state of one pass: statuses and locks as this pass has changed them so far."""

    def __init__(self, facts: ScenarioFacts, now: datetime) -> None:
        self.facts = facts
        self.now = now
        self.dag = facts.dag
        self.plan = Plan()
        self.jobs = {job.name: job for job in facts.jobs if job.task in self.dag.tasks}
        self.status = {name: job.status for name, job in self.jobs.items()}
        self.released = {name for name, job in self.jobs.items() if job.outputs_released}
        self.states = dict(facts.states)
        self.holders: dict[str, set[str]] = {}
        for name, job in self.jobs.items():
            if self._holds_lock(name):
                for dn in self.dag.tasks[job.task].outputs:
                    self.holders.setdefault(dn, set()).add(name)
        self.created = {sub.name for sub in facts.submissions if sub.jobs_created}
        self.running_grace = max(facts.running_after, facts.dispatch_window)

    # -- bookkeeping -------------------------------------------------------------------------------------------
    def _holds_lock(self, name: str) -> bool:
        return self.status[name] not in FINISHED and name not in self.released

    def _release(self, name: str) -> None:
        for dn in self.dag.tasks[self.jobs[name].task].outputs:
            self.holders.get(dn, set()).discard(name)

    def move(self, name: str, status: Status, reason: str | None = None, at: datetime | None = None) -> None:
        """Record a transition (idempotent) and release the job's locks when it finishes."""
        if self.status[name] is status:
            return
        self.plan.change(name).transitions.append(Transition(status, at or self.now, reason))
        self.status[name] = status
        if status in FINISHED:
            self._release(name)

    def view(self, name: str) -> JobView:
        job = self.jobs[name]
        task = self.dag.tasks[job.task]
        return JobView(name, job.task, job.submission, self.status[name], task.inputs, task.outputs)

    def views(self) -> list[JobView]:
        return [self.view(name) for name in self.jobs]

    def blocking(self, name: str) -> list[str]:
        task = self.dag.tasks[self.jobs[name].task]
        blocked = []
        for dn in task.inputs:
            state = self.states.get(dn, NEVER_WRITTEN)
            others = (self.holders.get(dn, set()) - {name}) | self.facts.external_locks.get(dn, frozenset())
            if state.last_edit_date is None or others:
                blocked.append(dn)
        return blocked

    # -- the steps -----------------------------------------------------------------------------------------------
    def cancel_requests(self) -> None:
        pending = [job for job in self.jobs.values() if job.cancel_request and not job.cancel_handled]
        # Requests seen in the same pass are handled upstream first: canceling an upstream job abandons its
        # dependents, whatever the order the requests were written in.
        order = {task: i for i, task in enumerate(self.dag.sorted_tasks())}
        for job in sorted(pending, key=lambda j: (order[j.task], j.created_at, j.name)):
            terminate = job.cancel_request == "terminate"
            result = plan_cancel(self.view(job.name), self.views(), terminate_running=terminate)
            change = self.plan.change(job.name)
            change.cancel_request = job.cancel_request
            if result.refused:
                change.cancel_outcome = result.refused
                continue
            cause = "was canceled" if result.canceled else f"was asked to cancel while {self.status[job.name].name}"
            for name in sorted(result.abandoned):
                self.move(name, Status.ABANDONED, f"upstream job {job.name} {cause}")
                self._stop(name)
            if result.canceled:
                self.move(job.name, Status.CANCELED, "canceled on request")
                self._stop(job.name)
                change.cancel_outcome = f"job {job.name} canceled" + (
                    f"; {len(result.abandoned)} dependent job(s) abandoned" if result.abandoned else ""
                )
            else:
                change.cancel_outcome = result.target_unchanged
                if self.status[job.name] is Status.RUNNING:
                    # Taipy unlocks a running target's outputs at once; it then completes and writes them (§5).
                    self.released.add(job.name)
                    self._release(job.name)
                    change.outputs_released = True

    def propagate_abandon(self) -> None:
        """Level-based form of Taipy's abandon step: the not-started dependents of a FAILED or CANCELED job, or of a
        job whose cancel was handled, are ABANDONED. Deriving it each pass (rather than only when the failure or
        cancel is seen) means a lost write, or a cancel request landing on a dependent meanwhile, cannot leave a
        dependent waiting forever."""
        views: list[JobView] | None = None
        for name in sorted(self.jobs):
            status = self.status[name]
            canceled = self.jobs[name].cancel_handled and status in (Status.RUNNING, Status.COMPLETED, Status.SKIPPED)
            if status not in (Status.FAILED, Status.CANCELED) and not canceled:
                continue
            if status is Status.FAILED:
                cause = "failed"
            elif status is Status.CANCELED:
                cause = "was canceled"
            else:  # a cancel request it outlived: it kept running, or had already finished
                cause = f"was asked to cancel while {self._status_when_canceled(name).name}"
            # The views are taken once per pass (not per failed job: that was quadratic). A dependent abandoned
            # meanwhile still looks not started in them, so a later search goes through it and reaches only jobs
            # the first search reached: the same set; `move` keeps the first reason.
            views = self.views() if views is None else views
            for dependent in sorted(abandon_on_failure(self.view(name), views)):
                self.move(dependent, Status.ABANDONED, f"upstream job {name} {cause}")
                self._stop(dependent)

        self._abandon_dependents_of_deleted_jobs()

    def _status_when_canceled(self, name: str) -> Status:
        """The status a job had when its cancel request was handled (RUNNING unless it had finished already)."""
        history = self.jobs[name].history
        handled = [t for t in history if t.status in (Status.RUNNING, Status.COMPLETED, Status.SKIPPED)]
        return handled[0].status if handled else self.status[name]

    def _abandon_dependents_of_deleted_jobs(self) -> None:
        """A job that disappears (force-deleted) leaves its not-started dependents ABANDONED, with that reason: they
        would otherwise wait forever for outputs it will never write. Its locks go with it (locks derive from the
        jobs that exist)."""
        present = {(job.submission, job.task) for job in self.jobs.values()}
        views: list[JobView] | None = None
        for sub in self.facts.submissions:
            if not sub.jobs_created:
                continue
            for task in sub.tasks:
                if (sub.name, task) in present or task not in self.dag.tasks:
                    continue
                views = self.views() if views is None else views
                definition = self.dag.tasks[task]
                gone = JobView(
                    f"{sub.name}/{task}", task, sub.name, Status.FAILED, definition.inputs, definition.outputs
                )
                for dependent in sorted(abandon_on_failure(gone, views)):
                    self.move(dependent, Status.ABANDONED, f"the job of upstream task {task} was deleted")
                    self._stop(dependent)

    def _stop(self, name: str) -> None:
        run = self.jobs[name].run
        if run is not None:
            change = self.plan.change(name)
            change.delete_batch = True
            change.batch_name = run.batch_name

    def deadlines(self) -> None:
        """A submission past its ``activeDeadlineSeconds``: every unfinished job of it ends FAILED with the reason
        SubmissionDeadlineExceeded (as Argo fails a workflow and its unfinished nodes), its pod is stopped, and no
        retry follows. Before the deadline, a pass is scheduled for it."""
        for sub in self.facts.submissions:
            if sub.deadline is None:
                continue
            names = sorted(
                n
                for n, job in self.jobs.items()
                if job.submission == sub.name and self.status[n] not in FINISHED and not _succeeded(job)
            )
            if not names:
                continue
            if self.now < sub.deadline:
                self._requeue((sub.deadline - self.now).total_seconds())
                continue
            message = f"submission {sub.name} ran past its activeDeadlineSeconds (deadline {sub.deadline.isoformat()})"
            for name in names:
                change = self.plan.change(name)
                change.reason, change.message = DEADLINE_REASON, message
                change.clear = change.clear | {"nextAttemptAt"}
                self.move(name, Status.FAILED, DEADLINE_REASON)
                self._stop(name)

    def observe_run(self, name: str) -> None:
        """PENDING/RUNNING: follow the batch Job and its pod."""
        job = self.jobs[name]
        run = job.run
        if run is None:
            if job.batch_recorded is not None:
                self.fail(name, "BatchJobDeleted", "the batch/v1 Job running this job was deleted before it finished")
            return
        if job.batch_recorded != run.batch_uid:
            self.plan.change(name).record_batch = (run.batch_name, run.batch_uid)
        pod = run.pod
        if pod is not None and pod.phase == "Succeeded":
            self.complete(name, pod)
            return
        if pod is not None and pod.phase == "Failed":
            if pod.deleting and run.failed_reason is None:
                return  # deleted by its Job controller (deadline) or out of band: its Job's condition says which
            self.fail_from_pod(name, pod, run)
            return
        if run.failed_reason is not None:
            if pod is not None and pod.started:
                self.move(name, Status.RUNNING, at=self._running_at(name, pod))
            if run.failed_reason == "BackoffLimitExceeded" and (pod is None or pod.deleting):
                # One pod and no retry: the Job gave up because its pod vanished, which is what the user must hear.
                self.fail(name, "PodDeleted", "the pod was deleted before the task finished")
            else:
                reason = run.failed_reason
                self.fail(name, reason, run.failed_message or f"the batch/v1 Job failed: {reason}")
            self._stop(name)
            return
        if pod is None:
            return
        if pod.phase == "Running" and not pod.deleting:
            # While its dispatch is not written yet (the job still SUBMITTED or BLOCKED) RUNNING rides along with that
            # write: no wait for the grace.
            if (
                self.status[name] is not Status.RUNNING
                and pod.running_seen_at is not None
                and job.status not in (Status.SUBMITTED, Status.BLOCKED)
            ):
                due = pod.running_seen_at + self.running_grace
                if self.now < due:
                    self._requeue((due - self.now).total_seconds())
                    return
            self.move(name, Status.RUNNING, at=self._running_at(name, pod))
            if job.pod_recorded != pod.name:  # once: a patch per pass for every running job would be waste
                self.plan.change(name).pod = pod.name
            return
        if pod.phase == "Pending" and pod.unschedulable and _volume_conflict(pod.unschedulable):
            due = pod.created_at + self.facts.image_pull_grace
            if self.now >= due:
                self.fail(name, "VolumeNotMountable", _volume_message(pod.unschedulable))
                self._stop(name)
            else:
                self._requeue((due - self.now).total_seconds())
            return
        if pod.phase == "Pending" and pod.waiting_reason in BAD_WAITING_REASONS:
            due = pod.created_at + self.facts.image_pull_grace
            if self.now >= due:
                self.fail(name, pod.waiting_reason or "", pod.waiting_message or pod.waiting_reason or "")
                self._stop(name)
            else:
                self._requeue((due - self.now).total_seconds())

    def _running_at(self, name: str, pod: PodFacts) -> datetime | None:
        """When the job started running: when the operator first saw its pod Running (to the microsecond, kept in its
        memory); else, after a restart or for a pod first seen finished, its container's start (whole seconds, a fact
        that survives restarts), never before its batch Job's dispatch; else now (None)."""
        if pod.running_seen_at is not None:
            return pod.running_seen_at
        if pod.started_at is None:
            return None
        run = self.jobs[name].run
        dispatched = run.dispatched_at if run is not None else None
        started = max(pod.started_at, dispatched) if dispatched is not None else pod.started_at
        return min(started, self.now)

    def _requeue(self, seconds: float) -> None:
        current = self.plan.requeue_after
        self.plan.requeue_after = seconds if current is None else min(current, seconds)

    def _attempt(self, name: str, status: Status, reason: str | None, message: str | None) -> Attempt:
        """The current attempt as it ends now (for jobs with a retry strategy)."""
        job = self.jobs[name]
        change = self.plan.change(name)
        previous = job.attempts[-1].finished_at if job.attempts else None
        transitions = [*job.history, *change.transitions]
        started = next(
            (
                t.at
                for t in reversed(transitions)
                if t.status is Status.RUNNING and (previous is None or t.at >= previous)
            ),
            None,
        )
        run = job.run
        return Attempt(
            number=len(job.attempts) + 1,
            batch=run.batch_name if run is not None else job.batch_name or name,
            finished_at=self.now,
            status=status,
            reason=reason,
            message=message[:1024] if message else None,
            started_at=started,
            pod=change.pod or (run.pod.name if run is not None and run.pod is not None else None),
            exit_code=change.exit_code,
        )

    def complete(self, name: str, pod: PodFacts) -> None:
        report = parse_termination_message(pod.termination_message)
        self.move(name, Status.RUNNING, at=self._running_at(name, pod))
        change = self.plan.change(name)
        change.pod = pod.name
        change.exit_code = 0
        job = self.jobs[name]
        if job.retry is not None:
            change.attempts = (*job.attempts, self._attempt(name, Status.COMPLETED, None, None))
            if job.attempts:
                change.clear = change.clear | {"message", "nextAttemptAt"}
        for dn in self.dag.tasks[self.jobs[name].task].outputs:
            has_value = dn in report.values
            self.plan.data_node_writes[dn] = DataNodeWrite(dn, self.now, name, report.values.get(dn), has_value)
            self.states[dn] = DataNodeState(last_edit_date=self.now)
        self.move(name, Status.COMPLETED)

    def fail_from_pod(self, name: str, pod: PodFacts, run: RunFacts) -> None:
        report = parse_termination_message(pod.termination_message)
        if pod.started:
            self.move(name, Status.RUNNING, at=self._running_at(name, pod))
        change = self.plan.change(name)
        change.pod = pod.name
        change.exit_code = pod.exit_code
        if report.ok is False:
            reason = report.reason or "TaskFailed"
            message = report.error or "the task raised an exception"
            change.stacktrace = [report.stacktrace] if report.stacktrace else None
        elif run.failed_reason == "DeadlineExceeded":
            reason, message = "DeadlineExceeded", run.failed_message or "the task ran past its timeoutSeconds"
        elif pod.pod_reason:  # Evicted, DeadlineExceeded, ...
            reason, message = pod.pod_reason, pod.pod_message or pod.pod_reason
        elif pod.terminated_reason == "OOMKilled":
            reason, message = "OOMKilled", "the task's container ran out of memory (exit code 137)"
        elif pod.deleting:
            reason, message = "PodDeleted", "the pod was deleted before the task finished"
        elif run.failed_reason is not None:
            reason, message = run.failed_reason, run.failed_message or run.failed_reason
        else:
            reason = pod.terminated_reason or "Error"
            message = f"the task's container exited with code {pod.exit_code}"
            if report.raw:
                message += f": {report.raw[-1000:]}"
        self.fail(name, reason, message)

    def fail(self, name: str, reason: str, message: str) -> None:
        """The current attempt failed: the job retries (back to PENDING, see ``retry``) or ends FAILED."""
        job = self.jobs[name]
        change = self.plan.change(name)
        if job.retry is not None:
            attempt = self._attempt(name, Status.FAILED, reason, message)
            change.attempts = (*job.attempts, attempt)
            # A job canceled while RUNNING keeps its status until its pod ends, but is never run again: its dependents
            # are ABANDONED and its outputs released already.
            if not job.cancel_request and should_retry(job.retry, reason, attempt.number):
                self._retry(name, attempt, job.retry)
                return
            change.clear = change.clear | {"nextAttemptAt"}
        change.reason = reason
        change.message = message
        self.move(name, Status.FAILED, reason)
        for dependent in sorted(abandon_on_failure(self.view(name), self.views())):
            self.move(dependent, Status.ABANDONED, f"upstream job {name} failed")
            self._stop(dependent)

    def _retry(self, name: str, attempt: Attempt, strategy: RetryStrategy) -> None:
        """Back to PENDING until the backoff is over; the next pass creates the next attempt's batch Job. The
        failed attempt's details stay in its attempt record, not at the top of the status."""
        change = self.plan.change(name)
        at = self.now + backoff_delay(strategy.backoff, attempt.number)
        change.next_attempt_at = at
        change.stacktrace = change.pod = change.exit_code = change.record_batch = None
        change.clear = change.clear | {"batchJob", "pod", "exitCode", "stacktrace", "reason"}
        change.message = (
            f"attempt {attempt.number} of at most {strategy.limit + 1} failed ({attempt.reason}): "
            f"{(attempt.message or '')[:300]}; next attempt at {at.isoformat()}"
        )
        self.move(name, Status.PENDING, f"Retry: attempt {attempt.number} failed ({attempt.reason})")
        self._requeue((at - self.now).total_seconds())

    def decide(self, name: str) -> None:
        """SUBMITTED -> BLOCKED or PENDING; BLOCKED -> PENDING once the inputs are ready; PENDING -> run or skip."""
        status = self.status[name]
        if status is Status.SUBMITTED:
            if self.jobs[name].submission not in self.created:
                return  # Taipy locks every output of the submission before deciding any job (§4.2)
            blocked = self.blocking(name)
            if blocked:
                self.move(name, Status.BLOCKED)
                self.plan.change(name).message = f"waiting for data node(s): {', '.join(blocked)}"
                return
            self.move(name, Status.PENDING)
        elif status is Status.BLOCKED:
            if self.blocking(name):
                return
            self.move(name, Status.PENDING)
        if self.status[name] is not Status.PENDING:
            return
        job = self.jobs[name]
        if job.run is not None or job.batch_recorded is not None:
            self.observe_run(name)  # already dispatched (perhaps before a restart): follow it, never re-decide
            return
        task = self.dag.tasks[job.task]
        if job.retry is not None and job.attempts:
            start = next_attempt_at(job.retry, job.attempts)
            if start is not None and self.now < start:
                self._requeue((start - self.now).total_seconds())  # the backoff of a retry
                return
        elif not needs_to_run(task, self.dag.data_nodes, self.states, self.now, job.force):
            self.move(name, Status.SKIPPED, "outputs are up to date")
            return
        self.plan.change(name).create_batch = True

    def catch_up(self) -> None:
        """A job still SUBMITTED or BLOCKED whose current attempt's batch Job exists was dispatched, by this operator
        (its write deferred by the dispatch window) or by an earlier life of it: it is PENDING since its dispatch,
        before anything else is decided (cancel, deadline, abandon), and is never decided again."""
        for name, job in self.jobs.items():
            if self.status[name] in (Status.SUBMITTED, Status.BLOCKED) and job.run is not None:
                self.move(name, Status.PENDING, at=job.run.dispatched_at)

    def defer(self) -> dict[str, Status]:
        """Hold back the writes of jobs just dispatched (see ``ScenarioFacts.dispatch_window``): a job whose PENDING
        is not written yet (still SUBMITTED or BLOCKED in its resource), that has not finished, and whose only change
        is that progress (PENDING, RUNNING, its batch Job and pod), is written once the window after its dispatch
        ends (and, running by then, once it has run the running grace), or with its end if it ends first. Returns
        the statuses its submission counts meanwhile: PENDING, never ahead of that (a submission is never RUNNING or
        finished before its jobs say so)."""
        window = self.facts.dispatch_window
        counted: dict[str, Status] = {}
        if window <= timedelta(0):
            return counted
        for name, change in list(self.plan.job_changes.items()):
            job = self.jobs.get(name)
            if job is None or job.status not in (Status.SUBMITTED, Status.BLOCKED):
                continue
            if self.status[name] not in (Status.PENDING, Status.RUNNING):
                continue
            if job.run is not None:
                dispatched = job.run.dispatched_at
            elif change.create_batch:
                dispatched = self.now
            else:
                continue
            if dispatched is None:
                continue
            due = dispatched + window
            pod = job.run.pod if job.run is not None else None
            if self.status[name] is Status.RUNNING and pod is not None and pod.running_seen_at is not None:
                # Running at the window's end: also the running grace, so a task ending within it is still written
                # once.
                due = max(due, pod.running_seen_at + self.running_grace)
            if self.now >= due:
                continue
            rest = replace(change, transitions=[], record_batch=None, pod=None, create_batch=False, batch_name=None)
            if not rest.is_empty() or change.delete_batch:
                continue  # something else must be written now (a cancel's answer, a retry's attempts, ...)
            if change.create_batch:
                self.plan.job_changes[name] = JobChange(name, create_batch=True, deferred=True)
            else:
                del self.plan.job_changes[name]
            counted[name] = Status.PENDING
            self._requeue(max((due - self.now).total_seconds(), 0.0))
        return counted

    def run(self) -> Plan:
        self.catch_up()
        self.propagate_abandon()
        self.cancel_requests()
        self.deadlines()
        order = {task: i for i, task in enumerate(self.dag.sorted_tasks())}
        submitted = {sub.name: (sub.created_at, sub.name) for sub in self.facts.submissions}
        far = (datetime.max.replace(tzinfo=self.now.tzinfo), "")
        for name in sorted(
            self.jobs,
            key=lambda n: (order[self.jobs[n].task], submitted.get(self.jobs[n].submission, far), n),
        ):
            status = self.status[name]
            if status in (Status.PENDING, Status.RUNNING) and (
                self.jobs[name].run is not None or self.jobs[name].batch_recorded is not None
            ):
                self.observe_run(name)
            elif status in NOT_STARTED:
                self.decide(name)
        counted = self.defer()
        self.summarise(counted)
        return self.plan

    def summarise(self, counted: Mapping[str, Status]) -> None:
        by_submission: dict[str, list[Status]] = {sub.name: [] for sub in self.facts.submissions}
        for name, job in self.jobs.items():
            by_submission.setdefault(job.submission, []).append(counted.get(name, self.status[name]))
        for sub, statuses in by_submission.items():
            counts = {status.name: 0 for status in Status}  # every key, so a merge patch drops stale counts
            for status in statuses:
                counts[status.name] = counts.get(status.name, 0) + 1
            finished = sum(1 for status in statuses if status in FINISHED)
            self.plan.submissions[sub] = SubmissionSummary(
                sub, submission_status(statuses), len(statuses), counts, finished
            )
        self.plan.locks = {dn: tuple(sorted(jobs)) for dn, jobs in self.holders.items() if jobs}


def plan_scenario(facts: ScenarioFacts, now: datetime) -> Plan:
    """Decide every change for one scenario's jobs; see the module docstring."""
    return _Pass(facts, now).run()


def merge_states(states: Iterable[DataNodeState]) -> DataNodeState:
    """A shared (GLOBAL or CYCLE) data node's state from the entries of every scenario declaring it: the latest
    write wins."""
    latest: DataNodeState = NEVER_WRITTEN
    for state in states:
        if state.last_edit_date is not None and (
            latest.last_edit_date is None or state.last_edit_date > latest.last_edit_date
        ):
            latest = replace(state, edit_in_progress=False, editor_job=None)
    return latest
