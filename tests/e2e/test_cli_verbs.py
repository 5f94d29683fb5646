"""The CLI's reading and re-running verbs (issue 15, point 5), each on success and on its error paths.

``list``, ``get``, ``describe``, ``logs [-f]``, ``watch``, ``resubmit``, ``retry``, ``delete submission|scenario``,
``--version``; exit codes 0 (done), 1 (refused or failed), 2 (usage), 3 (not found), 4 (cluster unreachable or bad
kubeconfig), each error on one line and never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def env_for(kubeconfig: Path | str) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(kubeconfig), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def run(cluster: ClusterHandle, namespace: str, *args: str, plugin: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [str(BIN / "kubectl"), "taipod"] if plugin else [str(BIN / "taipod")]
    return subprocess.run(
        [*argv, "-n", namespace, *args],
        capture_output=True, text=True, env=env_for(cluster.kubeconfig), timeout=120, check=False,
    )  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def pipeline(taipod: Taipod) -> None:
    """countdown (skippable, prints to its log) -> broken (always fails) -> after; and a slow task."""
    taipod.scenario(
        "verbs",
        [dn("n", defaultData=4), dn("out"), dn("bad"), dn("last"), dn("seconds", defaultData=60), dn("slept")],
        [
            task("countdown", "taipod.samples:countdown_print", ["n"], ["out"], skippable=True),
            task("broken", "taipod.samples:fail", ["out"], ["bad"]),
            task("after", "taipod.samples:identity", ["bad"], ["last"]),
            task("slow", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
        ],
        sequences=[{"name": "chain", "tasks": ["countdown", "broken", "after"]}],
    )


def failed_chain(cluster: ClusterHandle, taipod: Taipod, name: str) -> dict[str, str]:
    """Submit the chain and wait: countdown COMPLETED, broken FAILED, after ABANDONED; the jobs' names by task."""
    done = run(cluster, taipod.ns, "submit", "verbs", "--sequence", "chain", "--name", name, "--wait")
    assert done.returncode == 1 and f"submission {name}: FAILED" in done.stdout, done
    jobs = taipod.wait_jobs(name, {"countdown": "COMPLETED", "broken": "FAILED", "after": "ABANDONED"})
    return {t: j["metadata"]["name"] for t, j in jobs.items()}


def test_list_get_describe_and_logs(cluster: ClusterHandle, taipod: Taipod, operator: EmbeddedOperator) -> None:
    pipeline(taipod)
    ns = taipod.ns
    jobs = failed_chain(cluster, taipod, "v-1")

    table = run(cluster, ns, "list", "jobs")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TASK", "SUBMISSION", "STATUS", "STARTED", "DURATION", "AGE"]
    assert sorted((row.split()[1], row.split()[3]) for row in lines[1:]) == [
        ("after", "ABANDONED"), ("broken", "FAILED"), ("countdown", "COMPLETED")
    ]  # fmt: skip
    failed = run(cluster, ns, "list", "jobs", "--status", "failed,canceled", "-o", "name", plugin=True)
    assert failed.returncode == 0 and failed.stdout.split() == [f"job/{jobs['broken']}"], failed
    wide = run(cluster, ns, "list", "tpjobs", "-o", "wide", "--submission", "v-1")
    assert "TaskFailed" in wide.stdout and "POD" in wide.stdout.splitlines()[0], wide
    listed = json.loads(run(cluster, ns, "list", "jobs", "-o", "json").stdout)
    assert sorted(i["spec"]["task"] for i in listed["items"]) == ["after", "broken", "countdown"]
    subs = yaml.safe_load(run(cluster, ns, "list", "submissions", "-o", "yaml").stdout)
    assert [(s["metadata"]["name"], s["status"]["submissionStatus"]) for s in subs["items"]] == [("v-1", "FAILED")]
    scenarios = run(cluster, ns, "list", "scenarios", "--status", "Ready")
    assert scenarios.stdout.splitlines()[1].split()[:3] == ["verbs", "Ready", "4"], scenarios
    everywhere = run(cluster, ns, "list", "jobs", "-A")
    assert everywhere.stdout.splitlines()[0].split()[0] == "NAMESPACE" and f"{ns} " in everywhere.stdout

    empty = run(cluster, ns, "list", "jobs", "--status", "RUNNING")
    assert empty.returncode == 0 and empty.stdout == "" and empty.stderr == f"No jobs found in namespace {ns}.\n"
    one_line_error(run(cluster, ns, "list", "jobs", "--status", "DONE"), 2, "use one or more of SUBMITTED")
    one_line_error(run(cluster, ns, "list", "pods"), 2, "unknown resource type 'pods'")
    one_line_error(run(cluster, "no-such-ns", "list", "jobs"), 3, "namespace 'no-such-ns' not found")

    got = run(cluster, ns, "get", "job", jobs["broken"], "-o", "json")
    assert got.returncode == 0 and json.loads(got.stdout) == taipod.get("jobs", jobs["broken"])
    two = run(cluster, ns, "get", "sub", "v-1", "-o", "name")
    assert two.stdout == "submission/v-1\n"
    one_line_error(run(cluster, ns, "get", "job", "no-such-job"), 3, "no job 'no-such-job' in namespace", "list jobs")
    one_line_error(run(cluster, "no-such-ns", "get", "scenario", "verbs"), 3, "namespace 'no-such-ns' not found")

    described = run(cluster, ns, "describe", "job", jobs["broken"])
    assert described.returncode == 0, described.stderr
    text = described.stdout
    for part in ("Status:", "FAILED", "Reason:", "TaskFailed", "History:", "Stacktrace:", "ValueError: sample failure"):
        assert part in text, text
    assert "Batch Job:" in text and "Pod:" in text
    sub_text = run(cluster, ns, "describe", "submission", "v-1").stdout
    assert "Target:" in sub_text and "sequence chain" in sub_text and jobs["after"] in sub_text
    scenario_text = run(cluster, ns, "describe", "scenario", "verbs").stdout
    assert (
        "Data nodes (6):" in scenario_text and "countdown: taipod.samples:countdown_print (n -> out)" in scenario_text
    )
    one_line_error(run(cluster, ns, "describe", "submission", "nope"), 3, "no submission 'nope'")
    one_line_error(run(cluster, ns, "describe", "thing", "nope"), 2, "unknown resource type 'thing'")

    logs = run(cluster, ns, "logs", jobs["countdown"])
    assert logs.returncode == 0 and "countdown: 4" in logs.stdout, logs
    one_line_error(run(cluster, ns, "logs", jobs["after"]), 3, "ABANDONED and has no pod")
    one_line_error(run(cluster, ns, "logs", "no-such-job"), 3, "no job 'no-such-job'")
    pod = taipod.get("jobs", jobs["countdown"])["status"]["pod"]
    taipod.kube.core.delete_namespaced_pod(pod, ns, grace_period_seconds=0)
    wait_until(lambda: taipod.kube.gone(lambda: taipod.kube.pod(ns, pod)), 60, f"pod {pod} gone")
    one_line_error(run(cluster, ns, "logs", jobs["countdown"]), 3, f"the pod {pod} of job", "is gone", "describe job")


