"""The chart installed with ``helm install`` runs taipod end to end, with exactly the rights it needs.

Each test installs a release of its own in namespaced mode, serving only the test's namespace (cluster-wide mode
would race with the other tests' operators). The operator is then a pod of the chart's Deployment: on the local test
node its container runs as a process (``python -m taipod.operator``, the image's entrypoint) with the chart's
ServiceAccount token, so every API call it makes is checked against the chart's RBAC.

- A scenario (the documentation's "double" example) submitted after the install ends with its Job COMPLETED and
  the output 42; the operator posts Events and holds its Lease; its log has no 403. The chart's RBAC is sufficient.
- For each rule of the chart's Role, and each verb of a rule with several verbs (but for the few on rare paths,
  RARE_PATH_VERBS), the same install with that rule or verb removed fails: the scenario does not complete, its
  Events or Lease are missing, or the operator logs a 403. The chart's RBAC is minimal. (Cluster-wide mode adds
  only ``create`` on the claim and the runner ServiceAccount, which the chart makes itself in namespaced mode.)
- ``helm upgrade`` replaces the operator (Recreate) and the new one renews the Lease.
- ``helm uninstall`` leaves nothing in the namespace or the cluster but the CRDs.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod
from tests.helm import CHART, helm
from tests.k8s_helpers import Kube, wait_until

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
GROUP, VERSION = "taipod.io", "v1alpha1"
LEASE = "taipod-operator"
DOUBLE = {
    "data_nodes": [{"name": "input", "defaultData": 21}, {"name": "output"}],
    "tasks": [{"name": "double", "function": "taipod.samples:double", "inputs": ["input"], "outputs": ["output"]}],
}
RBAC_KINDS = ("Role", "ClusterRole")  # namespaced mode has a Role only; a ClusterRole would be checked alike
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")


def _free_port() -> int:
    """A free local port for kopf's liveness endpoint: pods on the local test node share the host's network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _release_name() -> str:
    return f"tp-{uuid.uuid4().hex[:6]}"


def _render(release: str, namespace: str, *extra: str) -> list[dict[str, Any]]:
    out = helm("template", release, str(CHART), "--namespace", namespace, *_serve(namespace), *extra).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _serve(namespace: str) -> list[str]:
    return ["--set", f"watch.namespaces={{{namespace}}}"]


def _object_store() -> list[str]:
    """The embedded object store (the default mode) on loopback: pods of the local test node share the host's
    network and no Service IP is reachable there, so the store listens on a free loopback port and the operator and
    task pods use it directly (storage.objectStore.endpoint, a test-only setting)."""
    port = _free_port()
    return [
        "--set", f"storage.objectStore.port={port}",
        "--set", "storage.objectStore.listen=127.0.0.1",
        "--set", f"storage.objectStore.endpoint=http://127.0.0.1:{port}",
    ]  # fmt: skip


# Verbs the double scenario cannot exercise, each used on a rare path of the operator and kept with a verb that is
# exercised (removing their whole rule is still checked): a get after a create that conflicts (the object already
# exists), and the deletion of a batch Job when its job is canceled.
# The store's ConfigMap and Secret are patched only when what they hold changed (a new endpoint or key).
RARE_PATH_VERBS = {
    ("taipod.io", "jobs", "get"),
    ("batch", "jobs", "get"),
    ("batch", "jobs", "delete"),
    ("", "secrets", "patch"),
    ("", "configmaps", "patch"),
    ("taipod.io", "submissions", "delete"),  # a finished submission past its ttlSecondsAfterFinished
}


def _removals() -> list[Any]:
    """One case per rule of the operator's Role (ClusterRole) in namespaced mode, removed whole, and one per verb of
    a rule with several verbs, removed alone."""
    cases = []
    docs = [d for d in _render("rel", "served") if d["kind"] in RBAC_KINDS]
    for doc in docs:
        for index, rule in enumerate(doc["rules"]):
            groups = ",".join(g or "core" for g in rule["apiGroups"])
            what = f"{doc['kind']}{index}-{groups}-{','.join(rule['resources'])}"
            cases.append(pytest.param(doc["kind"], index, None, id=f"{what}-{','.join(rule['verbs'])}"))
            if len(rule["verbs"]) == 1:
                continue
            for verb in rule["verbs"]:
                rare = all((g, r, verb) in RARE_PATH_VERBS for g in rule["apiGroups"] for r in rule["resources"])
                if not rare:
                    cases.append(pytest.param(doc["kind"], index, verb, id=f"{what}-without-{verb}"))
    return cases


