"""``taipod resubmit SUBMISSION [--force]`` and ``taipod retry SUBMISSION|JOB``: run a finished submission again.

- ``resubmit`` (argo resubmit): a new Submission of the same target (the scenario, its sequence or its task); every
  task runs again by Taipy's rules (``--force`` also runs skippable tasks whose outputs are up to date).
- ``retry`` (argo retry, mapped to Taipy): re-runs what did not complete, as one new Submission. The tasks to re-run are
  those whose jobs ended FAILED, CANCELED or ABANDONED. One such task: a submission of that task alone, so nothing
  else runs. Several: a submission of the same target without force, so the completed jobs of skippable tasks are
  SKIPPED by the operator (their outputs are up to date); a completed task that is not skippable runs again, as Taipy
  always runs non-skippable tasks, and retry names them. ``retry JOB`` re-runs that one job's task. A submission or
  job not finished yet, or one with nothing to retry, is refused (exit 1) with the fix.

``retry_plan`` is pure (tests/unit/test_cli_rerun.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from taipod.api.models import API_VERSION
from taipod.cli import tables
from taipod.cli.reading import add_selection_arguments
from taipod.cli.session import (
    EPILOG,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    CliError,
    check_namespace,
    connect,
    get_object,
    list_objects,
)
from taipod.operator.kubeapi import ApiError, KubeApi, custom_path

__all__ = ["RetryPlan", "add_parser", "retry_plan"]

JOB_FINISHED = frozenset({"COMPLETED", "FAILED", "SKIPPED", "CANCELED", "ABANDONED"})
RETRIED = frozenset({"FAILED", "CANCELED", "ABANDONED"})
SUBMISSION_FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED"})

Obj = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class RetryPlan:
    spec: dict[str, Any]  # the new Submission's spec
    rerun: tuple[str, ...]  # the tasks whose jobs did not complete
    also_rerun: tuple[str, ...]  # completed tasks that run again (not skippable)


def _target(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in ("scenario", "sequence", "task") if spec.get(k)}


def retry_plan(submission: Obj, jobs: Sequence[Obj], scenario: Obj) -> RetryPlan:
    """What ``retry SUBMISSION`` submits; CliError (exit 1) when the submission is not finished or all completed."""
    name = submission["metadata"]["name"]
    status = str((submission.get("status") or {}).get("submissionStatus") or "SUBMITTED")
    unfinished = [j for j in jobs if (j.get("status") or {}).get("status") not in JOB_FINISHED]
    if status not in SUBMISSION_FINISHED or unfinished:
        raise CliError(
            f"submission {name} is {status} and not finished, so it is not retried: wait until it finishes or cancel "
            f"its jobs (`taipod cancel JOB`)",
            EXIT_FAILED,
        )
    order = {t.get("name"): i for i, t in enumerate((scenario.get("spec") or {}).get("tasks") or [])}
    failed = {str(j["spec"]["task"]) for j in jobs if (j.get("status") or {}).get("status") in RETRIED}
    rerun = tuple(sorted(failed, key=lambda t: (order.get(t, len(order)), t)))  # in the scenario's task order
    if not rerun:
        raise CliError(
            f"submission {name} has nothing to retry: none of its jobs failed, was canceled or abandoned. "
            f"Fix: `taipod resubmit {name}` runs it again",
            EXIT_FAILED,
        )
    spec = _target(submission.get("spec") or {})
    if len(rerun) == 1:
        return RetryPlan({"scenario": spec["scenario"], "task": rerun[0], "force": False}, rerun, ())
    skippable = {t.get("name") for t in (scenario.get("spec") or {}).get("tasks") or [] if t.get("skippable")}
    completed = [
        str(j["spec"]["task"])
        for j in jobs
        if (j.get("status") or {}).get("status") in ("COMPLETED", "SKIPPED") and j["spec"]["task"] not in skippable
    ]
    return RetryPlan({**spec, "force": False}, rerun, tuple(dict.fromkeys(completed)))


def _create(api: KubeApi, namespace: str, scenario: Obj, spec: dict[str, Any], prog: str) -> str:
    """Create the Submission (owned by its scenario, as ``taipod submit`` makes it) and wait up to 10 s for the
    operator's answer: CliError (exit 1) when it refuses it."""
    meta = scenario["metadata"]
    name = f"{meta['name'][:50]}-{uuid.uuid4().hex[:8]}"
    owner = {"apiVersion": API_VERSION, "kind": "Scenario", "name": meta["name"], "uid": meta["uid"]}
    body = {
        "apiVersion": API_VERSION,
        "kind": "Submission",
        "metadata": {"name": name, "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}]},
        "spec": spec,
    }
    api.create(custom_path(namespace, "submissions"), body)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = api.get(custom_path(namespace, "submissions", name)).get("status") or {}
        if status.get("reason"):
            raise CliError(f"submission {name} refused ({status['reason']}): {status.get('message')}", EXIT_FAILED)
        if status.get("jobsCreated"):
            break
        time.sleep(0.3)
    return name


def _scenario_of(api: KubeApi, namespace: str, name: str, what: str) -> dict[str, Any]:
    try:
        return api.get(custom_path(namespace, "scenarios", name))
    except ApiError as error:
        if error.status == 404:
            raise CliError(
                f"scenario {name!r} of {what} no longer exists: nothing to run again", EXIT_NOT_FOUND
            ) from None
        raise


def _describe(spec: Mapping[str, Any]) -> str:
    if spec.get("task"):
        return f"task {spec['task']} of scenario {spec['scenario']}"
    if spec.get("sequence"):
        return f"sequence {spec['sequence']} of scenario {spec['scenario']}"
    return f"scenario {spec['scenario']}"


def cmd_resubmit(args: argparse.Namespace) -> int:
    api, namespace = connect(args)
    original = get_object(api, namespace, tables.KINDS["submissions"], args.submission, args.prog)
    spec = {**_target(original.get("spec") or {}), "force": bool(args.force)}
    scenario = _scenario_of(api, namespace, spec["scenario"], f"submission {args.submission}")
    name = _create(api, namespace, scenario, spec, args.prog)
    print(f"submission {name} created: {_describe(spec)}{' (forced)' if args.force else ''}, as {args.submission}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    api, namespace = connect(args)
    kind = "submissions"
    if args.kind:
        try:
            kind = tables.kind_named(args.kind).plural
        except ValueError:
            kind = "scenarios"
        if kind == "scenarios":
            raise CliError("retry takes a submission or a job: `taipod retry [submission|job] NAME`", EXIT_USAGE)
    elif not _exists(api, namespace, "submissions", args.name):
        if not _exists(api, namespace, "jobs", args.name):  # a bare name: a submission's, else a job's
            check_namespace(api, namespace)
            raise CliError(f"no submission or job {args.name!r} in namespace {namespace}", EXIT_NOT_FOUND)
        kind = "jobs"
    if kind == "jobs":
        job = get_object(api, namespace, tables.KINDS["jobs"], args.name, args.prog)
        state = str((job.get("status") or {}).get("status") or "SUBMITTED")
        if state not in RETRIED:
            raise CliError(
                f"job {args.name} is {state}: only a FAILED, CANCELED or ABANDONED job is retried"
                + (" (wait until it finishes)" if state not in JOB_FINISHED else ""),
                EXIT_FAILED,
            )
        plan = RetryPlan({"scenario": job["spec"]["scenario"], "task": job["spec"]["task"], "force": False}, (), ())
        what = f"job {args.name}"
    else:
        submission = get_object(api, namespace, tables.KINDS["submissions"], args.name, args.prog)
        jobs = list_objects(api, namespace, tables.KINDS["jobs"], f"taipod.io/submission={args.name}")["items"]
        scenario = _scenario_of(api, namespace, submission["spec"]["scenario"], f"submission {args.name}")
        plan = retry_plan(submission, jobs, scenario)
        what = f"submission {args.name} ({', '.join(plan.rerun)} did not complete)"
    scenario = _scenario_of(api, namespace, plan.spec["scenario"], what)
    name = _create(api, namespace, scenario, plan.spec, args.prog)
    print(f"submission {name} created: {_describe(plan.spec)}, retrying {what}")
    if plan.also_rerun:
        print(f"note: completed tasks {', '.join(plan.also_rerun)} run again: they are not skippable")
    return 0


def _exists(api: KubeApi, namespace: str, plural: str, name: str) -> bool:
    try:
        api.get(custom_path(namespace, plural, name))
    except ApiError as error:
        if error.status == 404:
            return False
        raise
    return True


def add_parser(commands: Any) -> None:
    resubmit = commands.add_parser(
        "resubmit", help="a new submission of the same scenario, sequence or task as SUBMISSION", epilog=EPILOG
    )
    resubmit.add_argument("submission")
    resubmit.add_argument("--force", action="store_true", help="also run skippable tasks whose outputs are up to date")
    add_selection_arguments(resubmit)
    resubmit.set_defaults(run=cmd_resubmit)
    retry = commands.add_parser(
        "retry",
        help="re-run the failed, canceled and abandoned jobs of a submission (or one job) as a new submission",
        epilog=EPILOG,
    )
    retry.add_argument("kind", nargs="?", help="submission or job (default: a submission of that name, else a job)")
    retry.add_argument("name")
    add_selection_arguments(retry)
    retry.set_defaults(run=cmd_retry)