def _new_submission(taipod: Taipod, stdout: str) -> dict[str, Any]:
    name = stdout.split()[1]  # "submission NAME created: ..."
    return taipod.get("submissions", name)


def test_resubmit_retry_and_delete(cluster: ClusterHandle, taipod: Taipod, operator: EmbeddedOperator) -> None:
    pipeline(taipod)
    ns = taipod.ns
    jobs = failed_chain(cluster, taipod, "v-1")

    retried = run(cluster, ns, "retry", "v-1")
    assert retried.returncode == 0 and "retrying submission v-1 (broken, after did not complete)" in retried.stdout
    again = _new_submission(taipod, retried.stdout)
    assert again["spec"] == {"scenario": "verbs", "sequence": "chain", "force": False}
    # the completed countdown is skippable and up to date: skipped, not re-run
    taipod.wait_jobs(again["metadata"]["name"], {"countdown": "SKIPPED", "broken": "FAILED", "after": "ABANDONED"})

    one_job = run(cluster, ns, "retry", "job", jobs["broken"])
    assert one_job.returncode == 0, one_job.stderr
    assert _new_submission(taipod, one_job.stdout)["spec"] == {"scenario": "verbs", "task": "broken", "force": False}
    one_line_error(run(cluster, ns, "retry", "job", jobs["countdown"]), 1, "is COMPLETED: only a FAILED")
    one_line_error(run(cluster, ns, "retry", "nothing-here"), 3, "no submission or job 'nothing-here'")
    one_line_error(run(cluster, ns, "retry", "scenario", "verbs"), 2, "retry takes a submission or a job")

    ok = run(cluster, ns, "submit", "verbs", "--task", "countdown", "--name", "v-ok", "--force", "--wait")
    assert ok.returncode == 0, ok
    one_line_error(run(cluster, ns, "retry", "v-ok"), 1, "nothing to retry", "resubmit v-ok")
    resubmitted = run(cluster, ns, "resubmit", "v-ok", plugin=True)
    assert resubmitted.returncode == 0, resubmitted.stderr
    assert _new_submission(taipod, resubmitted.stdout)["spec"] == {
        "scenario": "verbs",
        "task": "countdown",
        "force": False,
    }
    forced = run(cluster, ns, "resubmit", "v-ok", "--force")
    assert _new_submission(taipod, forced.stdout)["spec"]["force"] is True
    one_line_error(run(cluster, ns, "resubmit", "nope"), 3, "no submission 'nope'")

    assert run(cluster, ns, "submit", "verbs", "--task", "slow", "--name", "v-slow").returncode == 0
    taipod.wait_job("v-slow", "slow", {"RUNNING"})
    one_line_error(run(cluster, ns, "retry", "v-slow"), 1, "v-slow is RUNNING and not finished")
    refused = run(cluster, ns, "delete", "submission", "v-slow")
    one_line_error(refused, 1, "taipod submission v-slow is RUNNING and has unfinished jobs", "taipod delete --force")
    assert "ValidatingAdmissionPolicy" not in refused.stderr
    wait_until(
        lambda: (taipod.get("scenarios", "verbs").get("status") or {}).get("unfinishedSubmissions", 0) > 0,
        60,
        "the scenario to count its unfinished submission",
    )
    one_line_error(run(cluster, ns, "delete", "scenario", "verbs"), 1, "unfinished submission(s)")
    forced_delete = run(cluster, ns, "delete", "submission", "v-slow", "--force")
    assert forced_delete.returncode == 0 and forced_delete.stdout == "submission v-slow deleted\n", forced_delete
    wait_until(lambda: taipod.kube.gone(lambda: taipod.get("submissions", "v-slow")), 60, "v-slow gone")
    one_line_error(run(cluster, ns, "delete", "submission", "v-slow"), 3, "no submission 'v-slow'")
    one_line_error(run(cluster, ns, "delete", "pod", "x"), 2, "unknown resource type 'pod'")
    wait_until(
        lambda: not (taipod.get("scenarios", "verbs").get("status") or {}).get("unfinishedSubmissions"),
        60,
        "the scenario to count no unfinished submission",
    )
    deleted = run(cluster, ns, "delete", "scenario", "verbs")
    assert deleted.returncode == 0 and deleted.stdout == "scenario verbs deleted\n", deleted
    one_line_error(run(cluster, ns, "get", "scenario", "verbs"), 3, "no scenario 'verbs'")