@dataclass
class Release:
    name: str
    namespace: str
    kubeconfig: Path
    kube: Kube

    @property
    def selector(self) -> str:
        return f"app.kubernetes.io/instance={self.name}"

    def pods(self) -> list[Any]:
        pods: list[Any] = self.kube.core.list_namespaced_pod(self.namespace, label_selector=self.selector).items
        return pods

    def operator_pod(self) -> Any:
        pods = [p for p in self.pods() if p.metadata.labels.get("app.kubernetes.io/component") == "operator"]
        running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
        return running[0] if len(running) == 1 else None

    def restarts(self) -> int:
        """How often the operator container has ended (and restarted) so far."""
        return sum(
            status.restart_count
            for pod in self.pods()
            for status in (pod.status.container_statuses or [])
            if status.name == "operator"
        )

    def logs(self) -> str:
        """The operator's log, including a previous container's when it restarted."""
        texts: list[str] = []
        for pod in self.pods():
            for previous in (True, False):
                with contextlib.suppress(ApiException):
                    texts.append(
                        self.kube.core.read_namespaced_pod_log(
                            pod.metadata.name, self.namespace, container="operator", previous=previous
                        )
                    )
        return "\n".join(texts)

    def uninstall(self, *extra: str) -> None:
        helm("uninstall", self.name, "--namespace", self.namespace, *extra, kubeconfig=self.kubeconfig)


@pytest.fixture
def install(
    cluster: ClusterHandle, kube: Kube, namespace: str, taipod_installed: None
) -> Iterator[Callable[..., Release]]:
    """``install(name, *helm_args)``: helm install a release serving the test namespace; uninstalled after the test."""
    releases: list[Release] = []

    def run(name: str, *extra: str) -> Release:
        release = Release(name, namespace, cluster.kubeconfig, kube)
        releases.append(release)
        helm(
            "install", name, str(CHART), "--namespace", namespace, *_serve(namespace),
            "--set", f"operator.healthPort={_free_port()}", "--set", "operator.events=all",  # events RBAC is proven
            "--set", f"metrics.port={_free_port()}",  # pods share the local node's network
            *_object_store(), "--wait", "--timeout", "120s", *extra,
            kubeconfig=cluster.kubeconfig,
        )  # fmt: skip
        wait_until(release.operator_pod, 60, f"the operator pod of {name} running")
        return release

    yield run
    # Whatever the test left in its namespace goes with the namespace; this removes the cluster-scoped objects.
    for release in releases:
        if (
            helm(
                "status", release.name, "--namespace", namespace, kubeconfig=cluster.kubeconfig, check=False
            ).returncode
            == 0
        ):
            release.uninstall()


@dataclass
class Outcome:
    completed: bool
    output: Any
    events: bool
    lease: bool
    forbidden: list[str]
    restarts: int

    @property
    def success(self) -> bool:
        healthy = not self.forbidden and not self.restarts
        return healthy and self.completed and self.output == 42 and self.events and self.lease


def _event_posted(kube: Kube, namespace: str, job: str) -> bool:
    events = kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={job}").items
    return any(e.involved_object.api_version == f"{GROUP}/{VERSION}" for e in events)


