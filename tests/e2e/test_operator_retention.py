"""Deadlines and time-to-live (taipod's extensions to Taipy) on a real cluster: a submission's activeDeadlineSeconds,
ttlSecondsAfterFinished of finished submissions (their jobs and pods go with them, unfinished ones stay), and the
removal of finished jobs' task pods with their outcome kept in the Job resource."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kubernetes.client.exceptions import ApiException
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.conftest import Taipod, dn, operator_config, task
from tests.k8s_helpers import Kube, wait_until

from taipod.operator.embedded import EmbeddedOperator

pytestmark = pytest.mark.e2e


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sleeper(taipod: Taipod, name: str, seconds: int) -> None:
    taipod.scenario(
        name,
        [dn("seconds", defaultData=seconds), dn("slept"), dn("doubled")],
        [
            task("first", "taipod.samples:sleep_seconds", ["seconds"], ["slept"]),
            task("second", "taipod.samples:double", ["slept"], ["doubled"]),
        ],
    )


def pods_of(kube: Kube, namespace: str, submission: str) -> list[str]:
    pods = kube.core.list_namespaced_pod(namespace, label_selector=f"taipod.io/submission={submission}").items
    return [p.metadata.name for p in pods]


def batch_jobs_of(kube: Kube, namespace: str, submission: str) -> list[str]:
    jobs = kube.batch.list_namespaced_job(namespace, label_selector=f"taipod.io/submission={submission}").items
    return [j.metadata.name for j in jobs]


def test_a_finished_submission_is_deleted_with_its_jobs_and_pods_after_its_ttl_an_unfinished_one_is_kept(
    taipod: Taipod, kube: Kube, operator: EmbeddedOperator
) -> None:
    sleeper(taipod, "quick", 0)
    sleeper(taipod, "slow", 600)
    slow = taipod.submit("slow", ttlSecondsAfterFinished=5)
    quick = taipod.submit("quick", ttlSecondsAfterFinished=5)
    taipod.wait_job(slow, "first", {"RUNNING"}, timeout=90)
    finished = at(taipod.wait_submission(quick, "COMPLETED", timeout=90)["status"]["finishedAt"])
    assert pods_of(kube, taipod.ns, quick)  # still there when it finished
    wait_until(lambda: kube.gone(lambda: taipod.get("submissions", quick)), 60, "the finished submission deleted")
    print(f"ttl 5 s: submission gone {(datetime.now(UTC) - finished).total_seconds():.1f} s after it finished")
    wait_until(lambda: not taipod.jobs(quick), 60, "its jobs deleted")
    wait_until(lambda: not batch_jobs_of(kube, taipod.ns, quick), 60, "its batch Jobs deleted")
    wait_until(lambda: not pods_of(kube, taipod.ns, quick), 60, "its pods deleted")
    assert taipod.get("submissions", slow)["status"]["submissionStatus"] == "RUNNING"  # unfinished: untouched
    assert taipod.job_statuses(slow) == {"first": "RUNNING", "second": "BLOCKED"}


def test_the_scenario_sets_the_default_ttl_of_its_submissions(taipod: Taipod, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "defaulted",
        [dn("n", defaultData=2), dn("out")],
        [task("double", "taipod.samples:double", ["n"], ["out"])],
        ttlSecondsAfterFinished=3,
    )
    sub = taipod.submit("defaulted")
    taipod.wait_submission(sub, "COMPLETED", timeout=90)
    wait_until(lambda: taipod.kube.gone(lambda: taipod.get("submissions", sub)), 60, "the submission deleted")
    assert taipod.data_node("defaulted", "out")["value"] == 4  # the scenario and its data stay


def test_a_submission_past_its_deadline_fails_its_unfinished_jobs_and_stops_their_pods(
    taipod: Taipod, kube: Kube, operator: EmbeddedOperator
) -> None:
    sleeper(taipod, "late", 600)
    sub = taipod.submit("late", activeDeadlineSeconds=10)
    jobs = taipod.wait_jobs(sub, {"first": "FAILED", "second": "FAILED"}, timeout=90)
    for job in jobs.values():
        assert job["status"]["reason"] == "SubmissionDeadlineExceeded"
        assert "activeDeadlineSeconds" in job["status"]["message"]
        assert job["status"]["history"][-1] == {
            "status": "FAILED",
            "at": job["status"]["finishedAt"],
            "reason": "SubmissionDeadlineExceeded",
        }
    created = at(taipod.get("submissions", sub)["metadata"]["creationTimestamp"])
    assert (at(jobs["first"]["status"]["finishedAt"]) - created).total_seconds() >= 10 - 1  # second-precision creation
    assert taipod.wait_submission(sub, "FAILED")
    wait_until(lambda: not batch_jobs_of(kube, taipod.ns, sub), 60, "the running job's batch Job deleted")


@pytest.fixture
def pod_cleaning_operator(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, s3: S3Store
) -> Iterator[EmbeddedOperator]:
    config = operator_config(s3, TAIPOD_TASK_POD_DELETE_AFTER_SECONDS="2")
    op = EmbeddedOperator(namespace, kubeconfig=str(cluster.kubeconfig), config=config).start()
    yield op
    op.stop()


def test_task_pods_of_finished_jobs_are_removed_and_the_outcome_stays_in_the_job(
    taipod: Taipod, kube: Kube, pod_cleaning_operator: EmbeddedOperator
) -> None:
    taipod.scenario(
        "cleaned",
        [dn("n", defaultData=2), dn("out"), dn("never"), dn("x", defaultData=1)],
        [
            task("double", "taipod.samples:double", ["n"], ["out"]),
            task("broken", "taipod.samples:fail", ["x"], ["never"]),
        ],
    )
    sub = taipod.submit("cleaned")
    taipod.wait_jobs(sub, {"double": "COMPLETED", "broken": "FAILED"}, timeout=90)
    wait_until(lambda: not batch_jobs_of(kube, taipod.ns, sub), 60, "the batch Jobs deleted")
    wait_until(lambda: not pods_of(kube, taipod.ns, sub), 60, "the pods deleted")
    # Another submission makes the operator pass over the scenario again: the missing pods change nothing.
    again = taipod.submit("cleaned")
    taipod.wait_jobs(again, {"double": "COMPLETED", "broken": "FAILED"}, timeout=90)
    jobs = taipod.jobs(sub)
    assert taipod.job_statuses(sub) == {"double": "COMPLETED", "broken": "FAILED"}
    broken = jobs["broken"]["status"]
    assert broken["reason"] == "TaskFailed" and "sample failure" in broken["message"] and broken["stacktrace"]
    assert jobs["double"]["status"]["exitCode"] == 0 and jobs["double"]["status"]["pod"]
    assert [h["status"] for h in jobs["double"]["status"]["history"]][-2:] == ["RUNNING", "COMPLETED"]
    assert taipod.submission_status(sub) == "FAILED"


def test_no_cleanup_by_default_keeps_the_pods(taipod: Taipod, kube: Kube, operator: EmbeddedOperator) -> None:
    taipod.scenario(
        "kept", [dn("n", defaultData=2), dn("out")], [task("double", "taipod.samples:double", ["n"], ["out"])]
    )
    sub = taipod.submit("kept")
    taipod.wait_submission(sub, "COMPLETED", timeout=90)
    second = taipod.submit("kept")  # a later pass, well after the first finished
    taipod.wait_submission(second, "COMPLETED", timeout=90)
    assert pods_of(kube, taipod.ns, sub) and batch_jobs_of(kube, taipod.ns, sub)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"activeDeadlineSeconds": 0}, "spec.activeDeadlineSeconds"),
        ({"ttlSecondsAfterFinished": -1}, "spec.ttlSecondsAfterFinished"),
    ],
)
def test_the_schema_refuses_a_bad_deadline_or_ttl_naming_the_field(
    taipod: Taipod, spec: dict[str, int], words: str
) -> None:
    with pytest.raises(ApiException) as refused:
        taipod.submit("anything", **spec)
    assert refused.value.status == 422
    assert words in str(refused.value.body) and "greater than or equal to" in str(refused.value.body)
