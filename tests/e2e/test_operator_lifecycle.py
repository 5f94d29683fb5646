"""Deleting, cancelling and failing never leave a job stuck, a status rewound or a stale object attached (issue 12).

Each test is one of the cases the issue lists, requested the kubectl way, against the real API server and its
admission policies.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest
from tests.e2e.conftest import Taipod, dn, task
from tests.k8s_helpers import wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e
Kubectl = Callable[..., CompletedProcess[str]]


def sleepy(taipod: Taipod, name: str, seconds: int) -> None:
    """first sleeps ``seconds`` and writes them; second doubles the result."""
    taipod.scenario(
        name,
        [dn("seconds", defaultData=seconds), dn("slept"), dn("doubled")],
        [
            task("first", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
            task("second", "taipod.samples:double", ["slept"], ["doubled"]),
        ],
    )


def submission(taipod: Taipod, name: str) -> dict[str, Any]:
    return taipod.get("submissions", name)


def test_deleting_a_scenario_deletes_its_submissions_and_jobs_and_a_namesake_never_resumes_them(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "sleepy", 1)
    sub = taipod.submit("sleepy")
    taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)
    owners = submission(taipod, sub)["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"]) for o in owners] == [("Scenario", "sleepy")]
    kubectl("delete", "scenario", "sleepy", "--wait=true", "--timeout=60s")
    wait_until(lambda: not taipod.list("submissions") and not taipod.list("jobs"), 60, "submissions and jobs deleted")
    # A submission made for the deleted scenario (a stale manifest applied again) is refused, and a namesake created
    # later never runs it.
    taipod.create(
        "submissions", {"kind": "Submission", "metadata": {"name": "old-run"}, "spec": {"scenario": "sleepy"}}
    )
    refused = wait_until(
        lambda: (submission(taipod, "old-run").get("status") or {}).get("reason"), 60, "old-run refused"
    )
    assert refused == "UnknownScenario"
    sleepy(taipod, "sleepy", 1)
    new = taipod.submit("sleepy")
    taipod.wait_jobs(new, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)
    assert taipod.jobs("old-run") == {} and submission(taipod, "old-run")["status"]["reason"] == "UnknownScenario"


def test_deleting_finished_jobs_does_not_rewind_their_submission(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "done", 0)
    sub = taipod.submit("done")
    taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)
    assert taipod.wait_submission(sub, "COMPLETED")
    before = submission(taipod, sub)["status"]
    kubectl("delete", "tpjob", "-l", f"taipod.io/submission={sub}", "--wait=true")
    wait_until(lambda: not taipod.list("jobs"), 30, "jobs deleted")
    # Another pass of the scenario (a new submission) must not rewrite the finished one.
    taipod.wait_jobs(taipod.submit("done"), {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)
    after = submission(taipod, sub)["status"]
    assert (after["submissionStatus"], after["finished"]) == ("COMPLETED", "2/2") and after == before
    waited = kubectl("wait", f"submission/{sub}", "--for=condition=Finished", "--timeout=5s")
    assert waited.returncode == 0


def test_force_deleting_a_running_upstream_job_abandons_its_dependent_and_releases_the_lock(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "forced", 20)
    sub = taipod.submit("forced")
    running = taipod.wait_job(sub, "first", {"RUNNING"}, timeout=60)
    name = running["metadata"]["name"]
    kubectl("annotate", "jobs.taipod.io", name, "taipod.io/force-delete=true")
    kubectl("delete", "jobs.taipod.io", name, "--wait=true", "--timeout=60s")
    jobs = taipod.wait_jobs(sub, {"second": "ABANDONED"}, timeout=60)
    assert jobs["second"]["status"]["history"][-1]["reason"] == "the job of upstream task first was deleted"
    entry = taipod.data_node("forced", "doubled")
    assert not entry.get("editInProgress"), entry


@pytest.mark.parametrize("kind", ["submission", "scenario"])
def test_deleting_an_unfinished_submission_or_scenario_is_refused_unless_forced(
    kind: str, taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "guarded", 30)
    sub = taipod.submit("guarded")
    taipod.wait_job(sub, "first", {"RUNNING"}, timeout=60)
    target = f"submissions.taipod.io/{sub}" if kind == "submission" else "scenarios.taipod.io/guarded"
    if kind == "scenario":
        wait_until(
            lambda: (taipod.get("scenarios", "guarded").get("status") or {}).get("unfinishedSubmissions") == 1,
            30,
            lambda: f"the scenario counts its unfinished submission ({taipod.get('scenarios', 'guarded')['status']})",
        )
    refused = kubectl("delete", target, check=False)
    assert refused.returncode != 0
    assert "cannot be deleted" in refused.stderr and "taipod.io/force-delete=true" in refused.stderr, refused.stderr
    assert taipod.job_statuses(sub)["first"] == "RUNNING"
    kubectl("annotate", target, "taipod.io/force-delete=true")
    kubectl("delete", target, "--wait=true", "--timeout=60s")
    wait_until(lambda: not taipod.list("jobs"), 60, "its jobs deleted with it")


def test_a_running_jobs_cancel_abandons_dependents_with_a_true_reason(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "honest", 3)
    sub = taipod.submit("honest")
    running = taipod.wait_job(sub, "first", {"RUNNING"}, timeout=60)
    kubectl("annotate", "jobs.taipod.io", running["metadata"]["name"], "taipod.io/cancel=true")
    jobs = taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "ABANDONED"}, timeout=60)
    reason = jobs["second"]["status"]["history"][-1]["reason"]
    assert reason == f"upstream job {running['metadata']['name']} was asked to cancel while RUNNING", reason


def _cli(kubectl: Kubectl, taipod: Taipod, *args: str) -> CompletedProcess[str]:
    kubeconfig = kubectl.kubeconfig  # type: ignore[attr-defined]
    return subprocess.run(
        [sys.executable, "-m", "taipod.cli", "-n", taipod.ns, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_submission_of_something_that_does_not_exist_gets_a_visible_answer(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    # A missing scenario, created the kubectl way.
    taipod.create(
        "submissions", {"kind": "Submission", "metadata": {"name": "nosuch-1"}, "spec": {"scenario": "nosuch"}}
    )
    status = wait_until(lambda: submission(taipod, "nosuch-1").get("status"), 60, "nosuch-1 answered")
    assert (status["submissionStatus"], status["reason"]) == ("FAILED", "UnknownScenario")
    listing = kubectl("get", "tpsub", "nosuch-1").stdout
    assert "FAILED" in listing and "UnknownScenario" in listing
    assert kubectl("wait", "submission/nosuch-1", "--for=condition=Succeeded=False", "--timeout=5s").returncode == 0
    # The scenario appearing later never runs it.
    sleepy(taipod, "nosuch", 0)
    sub = taipod.submit("nosuch")
    taipod.wait_jobs(sub, {"first": "COMPLETED", "second": "COMPLETED"}, timeout=60)
    assert taipod.jobs("nosuch-1") == {}
    # An unknown sequence: refused, and shown.
    taipod.submit("nosuch", name="noseq-1", sequence="nope")
    status = wait_until(lambda: submission(taipod, "noseq-1").get("status"), 60, "noseq-1 answered")
    assert status["reason"] == "UnknownEntity" and "spec.sequence" in status["message"]
    # The CLI answers at once, with a non-zero exit, with and without --wait.
    for extra in ([], ["--wait", "--timeout", "600"]):
        done = _cli(kubectl, taipod, "submit", "missing", *extra)
        assert done.returncode == 1 and "no scenario 'missing'" in done.stderr, done
        refused = _cli(kubectl, taipod, "submit", "nosuch", "--sequence", "nope", *extra)
        assert refused.returncode == 1 and "refused (UnknownEntity)" in refused.stderr, refused


def test_the_delete_guard_gives_the_right_fix_for_a_running_job(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "hint", 20)
    sub = taipod.submit("hint")
    running = taipod.wait_job(sub, "first", {"RUNNING"}, timeout=60)
    name = running["metadata"]["name"]
    refused = kubectl("delete", "jobs.taipod.io", name, check=False)
    assert "taipod.io/cancel=terminate" in refused.stderr and "force-delete=true" in refused.stderr, refused.stderr
    cli = _cli(kubectl, taipod, "delete", name)
    assert cli.returncode == 1
    assert f"cancel {name} --terminate" in cli.stderr and f"delete {name} --force" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_recreated_submission_gets_new_job_names(
    taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator
) -> None:
    sleepy(taipod, "again", 0)
    first = taipod.submit("again", name="again-1")
    names_before = {
        j["metadata"]["name"] for j in taipod.wait_jobs(first, {"first": "COMPLETED", "second": "COMPLETED"}).values()
    }
    kubectl("delete", "submission", "again-1", "--wait=true", "--timeout=60s")
    wait_until(lambda: not taipod.list("jobs"), 60, "old jobs gone")
    second = taipod.submit("again", name="again-1")
    jobs = taipod.wait_jobs(second, {"first": "COMPLETED", "second": "COMPLETED"})
    assert not names_before & {j["metadata"]["name"] for j in jobs.values()}


def test_succeeded_says_success_or_failure(taipod: Taipod, kubectl: Kubectl, operator: EmbeddedOperator) -> None:
    taipod.scenario("oops", [dn("out")], [task("boom", "taipod.samples:fail", [], ["out"])])
    sub = taipod.submit("oops")
    job = taipod.wait_job(sub, "boom", {"FAILED"}, timeout=60)
    name = job["metadata"]["name"]
    assert kubectl("wait", f"tpjob/{name}", "--for=condition=Succeeded=False", "--timeout=10s").returncode == 0
    assert kubectl("wait", f"tpjob/{name}", "--for=condition=Succeeded", "--timeout=2s", check=False).returncode != 0
    assert kubectl("wait", f"submission/{sub}", "--for=condition=Succeeded=False", "--timeout=30s").returncode == 0
    sleepy(taipod, "fine", 0)
    good = taipod.submit("fine")
    taipod.wait_jobs(good, {"first": "COMPLETED", "second": "COMPLETED"})
    assert kubectl("wait", f"submission/{good}", "--for=condition=Succeeded", "--timeout=30s").returncode == 0