def test_watch_redraws_from_a_watch_and_logs_follow(
    cluster: ClusterHandle, taipod: Taipod, operator: EmbeddedOperator, tmp_path: Path
) -> None:
    taipod.scenario(
        "w",
        [dn("seconds", defaultData=2), dn("slept")],
        [task("nap", "taipod.samples:sleep_seconds", ["seconds"], ["slept"])],
    )
    out = tmp_path / "watch.txt"
    with out.open("w") as sink:
        # Ctrl-C's default restored: a suite started in the background by a non-interactive shell inherits SIGINT
        # ignored, and Python then never raises KeyboardInterrupt in the CLI.
        watcher = subprocess.Popen(
            [str(BIN / "taipod"), "-n", taipod.ns, "watch", "--submission", "w-1"],
            stdout=sink, stderr=subprocess.PIPE, text=True, env=env_for(cluster.kubeconfig),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - only a signal reset
        )  # fmt: skip
    try:
        wait_until(lambda: out.read_text().startswith("NAME"), 60, "the watch's first table")
        assert run(cluster, taipod.ns, "submit", "w", "--name", "w-1").returncode == 0
        job = taipod.wait_job("w-1", "nap", {"RUNNING"})["metadata"]["name"]
        follow = run(cluster, taipod.ns, "logs", job, "-f")  # returns when the pod ends
        assert follow.returncode == 0, follow.stderr
        assert taipod.job_statuses("w-1") == {"nap": "COMPLETED"} or taipod.wait_job("w-1", "nap", {"COMPLETED"})

        def statuses_seen() -> list[str]:
            return [line.split()[3] for line in out.read_text().splitlines()[1:] if line.startswith(job)]

        wait_until(
            lambda: "COMPLETED" in statuses_seen(), 60, lambda: f"the watch to show COMPLETED: {statuses_seen()}"
        )
        assert "RUNNING" in statuses_seen()
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0 and "Traceback" not in err, err


def test_version_usage_and_a_bad_kubeconfig(tmp_path: Path) -> None:
    version = subprocess.run(
        [str(BIN / "kubectl"), "taipod", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env=env_for("/dev/null"),
    )
    assert version.returncode == 0 and version.stdout.startswith("kubectl taipod 0."), version
    usage = subprocess.run([str(BIN / "taipod"), "list"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "the following arguments are required: kind" in usage.stderr
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("clusters: [\n")
    unreachable = tmp_path / "unreachable.yaml"
    unreachable.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    missing = tmp_path / "missing.yaml"
    for kubeconfig, verb, words in [
        (missing, ["list", "jobs"], ["cannot load the kubeconfig", "missing.yaml"]),
        (missing, ["describe", "scenario", "x"], ["cannot load the kubeconfig"]),
        (garbage, ["get", "job", "x"], ["cannot load the kubeconfig", "garbage.yaml"]),
        (garbage, ["jobs"], ["cannot load the kubeconfig"]),
        (unreachable, ["list", "jobs", "-A"], ["cannot reach the cluster's API server"]),
        (unreachable, ["delete", "x"], ["cannot reach the cluster's API server"]),
    ]:
        proc = subprocess.run(
            [str(BIN / "taipod"), *verb], capture_output=True, text=True, check=False, env=env_for(kubeconfig),
            timeout=60,
        )  # fmt: skip
        one_line_error(proc, 4, *words)