def _lease_held(kube: Kube, namespace: str) -> bool:
    try:
        lease: Any = client.CoordinationV1Api(kube.api_client).read_namespaced_lease(LEASE, namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return bool(lease.spec.holder_identity)


def _lease_renewed_after(kube: Kube, namespace: str, moment: datetime) -> bool:
    lease: Any = client.CoordinationV1Api(kube.api_client).read_namespaced_lease(LEASE, namespace)
    return bool(lease.spec.renew_time and lease.spec.renew_time > moment)


def run_double(taipod: Taipod, release: Release, timeout: float) -> Outcome:
    """Submit the double scenario; watch until it fully succeeds, the operator logs a 403, or ``timeout``.

    Once the job is COMPLETED its Events and the Lease get a few more seconds, not the whole timeout.
    """
    taipod.scenario("doubling", **DOUBLE)
    sub = taipod.submit("doubling")
    outcomes: list[Outcome] = []
    completed_at: list[float] = []

    def observe() -> Outcome:
        job = taipod.jobs(sub).get("double")
        outcome = Outcome(
            completed=((job or {}).get("status") or {}).get("status") == "COMPLETED",
            output=taipod.data_node("doubling", "output").get("value"),
            events=job is not None and _event_posted(release.kube, release.namespace, job["metadata"]["name"]),
            lease=_lease_held(release.kube, release.namespace),
            forbidden=[line for line in release.logs().splitlines() if "403" in line or "Forbidden" in line],
            restarts=release.restarts(),
        )
        outcomes.append(outcome)
        return outcome

    def decided() -> bool:
        outcome = observe()
        if outcome.completed and not completed_at:
            completed_at.append(time.monotonic())
        late = bool(completed_at) and time.monotonic() - completed_at[0] > 10
        return outcome.success or bool(outcome.forbidden) or bool(outcome.restarts) or late

    # On a timeout the outcome reached says what is missing; the callers assert on it.
    with contextlib.suppress(AssertionError):
        wait_until(decided, timeout, "the double scenario to succeed or fail", interval=0.5)
    return outcomes[-1] if outcomes else observe()


def test_helm_install_runs_a_scenario_end_to_end_and_uninstall_leaves_only_the_crds(
    cluster: ClusterHandle, kube: Kube, namespace: str, taipod: Taipod, install: Callable[..., Release],
    kubectl: Kubectl,
) -> None:  # fmt: skip
    release = install(_release_name())
    pod = release.operator_pod()
    old_pod = pod.metadata.name
    assert pod.spec.service_account_name == f"{release.name}-taipod"
    assert pod.spec.containers[0].command is None  # the image's entrypoint runs
    if kube.gone(lambda: kube.core.read_node("localkube-node")) is False:
        # On the local test node the operator is a process running the image's entrypoint.
        procs = subprocess.run(
            ["pgrep", "-af", "python -m taipod.operator"], capture_output=True, text=True, check=False
        )
        assert "python -m taipod.operator" in procs.stdout

    outcome = run_double(taipod, release, timeout=120)
    assert outcome.success, f"{outcome}\n--- operator log ---\n{release.logs()}"

    # helm upgrade replaces the operator (Recreate), and the new one renews the chart's Lease (server-side apply
    # of the chart does not conflict with the operator's writes to it).
    before = datetime.now(UTC)
    helm("upgrade", release.name, str(CHART), "--namespace", namespace, "--reuse-values", "--wait", "--timeout",
         "120s", "--set", "operator.imagePullGraceSeconds=60", kubeconfig=cluster.kubeconfig)  # fmt: skip
    pod = wait_until(
        lambda: (p := release.operator_pod()) and p.metadata.name != old_pod and p, 60, "the upgraded operator pod"
    )
    assert {e.name: e.value for e in pod.spec.containers[0].env}["TAIPOD_IMAGE_PULL_GRACE_SECONDS"] == "60"
    wait_until(lambda: _lease_renewed_after(kube, namespace, before), 60, "the Lease renewed by the new operator")

    # Delete what the test made (the garbage collector removes the jobs, their batch Jobs and pods), then uninstall.
    kubectl("delete", "submissions,scenarios", "--all", "--wait=false")
    wait_until(lambda: not taipod.list("jobs"), 60, "the taipod jobs deleted")
    wait_until(lambda: not kube.batch.list_namespaced_job(namespace).items, 60, "the batch Jobs deleted")

    def pod_names() -> list[str]:
        pods: list[Any] = kube.core.list_namespaced_pod(namespace).items
        return [p.metadata.name for p in pods]

    store = f"{release.name}-taipod-objectstore"
    wait_until(
        lambda: sorted(n for n in pod_names() if not n.startswith(store)) == [pod.metadata.name],
        60,
        "all pods but the operator's and the store's gone",
    )
    volumes: list[Any] = kube.core.list_persistent_volume().items
    pvs = [pv.metadata.name for pv in volumes if pv.spec.claim_ref and pv.spec.claim_ref.namespace == namespace]
    assert pvs, "the store's claim is bound to a volume"
    release.uninstall("--wait", "--timeout", "120s")
    # Helm waits for the Deployment, not for its pod: the garbage collector deletes that after, and the operator takes
    # a few seconds to stop (its reconciler first, then the Lease it releases for a standby).
    wait_until(lambda: not pod_names(), 90, "every pod of the release gone after the uninstall")

    # Nothing namespaced but what every namespace has (and the Events), the data the chart keeps on uninstall (the
    # store's claim and credentials: helm.sh/resource-policy keep), and what the operator wrote for the namespace's
    # users and task pods (where the data lives, and the credentials task pods read) ...
    types = kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout.split()
    leftovers = kubectl("get", ",".join(types), "-o", "name", "--ignore-not-found").stdout.split()
    expected = {
        "serviceaccount/default",
        "configmap/kube-root-ca.crt",
        f"persistentvolumeclaim/{store}",
        f"secret/{store}",
        "configmap/taipod-storage",
        "secret/taipod-storage",
    }
    assert {o for o in leftovers if not o.startswith("event")} == expected, leftovers
    kubectl("delete", f"persistentvolumeclaim/{store}", f"secret/{store}")  # deleting the kept data is the user's call
    # ... nothing cluster-scoped of the release, the data volumes released and deleted, and the CRDs still there.
    cluster_types = "clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings"
    assert kubectl("get", cluster_types, "-l", release.selector, "-o", "name").stdout == ""
    for name in pvs:

        def volume_gone(name: str = name) -> bool:
            return kube.gone(lambda: kube.core.read_persistent_volume(name))

        wait_until(volume_gone, 60, f"volume {name} deleted")
    for plural in ("scenarios", "submissions", "jobs"):
        assert kube.apiext.read_custom_resource_definition(f"{plural}.{GROUP}")
    assert helm("list", "--namespace", namespace, "-q", kubeconfig=cluster.kubeconfig).stdout.strip() == ""


@pytest.mark.parametrize(("kind", "index", "verb"), _removals())
def test_each_rbac_rule_and_verb_is_needed(
    kind: str,
    index: int,
    verb: str | None,
    namespace: str,
    taipod: Taipod,
    install: Callable[..., Release],
    kubectl: Kubectl,
) -> None:
    """The chart's RBAC minus one rule (or one verb of it): the scenario does not complete, or the operator logs a
    403."""
    name = _release_name()
    rbac = [d for d in _render(name, namespace) if d["kind"] in RBAC_KINDS + BINDING_KINDS]
    rules = next(d for d in rbac if d["kind"] == kind)["rules"]
    if verb is None:
        removed = rules.pop(index)
    else:
        rules[index]["verbs"].remove(verb)
        removed = {**rules[index], "verbs": [verb]}
    kubectl("create", "-f", "-", input=yaml.safe_dump_all(rbac))
    try:
        release = install(name, "--set", "rbac.create=false")
        outcome = run_double(taipod, release, timeout=60)
        assert not outcome.success, f"the operator needs no {removed}: drop it from templates/rbac.yaml"
        # The failure is the missing right's, not an operator that could not start at all.
        assert outcome.forbidden or not outcome.restarts, f"{outcome}\n--- operator log ---\n{release.logs()}"
    finally:
        cluster_scoped = [d for d in rbac if d["kind"].startswith("Cluster")]
        if cluster_scoped:
            kubectl("delete", "--ignore-not-found", "-f", "-", input=yaml.safe_dump_all(cluster_scoped))


@pytest.mark.parametrize("adoption", ["annotated", "take-ownership"])
def test_admission_policies_applied_from_taipod_manifests_are_adopted_by_helm_install(
    cluster: ClusterHandle, namespace: str, install: Callable[..., Release], kubectl: Kubectl, adoption: str
) -> None:
    """The plain-manifest path to Helm (issue 12): policies applied by hand make `helm install` fail with "exists and
    cannot be imported"; either `taipod manifests --release NAME` prints them owned by that release, or
    `--take-ownership` skips the ownership check, and the install then adopts them (the README's "From plain
    manifests to Helm")."""
    import sys

    name = _release_name()
    printed = subprocess.run(
        [sys.executable, "-m", "taipod.cli", "manifests", "--release", name, "--release-namespace", namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # Only the policies: the CRDs are the session's, already installed.
    owned = [d for d in yaml.safe_load_all(printed) if d and d["kind"].startswith("ValidatingAdmissionPolicy")]
    assert len(owned) == 4
    plain = [
        {**d, "metadata": {k: v for k, v in d["metadata"].items() if k != "annotations"}} for d in owned
    ]  # as applied by hand, without the release's ownership
    created = yaml.safe_dump_all(plain)
    kubectl("apply", "--server-side", "-f", "-", input=created)
    try:
        refused = helm(
            "install", name, str(CHART), "--namespace", namespace, *_serve(namespace), *_object_store(),
            kubeconfig=cluster.kubeconfig, check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and "cannot be imported" in refused.stderr, refused.stderr
        # Helm 4 applies server-side: fields kubectl set to other values (the watched namespaces) are taken over.
        if adoption == "annotated":
            kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(owned))
            install(name, "--force-conflicts")
        else:
            install(name, "--take-ownership", "--force-conflicts")
        for doc in owned:
            kind = doc["kind"].lower()
            got = kubectl("get", kind, doc["metadata"]["name"], "-o", "jsonpath={.metadata.labels.helm\\.sh/chart}")
            assert got.stdout.startswith("taipod-"), f"{kind} not adopted by the release: {got.stdout!r}"
    finally:
        kubectl("delete", "--ignore-not-found", "-f", "-", input=created, check=False)
