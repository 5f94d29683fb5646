"""The per-scenario work queue: gather a snapshot, plan, write the plan back.

Every watch event on a Scenario, Submission or Job (except the echo of the operator's own write), and every change of
what the operator reads of a batch Job or pod, marks its scenario dirty; one worker at a time
reconciles a given scenario (so its writes never race each other), a burst of events collapses into one pass, and a
pass re-reads everything from the caches, so it is level-based: a missed or repeated event changes nothing.

Writes are conditional on the resourceVersion they were decided on. The response of each write replaces the cached
copy at once (the "overlay") so the next pass does not act on a copy older than the operator's own writes; a
conflict means the cache was stale, and the watch event that follows triggers a fresh pass.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from taipod import storage
from taipod.api import datanodes
from taipod.core.dag import Dag, SpecErrors
from taipod.core.dispatch import upstream_end
from taipod.core.history import Transition, submission_times
from taipod.core.lifetime import deadline_of
from taipod.core.plan import (
    DataNodeWrite,
    JobChange,
    JobFacts,
    Plan,
    PodFacts,
    RunFacts,
    ScenarioFacts,
    SubmissionFacts,
    merge_states,
    plan_scenario,
)
from taipod.core.readiness import DataNodeState
from taipod.core.retry import strategy_from_spec
from taipod.core.status import FINISHED, Status
from taipod.operator import cleanup, manifests
from taipod.operator.config import OperatorConfig
from taipod.operator.events import EventPoster
from taipod.operator.kubeapi import ApiError, KubeApi, NotLeaderError, batch_path, custom_path
from taipod.operator.metrics import OperatorMetrics
from taipod.operator.names import format_time, job_name, label_value, parse_time
from taipod.operator.records import (
    BatchRecord,
    JobRecord,
    PodRecord,
    ScenarioRecord,
    SubmissionRecord,
    batch_record,
    job_record,
    pod_record,
    run_labels,
    scenario_record,
    submission_record,
)

__all__ = ["STORAGE_OBJECT", "Caches", "Reconciler", "job_statuses", "storage_location"]

STORAGE_OBJECT = "taipod-storage"  # the ConfigMap that says where a namespace's data lives
MANAGED = {"app.kubernetes.io/managed-by": "taipod"}
FOREIGN_JOB = "NotCreatedByTaipod"  # the reason of a Job resource the operator did not make
SUBMISSION_GRACE = 5.0  # seconds a submission may wait for its scenario to be created before it is refused


def storage_location(config: OperatorConfig) -> dict[str, str]:
    """What the SDK and the CLI need to find the data (published in each namespace's ConfigMap; no secret)."""
    return {
        "url": config.storage_url,
        "endpoint": config.storage_endpoint,
        "region": config.storage_region,
        "secret": config.storage_secret if config.storage_key else "",
        "pvc": config.storage_pvc if not storage.is_remote(config.storage_url) else "",
    }


log = logging.getLogger("taipod.operator")
Key = tuple[str, str]  # (namespace, scenario name)
R = TypeVar("R", JobRecord, ScenarioRecord, SubmissionRecord)


class Index(Protocol):
    """What the reconciler needs of a kopf index: key -> iterable of records."""

    def get(self, key: Any, default: Any = None) -> Any: ...


class Caches:
    """kopf's watch-fed indexes plus the overlay of the operator's own writes."""

    def __init__(self) -> None:
        self.jobs: Index = {}
        self.scenarios: Index = {}
        self.submissions: Index = {}
        self.batches: Index = {}
        self.pods: Index = {}
        self.shared: Index = {}
        self._overlay: dict[tuple[str, str, str], Any] = {}  # (kind, namespace, name) -> record

    def put(self, kind: str, record: JobRecord | ScenarioRecord | SubmissionRecord) -> None:
        key = (kind, record.namespace, record.name)
        old = self._overlay.get(key)
        if old is None or old.rv < record.rv:
            self._overlay[key] = record

    def is_own_write(self, kind: str, namespace: str, name: str, rv: int) -> bool:
        """Whether this version of the object is (or is older than) the response of the operator's own write: its
        watch event then brings nothing new, and the pass that wrote it already planned from it."""
        newer = self._overlay.get((kind, namespace, name))
        return newer is not None and newer.rv >= rv

    def forget(self, kind: str, namespace: str, name: str) -> None:
        self._overlay.pop((kind, namespace, name), None)

    def _merge(self, kind: str, records: Iterable[R], namespace: str, names: Iterable[str] = ()) -> dict[str, R]:
        merged: dict[str, R] = {r.name: r for r in records}
        for name in {*merged, *names}:
            newer = self._overlay.get((kind, namespace, name))
            if newer is None:
                continue
            if name in merged and merged[name].rv >= newer.rv:
                del self._overlay[(kind, namespace, name)]  # the watch caught up
            else:
                merged[name] = newer
        return merged

    def scenario(self, key: Key) -> ScenarioRecord | None:
        found = self._merge("scenario", self.scenarios.get(key) or (), key[0], [key[1]])
        return found.get(key[1])

    def scenario_jobs(self, key: Key, extra: Iterable[str] = ()) -> dict[str, JobRecord]:
        known = self.jobs.get(key) or ()
        pending = [
            name
            for (kind, ns, name), r in self._overlay.items()
            if kind == "job" and ns == key[0] and r.scenario == key[1]
        ]
        return self._merge("job", known, key[0], [*pending, *extra])

    def scenario_submissions(self, key: Key) -> dict[str, SubmissionRecord]:
        return self._merge("submission", self.submissions.get(key) or (), key[0])


class Reconciler:
    def __init__(
        self,
        config: OperatorConfig,
        api: KubeApi,
        caches: Caches,
        events: EventPoster,
        metrics: OperatorMetrics | None = None,
    ) -> None:
        self.config = config
        self.api = api
        self.caches = caches
        self.events = events
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="taipod-api")
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._running: set[Key] = set()
        self._dirty: set[Key] = set()
        self._dags: dict[tuple[str, int], Dag | SpecErrors] = {}
        self._provisioned: set[str] = set()
        self._running_seen: dict[tuple[str, str], datetime] = {}  # (namespace, pod) -> first seen Running
        # Batch Jobs this replica created, until the informer brings them ((namespace, name) -> record, when made):
        # a job whose PENDING write waits for the dispatch window is then not dispatched twice.
        self._made: dict[tuple[str, str], tuple[BatchRecord, float]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._open = asyncio.Event()
        self.leading = asyncio.Event()  # passes run only while set: cleared while this replica does not lead
        self.leading.set()
        self.metrics = metrics or OperatorMetrics()
        self.metrics.watch_queue(lambda: len(self._queued))
        self.passes = 0

    # -- queue -----------------------------------------------------------------------------------------------------
    def trigger(self, key: Key) -> None:
        if key in self._running:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def open(self) -> None:
        """Let passes run: called once every cache is complete (kopf runs event handlers only after its indexes are
        filled, the informers are listed before that), so no pass ever acts on a partial view of the cluster.
        Triggers before that are kept, not lost."""
        self._open.set()

    def trigger_later(self, key: Key, seconds: float) -> None:
        asyncio.get_running_loop().call_later(max(seconds, 0.05), self.trigger, key)

    def start(self, workers: int = 4) -> None:
        self._workers = [asyncio.create_task(self._work(), name=f"taipod-reconciler-{i}") for i in range(workers)]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        # Wait for the requests already sent: the caller releases the Lease next, and a standby that takes it at once
        # must not race this replica's last writes.
        shutdown = functools.partial(self.executor.shutdown, wait=True, cancel_futures=True)
        await asyncio.get_running_loop().run_in_executor(None, shutdown)

    async def _work(self) -> None:
        failures: dict[Key, int] = {}
        await self._open.wait()
        while True:
            await self.leading.wait()
            key = await self._queue.get()
            self._queued.discard(key)
            self._running.add(key)
            started = asyncio.get_running_loop().time()
            result = "error"
            try:
                await self.reconcile(key)
                failures.pop(key, None)
                result = "ok"
            except asyncio.CancelledError:
                raise
            except NotLeaderError:  # leadership lost during the pass: the next leader passes over it again
                self._dirty.add(key)
                result = "not_leader"
            except Exception as error:
                count = failures[key] = failures.get(key, 0) + 1
                delay = min(0.2 * 2**count, 30.0)
                expected = (isinstance(error, ApiError) and error.status == 409) or isinstance(
                    error, storage.StorageUnavailableError
                )
                level = logging.WARNING if expected else logging.ERROR
                log.log(
                    level,
                    "reconciling scenario %s/%s failed (retry in %.1fs): %s",
                    *key,
                    delay,
                    error,
                    exc_info=level == logging.ERROR,
                )
                self.trigger_later(key, delay)
            finally:
                self.metrics.pass_duration.labels(result).observe(asyncio.get_running_loop().time() - started)
                self._running.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.trigger(key)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- one pass --------------------------------------------------------------------------------------------------
    def dag(self, scenario: ScenarioRecord) -> Dag | SpecErrors:
        key = (scenario.uid, scenario.generation)
        if key not in self._dags:
            try:
                self._dags[key] = manifests.dag_from_spec(scenario.spec)
            except SpecErrors as errors:
                self._dags[key] = errors
            if len(self._dags) > 4096:  # scenarios deleted long ago
                self._dags.pop(next(iter(self._dags)))
        return self._dags[key]

    async def reconcile(self, key: Key) -> None:
        self.passes += 1
        scenario = self.caches.scenario(key)
        now = datetime.now(UTC)
        if scenario is None:
            await self._refuse_orphans(key, now)
            await self._trusted_jobs(self.caches.scenario_jobs(key), {}, None, now)
            return
        if scenario.deleting:
            return
        dag = self.dag(scenario)
        submissions = await self._own_submissions(scenario, self.caches.scenario_submissions(key), now)
        if isinstance(dag, SpecErrors):
            await self._mark_invalid(scenario, dag, submissions.values(), now)
            return
        scenario = await self._write_defaults(scenario, dag)
        await self._create_jobs(scenario, dag, submissions, now)
        jobs = await self._trusted_jobs(self.caches.scenario_jobs(key), submissions, dag, now)
        found = await self._drifted(key, jobs)
        facts = self._facts(scenario, dag, submissions, jobs, now, found)
        plan = plan_scenario(facts, now)
        await self._execute(scenario, dag, submissions, jobs, plan, now)
        # Retention (cleanup.py): finished submissions past their TTL, task pods of jobs finished long enough.
        await cleanup.expire_submissions(self, scenario, self.caches.scenario_submissions(key), now)
        await cleanup.remove_finished_pods(self, scenario, self.caches.scenario_jobs(key), now)

    async def _trusted_jobs(
        self,
        jobs: dict[str, JobRecord],
        submissions: Mapping[str, SubmissionRecord],
        dag: Dag | None,
        now: datetime,
    ) -> dict[str, JobRecord]:
        """The jobs this operator made: one per task of one of the scenario's submissions, under the name it gives
        (a hash of the submission instance and the task). Any other Job resource (made by hand, or naming a
        submission, scenario or task that does not exist) never runs: it is marked FAILED, which says why and lets
        it be deleted, and the plan never sees it."""
        expected: dict[str, tuple[str, str]] = {}
        for sub in submissions.values():
            if dag is None or sub.status.get("reason"):
                continue
            try:
                tasks = manifests.entity_tasks(dag, sub.sequence, sub.task)
            except KeyError:
                continue
            for task in tasks:
                expected[job_name(sub.name, task, sub.uid)] = (sub.name, task)
                expected.setdefault(job_name(sub.name, task), (sub.name, task))  # named before names had the uid
        trusted: dict[str, JobRecord] = {}
        refused = []
        known = {sub.uid for sub in submissions.values()}
        for name, job in jobs.items():
            if expected.get(name) == (job.submission, job.task):
                trusted[name] = job
            elif job.owner_uid is not None and job.owner_uid not in known:
                continue  # its submission is gone: the garbage collector deletes it
            elif not job.deleting and job.status.get("reason") != FOREIGN_JOB:
                refused.append(job)
        await _bounded(self._refuse_job(job, now) for job in refused)
        return trusted

    async def _refuse_job(self, job: JobRecord, now: datetime) -> None:
        message = (
            f"job {job.name} was not created by the taipod operator for submission {job.submission!r} (task "
            f"{job.task!r}): only the operator creates Job resources, one per task of a Submission. It never runs; "
            "delete it, and create a Submission to run the task"
        )
        created = job.history[0].at if job.history else job.created_at
        status = {
            "status": "FAILED",
            "reason": FOREIGN_JOB,
            "message": message,
            "history": [
                {"status": "SUBMITTED", "at": format_time(created)},
                {"status": "FAILED", "at": format_time(max(now, created)), "reason": FOREIGN_JOB},
            ],
            "finishedAt": format_time(max(now, created)),
            "conditions": manifests.job_conditions(Status.FAILED, job.generation, now),
        }
        try:
            body = await self.call(
                self.api.merge_patch, custom_path(job.namespace, "jobs", job.name, "status"), {"status": status}
            )
        except ApiError as error:
            if error.status != 404:
                raise
            return
        self.caches.put("job", job_record(body))
        log.warning("refused job %s/%s: %s", job.namespace, job.name, message)
        self.events.post(body, "Warning", FOREIGN_JOB, message)

    async def _refuse_orphans(self, key: Key, now: datetime) -> None:
        """Submissions of a scenario that does not exist are refused (once they are older than a short grace, in
        case the scenario is being created right after them), visibly and for good: a scenario created later under
        that name never runs them."""
        for sub in self.caches.scenario_submissions(key).values():
            if sub.deleting or sub.jobs_created or sub.status.get("reason"):
                continue
            wait = SUBMISSION_GRACE - (now - sub.created_at).total_seconds()
            if wait > 0:
                self.trigger_later(key, wait)
                continue
            message = f"spec.scenario: no scenario {sub.scenario!r} in namespace {sub.namespace}"
            await self._refuse(sub, "UnknownScenario", message, now)

    async def _own_submissions(
        self, scenario: ScenarioRecord, submissions: dict[str, SubmissionRecord], now: datetime
    ) -> dict[str, SubmissionRecord]:
        """The scenario's own submissions. One owned by an older scenario of the same name is left alone (the garbage
        collector deletes it with its scenario); one made before this scenario existed is refused; the others get the
        scenario as owner, so that deleting the scenario deletes them (Taipy's hierarchy)."""
        own: dict[str, SubmissionRecord] = {}
        for name, sub in submissions.items():
            if sub.owner_uid is not None and sub.owner_uid != scenario.uid:
                continue
            if sub.owner_uid is None and not sub.deleting and not sub.status.get("reason"):
                # Server times: one stored in the same second as its scenario (kubectl apply of both) is its own.
                if sub.stored_at < scenario.stored_at and not sub.jobs_created:
                    message = (
                        f"spec.scenario: submission {sub.name} was made before scenario {scenario.name} existed "
                        "(for a scenario of that name since deleted): submit again"
                    )
                    await self._refuse(sub, "UnknownScenario", message, now)
                    continue
                body = await self.call(
                    self.api.merge_patch,
                    custom_path(sub.namespace, "submissions", sub.name),
                    {"metadata": {"ownerReferences": [manifests.owner_reference("Scenario", scenario)]}},
                )
                owned = submission_record(body)
                self.caches.put("submission", owned)
                own[name] = owned
                continue
            own[name] = sub
        return own

    async def _refuse(self, sub: SubmissionRecord, reason: str, message: str, now: datetime) -> None:
        """A submission the operator cannot run: FAILED with no job, the reason and the message, finished (so a
        ``kubectl wait`` or ``taipod submit --wait`` returns at once, and it is deletable)."""
        if sub.status.get("reason") == reason and sub.status.get("message") == message[:1024]:
            return
        message = message[:1024]
        await self._patch_submission(
            sub,
            {
                "submissionStatus": "FAILED",
                "jobs": 0,
                "finished": "0/0",
                "reason": reason,
                "message": message,
                "conditions": [
                    manifests.condition("Accepted", False, reason, message, sub.generation, now),
                    manifests.condition("Finished", True, reason, message, sub.generation, now),
                    manifests.condition("Succeeded", False, reason, message, sub.generation, now),
                ],
            },
        )
        ref = {
            "apiVersion": "taipod.io/v1alpha1",
            "kind": "Submission",
            "metadata": {"name": sub.name, "namespace": sub.namespace, "uid": sub.uid},
        }
        self.events.post(ref, "Warning", reason, message)

    async def _mark_invalid(
        self, scenario: ScenarioRecord, errors: SpecErrors, submissions: Iterable[SubmissionRecord], now: datetime
    ) -> None:
        problems = [{"field": e.field, "message": e.message} for e in errors.errors[:100]]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:3])
        if len(problems) > 3:
            message += f" (and {len(problems) - 3} more in status.problems)"
        if (
            scenario.status.get("phase") != "Invalid"
            or scenario.status.get("observedGeneration") != scenario.generation
        ):
            patch = {
                "status": {
                    "phase": "Invalid",
                    "message": message,
                    "problems": problems,
                    "tasks": len(scenario.spec.get("tasks") or []),
                    "conditions": [manifests.condition("Ready", False, "Invalid", message, scenario.generation, now)],
                    "observedGeneration": scenario.generation,
                }
            }
            body = await self.call(
                self.api.merge_patch, custom_path(scenario.namespace, "scenarios", scenario.name, "status"), patch
            )
            self.caches.put("scenario", scenario_record(body))
            self.events.post(body, "Warning", "Invalid", message)
        for sub in submissions:
            if not sub.jobs_created and not sub.deleting:
                await self._refuse(sub, "InvalidScenario", f"scenario {scenario.name} is invalid: {message}", now)

    async def _patch_submission(self, sub: SubmissionRecord, status: dict[str, Any]) -> None:
        body = await self.call(
            self.api.merge_patch, custom_path(sub.namespace, "submissions", sub.name, "status"), {"status": status}
        )
        self.caches.put("submission", submission_record(body))

    async def _create_jobs(
        self, scenario: ScenarioRecord, dag: Dag, submissions: dict[str, SubmissionRecord], now: datetime
    ) -> None:
        """Create the Job resources of new submissions; only once all exist are the submission's jobs decided.

        The submission is then marked created for this pass only: ``_write_submissions`` records ``jobsCreated`` in
        the same patch as its first status (one write instead of two). Job names are deterministic, so a pass that
        dies before that write finds the jobs and creates none again.
        """
        new = [s for s in submissions.values() if not s.jobs_created and not s.deleting and not s.status.get("reason")]
        created = await _bounded((self._create_submission_jobs(scenario, dag, s, now) for s in new), limit=8)
        for sub, ok in zip(new, created, strict=True):
            if ok:
                submissions[sub.name] = dataclasses.replace(sub, jobs_created=True)

    async def _create_submission_jobs(
        self, scenario: ScenarioRecord, dag: Dag, sub: SubmissionRecord, now: datetime
    ) -> bool:
        try:
            tasks = manifests.entity_tasks(dag, sub.sequence, sub.task)
        except KeyError as error:
            await self._refuse(sub, "UnknownEntity", str(error.args[0]), now)
            return False
        names = [job_name(sub.name, task, sub.uid) for task in tasks]
        existing = self.caches.scenario_jobs((scenario.namespace, scenario.name), names)
        owner = {"metadata": {"name": sub.name, "uid": sub.uid}, "spec": {"scenario": sub.scenario}}
        missing = [(name, task) for name, task in zip(names, tasks, strict=True) if name not in existing]
        await _bounded(self._create_job(sub, owner, name, task, now) for name, task in missing)
        return True

    async def _create_job(
        self, sub: SubmissionRecord, owner: dict[str, Any], name: str, task: str, now: datetime
    ) -> None:
        body = manifests.job_resource(name, sub.namespace, owner, task, sub.force, now)
        try:
            created = await self.call(self.api.create, custom_path(sub.namespace, "jobs"), body)
        except ApiError as error:
            if error.status != 409:  # already there: created by an earlier life of the operator
                raise
            created = await self.call(self.api.get, custom_path(sub.namespace, "jobs", name))
        self.caches.put("job", job_record(created))

    def _states(self, scenario: ScenarioRecord, dag: Dag) -> tuple[dict[str, DataNodeState], dict[str, frozenset[str]]]:
        """Data-node states (shared nodes merged across the scenarios sharing them) and locks held elsewhere."""
        states: dict[str, DataNodeState] = {}
        external: dict[str, frozenset[str]] = {}
        for dn in dag.data_nodes.values():
            shared = manifests.shared_key(scenario.spec, dn)
            own = _state(scenario, dn.name, dn.has_default_data)
            if shared is None:
                states[dn.name] = own
                continue
            entries = [own]
            holders: set[str] = set()
            for other_name in self.caches.shared.get((scenario.namespace, shared)) or ():
                if other_name == scenario.name:
                    continue
                other = self.caches.scenario((scenario.namespace, other_name))
                if other is None:
                    continue
                other_dag = self.dag(other)
                if isinstance(other_dag, SpecErrors) or dn.name not in other_dag.data_nodes:
                    continue
                entries.append(_state(other, dn.name, other_dag.data_nodes[dn.name].has_default_data))
                for job in self.caches.scenario_jobs((other.namespace, other.name)).values():
                    if (
                        job.task in other_dag.tasks
                        and dn.name in other_dag.tasks[job.task].outputs
                        and _status(job) not in FINISHED
                        and not job.outputs_released
                    ):
                        holders.add(job.name)
            states[dn.name] = merge_states(entries)
            if holders:
                external[dn.name] = frozenset(holders)
        return states, external

    def _facts(
        self,
        scenario: ScenarioRecord,
        dag: Dag,
        submissions: Mapping[str, SubmissionRecord],
        jobs: Mapping[str, JobRecord],
        now: datetime,
        found: tuple[list[BatchRecord], list[PodRecord]] = ([], []),
    ) -> ScenarioFacts:
        key = (scenario.namespace, label_value(scenario.name))
        # By name: a retried job has a batch Job per attempt; the current attempt's is the one followed.
        batches: dict[str, BatchRecord] = {b.name: b for b in [*(self.caches.batches.get(key) or ()), *found[0]]}
        self._made_batches(scenario.namespace, batches)
        pods: dict[str, PodRecord] = {}  # by the name of the batch Job that made them
        for pod in [*(self.caches.pods.get(key) or ()), *found[1]]:
            current = pods.get(pod.job)
            if current is None or current.facts.created_at <= pod.facts.created_at:
                pods[pod.job] = pod
        states, external = self._states(scenario, dag)
        job_facts = []
        for job in jobs.values():
            if job.deleting:
                continue
            batch_name = manifests.current_batch_name(job)
            batch = batches.get(batch_name)
            if batch is not None and batch.job != job.name:
                batch = None  # another job's (never: names are unique), read as missing
            run = None
            if batch is not None:
                pod = pods.get(batch.name)
                pod_facts = self._with_running_seen(job, pod.facts, now) if pod else None
                run = RunFacts(
                    batch.name, batch.uid, batch.failed_reason, batch.failed_message, pod_facts, batch.dispatched_at
                )
            job_facts.append(
                JobFacts(
                    name=job.name,
                    submission=job.submission,
                    task=job.task,
                    force=job.force,
                    created_at=job.created_at,
                    history=job.history,
                    batch_recorded=job.batch_recorded,
                    outputs_released=job.outputs_released,
                    cancel_request=job.cancel_request,
                    cancel_handled=job.cancel_handled,
                    run=run,
                    pod_recorded=job.status.get("pod"),
                    retry=strategy_from_spec(scenario.task_specs.get(job.task), scenario.spec.get("retries")),
                    attempts=job.attempts,
                    batch_name=batch_name,
                )
            )
        subs = []
        for sub in submissions.values():
            try:
                tasks = tuple(manifests.entity_tasks(dag, sub.sequence, sub.task))
            except KeyError:
                tasks = ()
            subs.append(
                SubmissionFacts(
                    sub.name,
                    sub.created_at,
                    tasks,
                    sub.jobs_created,
                    deadline_of(sub.created_at, sub.active_deadline_seconds),
                )
            )
        return ScenarioFacts(
            dag,
            states,
            external,
            subs,
            job_facts,
            self.config.image_pull_grace,
            self.config.running_after,
            self.config.dispatch_window,
        )

    def _made_batches(self, namespace: str, batches: dict[str, BatchRecord]) -> None:
        """Add the batch Jobs this replica created that the informer has not brought yet; forget those it has (and
        any older than a minute: one deleted before the informer saw it must not be followed forever)."""
        if not self._made:
            return
        expired = asyncio.get_running_loop().time() - 60
        for key, (record, made) in list(self._made.items()):
            if made < expired or (key[0] == namespace and key[1] in batches):
                del self._made[key]
            elif key[0] == namespace:
                batches[key[1]] = record

    async def _drifted(self, key: Key, jobs: Mapping[str, JobRecord]) -> tuple[list[BatchRecord], list[PodRecord]]:
        """Batch Jobs and pods of running jobs whose taipod labels someone edited. The informers select and group by
        those labels, so an edited one leaves its scenario's view and would read as deleted (a false FAILED and
        abandoned dependents). Before that verdict the object is read by the name the job recorded and, if it is
        still this job's (same uid, its owner), used as it is; its labels are put back either way."""
        batches = {b.name: b for b in self.caches.batches.get(key) or ()}
        pods = {p.job: p for p in self.caches.pods.get(key) or ()}  # by their batch Job's name
        found: tuple[list[BatchRecord], list[PodRecord]] = ([], [])
        repairs: list[tuple[str, dict[str, str]]] = []  # (path, labels)
        for job in jobs.values():
            if job.deleting or _status(job) not in (Status.PENDING, Status.RUNNING) or job.batch_recorded is None:
                continue
            expected = manifests.run_labels(job)
            want = run_labels({"labels": expected})
            batch = batches.get(manifests.current_batch_name(job))
            if batch is None:
                body = await self._get_if_exists(batch_path(job.namespace, manifests.current_batch_name(job)))
                if body is None or body["metadata"].get("uid") != job.batch_recorded:
                    continue  # deleted indeed
                batch = batch_record(body)
                found[0].append(batch)
            if batch.labels != want:
                log.warning("the labels of batch Job %s/%s were edited: restored", job.namespace, batch.name)
                repairs.append((batch_path(job.namespace, batch.name), expected))
            pod = pods.get(batch.name)
            recorded = job.status.get("pod")
            if pod is None and recorded:
                body = await self._get_if_exists(f"/api/v1/namespaces/{job.namespace}/pods/{recorded}")
                owners = (body or {}).get("metadata", {}).get("ownerReferences") or []
                if not any(o.get("uid") == batch.uid for o in owners):
                    continue
                pod = pod_record(body or {})
                found[1].append(pod)
            if pod is not None and pod.labels != want:
                log.warning("the labels of pod %s/%s were edited: restored", job.namespace, pod.facts.name)
                repairs.append((f"/api/v1/namespaces/{job.namespace}/pods/{pod.facts.name}", expected))
        await _bounded(self._restore_labels(path, labels) for path, labels in repairs)
        return found

    async def _get_if_exists(self, path: str) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = await self.call(self.api.get, path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return body

    async def _restore_labels(self, path: str, labels: Mapping[str, str]) -> None:
        try:
            await self.call(self.api.merge_patch, path, {"metadata": {"labels": dict(labels)}})
        except ApiError as error:
            if error.status != 404:  # gone meanwhile: nothing to restore
                raise

    def _with_running_seen(self, job: JobRecord, pod: PodFacts, now: datetime) -> PodFacts:
        """The pod's facts with when this operator first saw it Running, while its job is not recorded RUNNING yet.

        Only a hint, kept in memory, to the microsecond: after a restart the plan falls back to the container's start
        (whole seconds), and a running pod is first seen again, which at worst costs the write that coalescing saves.
        """
        key = (job.namespace, pod.name)
        if _status(job) not in (Status.SUBMITTED, Status.BLOCKED, Status.PENDING):  # RUNNING recorded, or finished
            self._running_seen.pop(key, None)
            return pod
        seen: datetime | None = self._running_seen.get(key)
        if seen is None and pod.phase == "Running" and not pod.deleting:
            if len(self._running_seen) > 100_000:  # pods gone without ever being seen again: forget them all
                self._running_seen.clear()
            seen = self._running_seen[key] = now
        return dataclasses.replace(pod, running_seen_at=seen) if seen is not None else pod

    # -- writing the plan ----------------------------------------------------------------------------------------
    async def _execute(
        self,
        scenario: ScenarioRecord,
        dag: Dag,
        submissions: Mapping[str, SubmissionRecord],
        jobs: Mapping[str, JobRecord],
        plan: Plan,
        now: datetime,
    ) -> None:
        # 1. Data-node edits first: a job is COMPLETED only once its outputs' edit dates are recorded.
        await self._write_scenario_status(scenario, dag, plan, now)
        # 2. Run what is ready.
        creates = [c for c in plan.job_changes.values() if c.create_batch]
        if creates:
            await self._provision(scenario.namespace)
            made = await _bounded(self._create_batch(scenario, dag, jobs[c.name], c) for c in creates)
            dispatched = [jobs[c.name] for c, new in zip(creates, made, strict=True) if new]
            self._record_dispatches(scenario, dag, dispatched, jobs, datetime.now(UTC))
        # 3. Job statuses (not those of jobs just dispatched, written at the dispatch window's end or their end).
        changes = [c for c in plan.job_changes.values() if not c.is_empty() and not c.deferred and c.name in jobs]
        results = await _bounded(self._write_job(jobs[c.name], c, now) for c in changes)
        conflicts = sum(1 for ok in results if not ok)
        # 4. Stop what was canceled, abandoned or failed: only jobs whose new status was written. After a conflict the
        # next pass plans again from fresh state; a batch Job deleted before its outcome is recorded would read as
        # BatchJobDeleted (an infrastructure failure, never retried under OnFailure) instead of the real reason.
        written = {c.name for c, ok in zip(changes, results, strict=True) if ok}
        deletes = [c.batch_name or c.name for c in changes if c.delete_batch and c.name in written]
        await _bounded(self._delete_batch(scenario.namespace, name) for name in deletes)
        # 5. Submission statuses, derived from the jobs as they are now.
        await self._write_submissions(scenario, submissions, plan, now)
        if plan.requeue_after is not None:
            self.trigger_later((scenario.namespace, scenario.name), plan.requeue_after)
        if conflicts:
            self.trigger_later((scenario.namespace, scenario.name), 0.2)
        self._wake_sharers(scenario, dag, plan, jobs)

    def _wake_sharers(self, scenario: ScenarioRecord, dag: Dag, plan: Plan, jobs: Mapping[str, JobRecord]) -> None:
        """A shared data node written or unlocked here may unblock jobs of the other scenarios sharing it."""
        touched: set[str] = set(plan.data_node_writes)
        for change in plan.job_changes.values():
            if any(t.status in FINISHED for t in change.transitions) or change.outputs_released:
                job = jobs.get(change.name)
                if job is not None and job.task in dag.tasks:
                    touched.update(dag.tasks[job.task].outputs)
        for dn_name in touched:
            shared = manifests.shared_key(scenario.spec, dag.data_nodes[dn_name])
            if shared is None:
                continue
            for other in self.caches.shared.get((scenario.namespace, shared)) or ():
                if other != scenario.name:
                    self.trigger((scenario.namespace, other))

    async def _write_defaults(self, scenario: ScenarioRecord, dag: Dag) -> ScenarioRecord:
        """Store the default data of data nodes never written, then record those edits (at the scenario's creation,
        as Taipy dates default data), so tasks read every value from the store and none travels in a pod's spec.

        A shared (GLOBAL or CYCLE) node is one entity: once any scenario sharing it has recorded an edit, its value is
        that one and this scenario's default is not written over it (Taipy creates a global node once). Idempotent: a
        pass that dies between the upload and the status write uploads the same bytes again.
        """
        pending = []
        for dn in dag.data_nodes.values():
            if not dn.has_default_data or (scenario.data_nodes.get(dn.name) or {}).get("lastEditDate"):
                continue
            if manifests.shared_key(scenario.spec, dn) is not None and self._shared_written(scenario, dn.name):
                continue
            pending.append(dn)
        if not pending:
            return scenario
        await self._provision(scenario.namespace)
        access = self.config.access()

        def upload(dn: Any) -> None:
            value = scenario.dn_specs[dn.name].get("defaultData")
            storage.write(manifests.data_node_url(self.config, scenario, dn), dn.storage_type, value, access)

        await _bounded((self.call(upload, dn) for dn in pending), limit=8)
        created = format_time(scenario.created_at)
        desired = {name: dict(entry) for name, entry in scenario.data_nodes.items()}
        for dn in pending:
            entry = desired.setdefault(dn.name, {})
            entry["lastEditDate"] = created
            value = scenario.dn_specs[dn.name].get("defaultData")
            if datanodes.inlinable(value):
                entry["value"] = value
        status = datanodes.status_fields(scenario.data_nodes, scenario.data_nodes_packed, desired)
        patch = {"metadata": {"resourceVersion": str(scenario.rv)}, "status": status}
        body = await self.call(
            self.api.merge_patch, custom_path(scenario.namespace, "scenarios", scenario.name, "status"), patch
        )
        record = scenario_record(body)
        self.caches.put("scenario", record)
        return record

    def _shared_written(self, scenario: ScenarioRecord, dn_name: str) -> bool:
        """Whether another scenario sharing this GLOBAL or CYCLE node has recorded an edit of it."""
        dag = self.dag(scenario)
        if isinstance(dag, SpecErrors):
            return False
        shared = manifests.shared_key(scenario.spec, dag.data_nodes[dn_name])
        for other_name in self.caches.shared.get((scenario.namespace, shared)) or ():
            other = self.caches.scenario((scenario.namespace, other_name))
            if (
                other is not None
                and other.name != scenario.name
                and (other.data_nodes.get(dn_name) or {}).get("lastEditDate")
            ):
                return True
        return False

    async def _write_scenario_status(self, scenario: ScenarioRecord, dag: Dag, plan: Plan, now: datetime) -> None:
        current = scenario.data_nodes
        desired: dict[str, dict[str, Any]] = {}
        for dn in dag.data_nodes.values():
            entry = dict(current.get(dn.name) or {})
            write = plan.data_node_writes.get(dn.name)
            if write is not None:
                entry.update(_written(write))
            holders = plan.locks.get(dn.name)
            entry["editInProgress"] = True if holders else None
            entry["editor"] = holders[0] if holders else None
            # Derivable fields are not stored (the URL follows from status.storageRoot and the spec): with
            # thousands of data nodes every byte per entry counts against etcd's request limit.
            entry["url"] = entry["lastEditJob"] = None
            desired[dn.name] = entry  # None values mean absent
        status: dict[str, Any] = datanodes.status_fields(current, scenario.data_nodes_packed, desired)
        # What the delete guard reads: a scenario with unfinished submissions is not deletable (Taipy's is_deletable).
        unfinished = sum(
            1 for summary in plan.submissions.values() if summary.jobs and not summary.status.is_finished()
        )
        if (scenario.status.get("unfinishedSubmissions") or 0) != unfinished:
            status["unfinishedSubmissions"] = unfinished
        if scenario.status.get("phase") != "Ready" or scenario.status.get("observedGeneration") != scenario.generation:
            status.update(
                {
                    "phase": "Ready",
                    "message": None,
                    "problems": None,
                    "tasks": len(dag.tasks),
                    "storageRoot": self.config.storage_url,
                    "storageEndpoint": self.config.storage_endpoint or None,
                    "conditions": [
                        manifests.condition("Ready", True, "Valid", "the scenario is valid", scenario.generation, now)
                    ],
                    "observedGeneration": scenario.generation,
                }
            )
        if not status:
            return
        if status.get("phase") == "Ready":
            await self._provision(scenario.namespace)  # the SDK may write inputs as soon as the scenario is Ready
        # Conditional on the version read: the entries of data nodes shared or written by the SDK are merged from it.
        patch = {"metadata": {"resourceVersion": str(scenario.rv)}, "status": status}
        body = await self.call(
            self.api.merge_patch, custom_path(scenario.namespace, "scenarios", scenario.name, "status"), patch
        )
        self.caches.put("scenario", scenario_record(body))
        if status.get("phase") == "Ready":
            self.events.post(body, "Normal", "Ready", f"scenario with {len(dag.tasks)} task(s) is valid")

    async def _provision(self, namespace: str) -> None:
        """The runner's ServiceAccount and the data volume claim, once per namespace (created if missing)."""
        if namespace in self._provisioned:
            return
        wanted: list[tuple[str, dict[str, Any]]] = []
        if self.config.runner_service_account:
            wanted.append(
                (
                    f"/api/v1/namespaces/{namespace}/serviceaccounts",
                    {
                        "metadata": {
                            "name": self.config.runner_service_account,
                            "labels": {"app.kubernetes.io/managed-by": "taipod"},
                        },
                        "automountServiceAccountToken": False,
                    },
                )
            )
        if self.config.storage_pvc and not storage.is_remote(self.config.storage_url):
            pvc_spec: dict[str, Any] = {
                "accessModes": list(self.config.storage_access_modes),
                "resources": {"requests": {"storage": self.config.storage_size}},
            }
            if self.config.storage_class:
                pvc_spec["storageClassName"] = self.config.storage_class
            wanted.append(
                (
                    f"/api/v1/namespaces/{namespace}/persistentvolumeclaims",
                    {
                        "metadata": {
                            "name": self.config.storage_pvc,
                            "labels": {"app.kubernetes.io/managed-by": "taipod"},
                        },
                        "spec": pvc_spec,
                    },
                )
            )
        for path, body in wanted:
            await self._ensure(path, body, update=False)
        # Where the namespace's data lives, for the SDK and the CLI (never a secret value), and the credentials task
        # pods take from their namespace.
        published = storage_location(self.config)
        await self._ensure(
            f"/api/v1/namespaces/{namespace}/configmaps",
            {
                "metadata": {"name": STORAGE_OBJECT, "labels": {"app.kubernetes.io/managed-by": "taipod"}},
                "data": published,
            },
            update=True,
        )
        if self.config.storage_secret and self.config.storage_key and self.config.storage_secret_key:
            data = {
                "AWS_ACCESS_KEY_ID": self.config.storage_key,
                "AWS_SECRET_ACCESS_KEY": self.config.storage_secret_key,
            }
            if self.config.storage_endpoint:
                data["AWS_ENDPOINT_URL"] = self.config.storage_endpoint
            await self._ensure(
                f"/api/v1/namespaces/{namespace}/secrets",
                {
                    "metadata": {
                        "name": self.config.storage_secret,
                        "labels": {"app.kubernetes.io/managed-by": "taipod"},
                    },
                    "type": "Opaque",
                    "stringData": data,
                },
                update=True,
                compare=lambda current: (
                    {k: base64.b64decode(v).decode() for k, v in (current.get("data") or {}).items()} == data
                ),
            )
        self._provisioned.add(namespace)

    async def _ensure(
        self,
        path: str,
        body: dict[str, Any],
        update: bool,
        compare: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Create ``body`` at ``path`` if missing; with ``update``, patch it when it differs (``compare``, or its
        ``data``)."""
        name = body["metadata"]["name"]
        try:
            current = await self.call(self.api.get, f"{path}/{name}")
        except ApiError as error:
            if error.status != 404:
                raise
            try:
                await self.call(self.api.create, path, body)
            except ApiError as create_error:
                if create_error.status != 409:
                    raise
            return
        if not update:
            return
        same = compare(current) if compare is not None else current.get("data") == body.get("data")
        if not same:
            await self.call(self.api.merge_patch, f"{path}/{name}", {k: v for k, v in body.items() if k != "metadata"})

    async def _create_batch(self, scenario: ScenarioRecord, dag: Dag, job: JobRecord, change: JobChange) -> bool:
        """Whether the batch Job was created now (False: it existed)."""
        task_spec = scenario.task_specs[job.task]
        # Its dispatch time, recorded on it: the job's PENDING time, and where its dispatch window starts.
        body = manifests.batch_job(self.config, job, scenario, dag, task_spec, datetime.now(UTC))
        new = True
        try:
            created = await self.call(self.api.create, batch_path(job.namespace), body)
        except ApiError as error:
            if error.status != 409:
                raise
            created = await self.call(self.api.get, batch_path(job.namespace, body["metadata"]["name"]))
            new = False
        change.record_batch = (created["metadata"]["name"], created["metadata"]["uid"])
        record = batch_record(created)
        self._made[(record.namespace, record.name)] = (record, asyncio.get_running_loop().time())
        return new

    async def _write_job(self, job: JobRecord, change: JobChange, now: datetime) -> bool:
        patch = manifests.job_status_patch(job, change, now)
        try:
            body = await self.call(self.api.merge_patch, custom_path(job.namespace, "jobs", job.name, "status"), patch)
        except ApiError as error:
            if error.status in (404, 409):  # gone, or changed since read: the next pass decides again
                return False
            raise
        self.caches.put("job", job_record(body))
        self.metrics.record_transitions(t.status for t in change.transitions)
        event = transition_event(change)
        if event is not None:
            self.events.post(body, *event)
        if change.cancel_outcome:  # the answer to a user's request: posted unless Events are off
            self.events.post(body, "Normal", "CancelRequest", change.cancel_outcome, notable=True)
        return True

    def _record_dispatches(
        self,
        scenario: ScenarioRecord,
        dag: Dag,
        created: list[JobRecord],
        jobs: Mapping[str, JobRecord],
        now: datetime,
    ) -> None:
        """The dispatch-latency metric: from the end of each created job's last upstream pod to now."""
        pods = self.caches.pods.get((scenario.namespace, label_value(scenario.name))) or ()
        ended = {pod.job: pod.ended_at for pod in pods if pod.ended_at is not None}
        ends: dict[str, dict[str, datetime]] = {}  # submission -> task -> its pod's end
        for job in jobs.values():
            end = ended.get(manifests.current_batch_name(job))  # pods name their batch Job: the job's latest attempt
            if end is not None:
                ends.setdefault(job.submission, {})[job.task] = end
        for job in created:
            if not job.attempts:  # a retry waited for its backoff, not for dispatch
                self.metrics.record_dispatch(upstream_end(dag, job.task, ends.get(job.submission, {})), now)

    async def _delete_batch(self, namespace: str, name: str) -> None:
        try:
            await self.call(self.api.delete, batch_path(namespace, name))
        except ApiError as error:
            if error.status != 404:
                raise

    async def _write_submissions(
        self, scenario: ScenarioRecord, submissions: Mapping[str, SubmissionRecord], plan: Plan, now: datetime
    ) -> None:
        jobs = self.caches.scenario_jobs((scenario.namespace, scenario.name))
        histories: dict[str, list[Any]] = {}
        for job in jobs.values():
            if job.status.get("reason") == FOREIGN_JOB:
                continue
            # A job not written yet (its dispatch held back by the window) was SUBMITTED at its creation, as its first
            # write will say: the submission's submittedAt does not wait for it (nor cost a second write).
            histories.setdefault(job.submission, []).append(job.history or _submitted_at(job.created_at))
        writes = []
        for name, summary in plan.submissions.items():
            sub = submissions.get(name)
            if sub is None or not sub.jobs_created or _finished(sub):
                continue  # a finished submission's status is final: deleting its jobs later does not rewind it
            times = submission_times(histories.get(name, []))
            status = {
                "submissionStatus": summary.status.name,
                "jobs": summary.jobs,
                "jobsCreated": True,
                "counts": dict(summary.counts),
                "finished": f"{summary.finished}/{summary.jobs}",
                "submittedAt": times.submitted_at and format_time(times.submitted_at),
                "runAt": times.run_at and format_time(times.run_at),
                "finishedAt": times.finished_at and format_time(times.finished_at),
                "observedGeneration": sub.generation,
            }
            if all(sub.status.get(k) == v for k, v in status.items()):
                continue
            status["conditions"] = [
                manifests.condition(
                    "Accepted", True, "JobsCreated", f"{summary.jobs} job(s) created", sub.generation, now
                ),
                manifests.condition(
                    "Finished",
                    summary.status.is_finished(),
                    summary.status.name.capitalize(),
                    f"the submission is {summary.status.name}",
                    sub.generation,
                    now,
                ),
                _succeeded(summary.status, sub.generation, now),
            ]
            writes.append(self._write_submission(sub, status))
        await _bounded(writes)

    async def _write_submission(self, sub: SubmissionRecord, status: dict[str, Any]) -> None:
        await self._patch_submission(sub, status)
        if sub.status.get("submissionStatus") != status["submissionStatus"]:
            ref = {
                "apiVersion": "taipod.io/v1alpha1",
                "kind": "Submission",
                "metadata": {"name": sub.name, "namespace": sub.namespace, "uid": sub.uid},
            }
            name = status["submissionStatus"]
            # A failed or canceled submission is a Warning, so `kubectl describe tpsub` shows it by default.
            type_ = "Warning" if name in ("FAILED", "CANCELED") else "Normal"
            self.events.post(ref, type_, name.capitalize(), f"submission is {name}")


def transition_event(change: JobChange) -> tuple[str, str, str] | None:
    """One Event per status write (type, reason, message), however many transitions it records (the dispatch window
    writes PENDING, RUNNING and the end together): named after the status entered last, listing the others, a
    Warning if any of them is a failure, an abandon or a retry. None when the write records no transition."""
    if not change.transitions:
        return None
    last = change.transitions[-1]
    failed = any(
        t.status.name in ("FAILED", "ABANDONED") or (t.reason or "").startswith("Retry:") for t in change.transitions
    )
    message = last.status.name + (f": {last.reason}" if last.reason else "")
    if last.status.name == "FAILED" and change.message:
        message += f" ({change.message[:200]})"
    earlier = change.transitions[:-1]
    if earlier:
        message += " (after " + ", ".join(t.status.name + (f": {t.reason}" if t.reason else "") for t in earlier) + ")"
    return ("Warning" if failed else "Normal", last.status.name.capitalize(), message)


def _submitted_at(created: datetime) -> tuple[Transition, ...]:
    return (Transition(Status.SUBMITTED, created),)


def _succeeded(status: Any, generation: int, now: datetime) -> dict[str, Any]:
    """Tekton's ``Succeeded``: True once COMPLETED, False once finished otherwise, Unknown before."""
    reason, message = status.name.capitalize(), f"the submission is {status.name}"
    found = manifests.condition("Succeeded", status.name == "COMPLETED", reason, message, generation, now)
    return found if status.is_finished() else {**found, "status": "Unknown"}


def _finished(sub: SubmissionRecord) -> bool:
    """Whether the submission's recorded status is final: every one of its jobs finished (a FAILED submission whose
    other branch still runs is not final yet: its counts still move)."""
    done, _, total = str(sub.status.get("finished") or "").partition("/")
    return bool(total) and done == total and int(total) > 0


def job_statuses(index: Index) -> Iterable[Status]:
    """The status of every job of a jobs index (the jobs-by-status metric)."""
    for records in index.values():  # type: ignore[attr-defined]
        for job in records:
            yield _status(job)


def _status(job: JobRecord) -> Status:
    return job.history[-1].status if job.history else Status.SUBMITTED


def _state(scenario: ScenarioRecord, name: str, has_default: bool) -> DataNodeState:
    """A data node's recorded state. Default data counts as written at creation (§9) once the operator has stored it
    (``_write_defaults`` records that edit before any job of the scenario is planned)."""
    del has_default
    entry = scenario.data_nodes.get(name) or {}
    text = entry.get("lastEditDate")
    return DataNodeState(last_edit_date=parse_time(text)) if text else DataNodeState()


def _written(write: DataNodeWrite) -> dict[str, Any]:
    entry: dict[str, Any] = {"lastEditDate": format_time(write.at), "value": None}
    if write.has_value and datanodes.inlinable(write.value):
        entry["value"] = write.value
    return entry


async def _bounded(coroutines: Iterable[Any], limit: int = 24) -> list[Any]:
    """Run API calls concurrently, at most ``limit`` at a time, in order of results."""
    semaphore = asyncio.Semaphore(limit)

    async def guarded(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return list(await asyncio.gather(*(guarded(c) for c in coroutines)))
