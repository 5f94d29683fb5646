"""``taipod`` / ``kubectl taipod``: submit, list, cancel and delete jobs, install the CRDs, run the operator.

Everything it does is also doable with plain kubectl (the README shows how); the CLI saves typing and waits for
outcomes the way the SDK does.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import urllib3
import yaml
from kubernetes import config

from taipod._version import __version__
from taipod.api import admission, crdgen
from taipod.api.models import API_VERSION
from taipod.cli import apply, data, deleting, describe, logs, reading, rerun, session, ui, watch
from taipod.operator.kubeapi import ApiError, KubeApi, custom_path
from taipod.operator.names import ANNOTATION_CANCEL, ANNOTATION_FORCE_DELETE, LABEL_SUBMISSION
from taipod.sdk.errors import TaipodError

__all__ = ["kubectl_plugin", "main"]

FINISHED = {"COMPLETED", "FAILED", "SKIPPED", "CANCELED", "ABANDONED"}


def _api(args: argparse.Namespace) -> tuple[KubeApi, str]:
    return session.connect(args)


def _jobs(api: KubeApi, namespace: str, submission: str | None) -> list[dict[str, Any]]:
    params = {"labelSelector": f"{LABEL_SUBMISSION}={submission}"} if submission else None
    items: list[dict[str, Any]] = api.request("GET", custom_path(namespace, "jobs"), params=params)["items"]
    return sorted(items, key=lambda j: (j["metadata"]["creationTimestamp"], j["metadata"]["name"]))


def _table(jobs: Sequence[dict[str, Any]]) -> str:
    rows = [("JOB", "TASK", "STATUS", "SUBMITTED", "RUN", "FINISHED", "DURATION", "REASON")]
    for job in jobs:
        status = job.get("status") or {}
        rows.append(
            (
                job["metadata"]["name"],
                job["spec"]["task"],
                status.get("status", "SUBMITTED"),
                ((status.get("history") or [{}])[0].get("at") or "")[11:23],
                (status.get("runAt") or "")[11:23],
                (status.get("finishedAt") or "")[11:23],
                status.get("duration") or "",
                status.get("reason") or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def cmd_submit(args: argparse.Namespace) -> int:
    api, namespace = _api(args)
    try:
        scenario = api.get(custom_path(namespace, "scenarios", args.scenario))
    except ApiError as error:
        if error.status != 404:
            raise
        print(
            f"{args.prog}: no scenario {args.scenario!r} in namespace {namespace}: `kubectl get scenarios` lists them",
            file=sys.stderr,
        )
        return 1
    name = args.name or f"{args.scenario[:50]}-{uuid.uuid4().hex[:8]}"
    spec: dict[str, Any] = {"scenario": args.scenario, "force": args.force}
    if args.sequence:
        spec["sequence"] = args.sequence
    if args.task:
        spec["task"] = args.task
    meta = scenario["metadata"]
    owner = {"apiVersion": API_VERSION, "kind": "Scenario", "name": meta["name"], "uid": meta["uid"]}
    body = {
        "apiVersion": API_VERSION,
        "kind": "Submission",
        # Owned by its scenario (deleting the scenario deletes it), as the operator would make it otherwise.
        "metadata": {"name": name, "ownerReferences": [{**owner, "controller": True, "blockOwnerDeletion": True}]},
        "spec": spec,
    }
    api.create(custom_path(namespace, "submissions"), body)
    print(f"submission {name} created")
    deadline = time.monotonic() + (args.timeout if args.wait else 10)
    while time.monotonic() < deadline:
        status = api.get(custom_path(namespace, "submissions", name)).get("status") or {}
        if status.get("reason"):  # refused by the operator: say why at once
            print(
                f"{args.prog}: submission {name} refused ({status['reason']}): {status.get('message')}", file=sys.stderr
            )
            return 1
        if not args.wait:
            if status.get("jobsCreated"):
                return 0
            time.sleep(0.3)
            continue
        jobs = _jobs(api, namespace, name)
        # The submission's status is written after its jobs': done once it counts every job finished.
        done = jobs and all((j.get("status") or {}).get("status") in FINISHED for j in jobs)
        if status.get("jobsCreated") and done and status.get("finished") == f"{len(jobs)}/{len(jobs)}":
            print(_table(jobs))
            print(f"submission {name}: {status.get('submissionStatus')}")
            return 0 if status.get("submissionStatus") == "COMPLETED" else 1
        time.sleep(0.5)
    if not args.wait:  # accepted or not, the operator has not answered yet: the submission stands
        print(f"submission {name}: no operator has picked it up yet", file=sys.stderr)
        return 0
    print(f"submission {name} not finished after {args.timeout} s", file=sys.stderr)
    return 1


def cmd_jobs(args: argparse.Namespace) -> int:
    api, namespace = _api(args)
    jobs = _jobs(api, namespace, args.submission)
    if not jobs:
        session.check_namespace(api, namespace)  # an unknown namespace is an error (exit 3), not an empty table
    print(_table(jobs))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    api, namespace = _api(args)
    value = "terminate" if args.terminate else "true"
    api.merge_patch(custom_path(namespace, "jobs", args.job), {"metadata": {"annotations": {ANNOTATION_CANCEL: value}}})
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        status = api.get(custom_path(namespace, "jobs", args.job)).get("status") or {}
        outcome = status.get("cancel")
        if outcome and status.get("cancelRequest") == value:
            print(outcome)
            return 0
        time.sleep(0.3)
    print(f"cancel of {args.job} requested; no operator answered within {args.timeout} s", file=sys.stderr)
    return 1


def cmd_delete(args: argparse.Namespace) -> int:
    api, namespace = _api(args)
    path = custom_path(namespace, "jobs", args.job)
    if args.force:
        api.merge_patch(path, {"metadata": {"annotations": {ANNOTATION_FORCE_DELETE: "true"}}})
    try:
        api.delete(path)
    except ApiError as error:
        if "cannot be deleted" not in str(error.body.get("message", "")):  # not the delete guard (RBAC, ...)
            raise
        status = (api.get(path).get("status") or {}).get("status", "SUBMITTED")
        fix = (
            f"`{args.prog} cancel {args.job} --terminate` stops it"
            if status == "RUNNING"
            else f"`{args.prog} cancel {args.job}` cancels it"
        )
        print(
            f"{args.prog}: job {args.job} is {status} and not finished, so it is not deleted: wait until it finishes, "
            f"{fix}, or `{args.prog} delete {args.job} --force` deletes it anyway",
            file=sys.stderr,
        )
        return 1
    print(f"job {args.job} deleted")
    return 0


def cmd_manifests(args: argparse.Namespace) -> int:
    policies = admission.documents()
    if args.release:
        policies = _helm_owned(policies, args.release, args.release_namespace)
    docs = [*crdgen.crd_documents().values(), *policies]
    print(yaml.safe_dump_all(docs, sort_keys=False), end="")
    return 0


def _helm_owned(policies: list[dict[str, Any]], release: str, namespace: str) -> list[dict[str, Any]]:
    """The admission policies named as the chart names them for ``release``, with Helm's ownership metadata, so
    that a later ``helm install RELEASE`` adopts them instead of failing with "exists and cannot be imported"."""
    fullname = release if "taipod" in release else f"{release}-taipod"
    renames = {
        admission.POLICY_NAME: f"{fullname[:63]}-job-delete-guard",
        admission.IMMUTABLE_POLICY_NAME: f"{fullname[:63]}-spec-immutable",
    }
    owned = []
    for doc in policies:
        meta = {
            **doc["metadata"],
            "name": renames[doc["metadata"]["name"]],
            "labels": {**doc["metadata"]["labels"], "app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace},
        }
        spec = dict(doc["spec"])
        if "policyName" in spec:
            spec["policyName"] = renames[spec["policyName"]]
        owned.append({**doc, "metadata": meta, "spec": spec})
    return owned


def cmd_apply(args: argparse.Namespace) -> int:
    docs = apply.read_documents(args.filename)
    api, namespace = _api(args)
    for line in apply.apply_documents(api, namespace, docs, args.force_conflicts):
        print(line)
    return 0


def cmd_operator(args: argparse.Namespace) -> int:
    from taipod.operator.__main__ import main as operator_main  # noqa: PLC0415 - kopf loads only for this command

    return operator_main()


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Taipy-style scenarios on Kubernetes.", epilog=session.EPILOG
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="submit a scenario, or one of its sequences or tasks")
    submit.add_argument("scenario")
    entity = submit.add_mutually_exclusive_group()
    entity.add_argument("--sequence")
    entity.add_argument("--task")
    submit.add_argument("--force", action="store_true", help="run skippable tasks even when up to date")
    submit.add_argument("--name", help="the Submission's name (default: <scenario>-<random>)")
    submit.add_argument("--wait", action="store_true", help="wait until every job is finished, then show them")
    submit.add_argument("--timeout", type=float, default=600)
    submit.set_defaults(run=cmd_submit)
    jobs = commands.add_parser("jobs", help="list jobs (of one submission) with their statuses and times")
    jobs.add_argument("submission", nargs="?")
    jobs.set_defaults(run=cmd_jobs)
    cancel = commands.add_parser("cancel", help="cancel a job (Taipy's rules) and print the outcome")
    cancel.add_argument("job")
    cancel.add_argument("--terminate", action="store_true", help="also stop a RUNNING job's pod (ends CANCELED)")
    cancel.add_argument("--timeout", type=float, default=30)
    cancel.set_defaults(run=cmd_cancel)
    deleting.add_parser(commands, cmd_delete)
    applied = commands.add_parser(
        "apply", help="apply scenario manifests server-side (no 256 KiB limit, unlike plain kubectl apply)"
    )
    applied.add_argument("-f", "--filename", action="append", required=True, help="a YAML file, or - for stdin")
    applied.add_argument("--force-conflicts", action="store_true", help="take over fields another manager set")
    applied.set_defaults(run=cmd_apply)
    manifests = commands.add_parser("manifests", help="print the CRDs and the admission policies (kubectl apply -f -)")
    manifests.add_argument(
        "--release",
        help="name the policies as the Helm chart does for this release, owned by it, so that a later "
        "`helm install RELEASE` adopts them",
    )
    manifests.add_argument("--release-namespace", default="taipod-system", help="the release's namespace")
    manifests.set_defaults(run=cmd_manifests)
    operator = commands.add_parser("operator", help="run the operator (configured by TAIPOD_* variables)")
    operator.set_defaults(run=cmd_operator)
    data.add_parser(commands)
    reading.add_parser(commands)
    describe.add_parser(commands)
    logs.add_parser(commands)
    watch.add_parser(commands)
    rerun.add_parser(commands)
    ui.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "taipod") -> int:
    args = _parser(prog).parse_args(argv)
    args.prog = prog
    try:
        result: int = args.run(args)
    except (ApiError, session.CliError, config.ConfigException, urllib3.exceptions.HTTPError) as error:
        return session.error_exit(prog, error)
    except (LookupError, ValueError, OSError, TaipodError) as error:  # the SDK's errors name the cause and the fix
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return session.EXIT_INTERRUPTED
    return result


def kubectl_plugin() -> int:
    return main(prog="kubectl taipod")
