"""The real images on a real node: the chart's operator image and the runner image on the upstream kubelet.

The rest of the suite runs pods as local processes on the node agent, which ignores images. Here the suite's local
cluster gets a real node (kubelet 1.36 + Debian's containerd and runc, localkube/realnode.py), the images are built
(``make images``'s pipeline, localkube/images.py) and pushed to a registry on 127.0.0.1, and the chart is installed
with them, its default security context unchanged (non-root, read-only root filesystem, all capabilities dropped):

- the operator pod becomes Ready on the real node;
- the documentation's double scenario (examples/double.yaml) runs its task pod from the runner image there: 42;
- a task whose image does not exist ends FAILED with an image-pull reason after the grace period (15 s here);
- a task over its memory limit ends FAILED OOMKilled, as the kubelet reports it;
- ``kubectl logs`` reads a task pod's log through the apiserver and the kubelet;
- the operator pod deleted: the Deployment starts another and every job still converges.

Test-only settings: the node has no Service network, so the operator pod uses the node's network
(``operator.hostNetwork``) and reaches the API server on 127.0.0.1 (``operator.extraEnv``); task pods have a network
namespace of their own that reaches nothing but the one port the node forwards there (``RealNode.forward``: the local
cluster's S3 server, storage.type s3, relayed through a unix socket). Task pods select the real node and tolerate its
taint through the operator's TAIPOD_TASK_NODE_SELECTOR and TAIPOD_TASK_TOLERATIONS.

Figures are printed (never asserted): the time from ``helm install`` to the operator Ready, and the double
scenario's end-to-end time on the real node against the node agent's in the same run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ClusterHandle
from tests.e2e.conftest import Taipod, dn, task
from tests.helm import CHART, helm
from tests.k8s_helpers import Kube, wait_until

from localkube import realnode
from localkube.errors import ClusterError
from taipod.operator.embedded import EmbeddedOperator

# The first test's fixtures may build the kubelet and the images (`make test` builds both before pytest; cached after).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PULL_GRACE_SECONDS = 15
FIGURES: dict[str, float] = {}
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _figure(name: str, seconds: float) -> None:
    FIGURES[name] = seconds
    print(f"\nreal node: {name}: {seconds:.1f} s", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Images:
    operator: str  # pullable references on the loopback registry
    runner: str
    registry: str  # "127.0.0.1:PORT"


@pytest.fixture(scope="module")
def real_node(cluster: ClusterHandle) -> Iterator[realnode.RealNode]:
    """The real node, started on the suite's local cluster for this module, and stopped after it (checking that it
    left nothing behind)."""
    if cluster.local is None:
        pytest.skip("the real node runs only on the suite's local cluster, and KUBECONFIG names another")
    reason = realnode.missing_reason()
    if reason:
        pytest.skip(reason)
    node = realnode.RealNode(cluster.local)
    host_before = _host_settings()
    started = time.monotonic()
    try:
        node.start()
    except ClusterError as exc:
        node.stop()
        pytest.fail(f"the real node did not start: {exc}")
    _figure("real node start (containerd, kubelet, node Ready)", time.monotonic() - started)
    try:
        yield node
    finally:
        node.stop()
        left = realnode.leftovers(node.paths.base)
        assert not left, f"the real node left these behind: {left}"
        assert _host_settings() == host_before, "the real node changed the host's settings"


def _host_settings() -> dict[str, object]:
    """The sysctls the kubelet sets and which of the host folders it may create exist."""
    sysctls = {name: Path("/proc/sys", *name.split(".")).read_text().strip() for name in realnode.KUBELET_SYSCTLS}
    return {"sysctls": sysctls, "dirs": {str(d): d.exists() for d in realnode.HOST_DIRS}}


@pytest.fixture(scope="module")
def images(real_node: realnode.RealNode) -> Iterator[Images]:
    """The operator image and the runner image of this Python version, built (cached) and pushed to a registry on
    127.0.0.1 that the node's containerd pulls from over plain HTTP."""
    from localkube import images as pipeline

    reason = pipeline.missing_reason()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    names = ["operator", f"runner-py{sys.version_info.major}.{sys.version_info.minor}"]
    try:
        built = pipeline.ensure_images(names)
    except ClusterError as exc:
        pytest.fail(f"building the images failed: {exc}")
    _figure("images ready (built or cached)", time.monotonic() - started)
    registry = pipeline.LocalRegistry(real_node.paths.base / "registry")
    host = registry.start()
    try:
        real_node.trust_registry(host)
        yield Images(
            operator=pipeline.push(built[names[0]], host), runner=pipeline.push(built[names[1]], host), registry=host
        )
    finally:
        registry.stop()


def _repository_and_tag(reference: str) -> tuple[str, str]:
    repository, tag = reference.rsplit(":", 1)
    return repository, tag


@dataclass
class RealRelease:
    name: str
    namespace: str
    kube: Kube
    taipod: Taipod
    kubectl: Kubectl
    images: Images

    def operator_pods(self) -> list[Any]:
        selector = f"app.kubernetes.io/instance={self.name},app.kubernetes.io/component=operator"
        pods: list[Any] = self.kube.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        return pods

    def ready_operator(self) -> Any:
        for pod in self.operator_pods():
            ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
            if ready and not pod.metadata.deletion_timestamp:
                return pod
        return None


@pytest.fixture(scope="module")
def release(
    cluster: ClusterHandle, kube: Kube, real_node: realnode.RealNode, images: Images, taipod_installed: None
) -> Iterator[RealRelease]:
    """The chart installed with the freshly built images, its operator on the real node, serving its own namespace."""
    namespace = f"t-real-node-{uuid.uuid4().hex[:6]}"
    kube.core.create_namespace({"metadata": {"name": namespace, "labels": {"taipod-test": "true"}}})
    wait_until(lambda: kube.core.read_namespaced_service_account("default", namespace), 60, "default ServiceAccount")
    name = f"tp-{uuid.uuid4().hex[:6]}"
    assert cluster.local is not None
    store = cluster.local.s3
    real_node.forward(int(store.endpoint.rsplit(":", 1)[1]))  # task pods reach it on 127.0.0.1 in their netns
    kube.core.create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": "s3-credentials"},
            "stringData": {"AWS_ACCESS_KEY_ID": store.access_key, "AWS_SECRET_ACCESS_KEY": store.secret_key},
        },
    )
    operator_repo, operator_tag = _repository_and_tag(images.operator)
    runner_repo, runner_tag = _repository_and_tag(images.runner)
    api_port = cluster.local.state.ports["apiserver"] if cluster.local and cluster.local.state else 0
    on_real_node = json.dumps({realnode.REAL_NODE_LABEL: "true"})
    tolerate = json.dumps([{"key": realnode.REAL_NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}])
    extra_env = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(api_port),
        "TAIPOD_TASK_NODE_SELECTOR": on_real_node,
        "TAIPOD_TASK_TOLERATIONS": tolerate,
    }
    env_args = []
    for index, (key, value) in enumerate(extra_env.items()):
        env_args += ["--set", f"operator.extraEnv[{index}].name={key}"]
        env_args += ["--set-json", f"operator.extraEnv[{index}].value={json.dumps(value)}"]
    started = time.monotonic()
    helm(
        "install", name, str(CHART), "--namespace", namespace,
        "--set", f"watch.namespaces={{{namespace}}}",
        "--set", f"image.operator.repository={operator_repo}", "--set", f"image.operator.tag={operator_tag}",
        "--set", f"image.runner.repository={runner_repo}", "--set", f"image.runner.tag={runner_tag}",
        "--set", "storage.type=s3", "--set", f"storage.s3.url=s3://{store.bucket}/{namespace}",
        "--set", f"storage.s3.endpoint={store.endpoint}", "--set", "storage.s3.secretName=s3-credentials",
        "--set", "operator.hostNetwork=true", "--set", f"operator.healthPort={_free_port()}",
        "--set", f"operator.imagePullGraceSeconds={PULL_GRACE_SECONDS}",
        "--set-json", f"operator.nodeSelector={on_real_node}",
        "--set-json", f"operator.tolerations={tolerate}",
        *env_args,
        kubeconfig=cluster.kubeconfig,
    )  # fmt: skip
    from tests.conftest import Kubectl as KubectlRunner

    result = RealRelease(
        name, namespace, kube, Taipod(kube, namespace), KubectlRunner(cluster.kubeconfig, namespace), images
    )
    try:
        wait_until(result.ready_operator, 300, lambda: f"the operator Ready on the real node: {_pods_state(result)}")
        _figure("helm install to operator Ready", time.monotonic() - started)
        yield result
    finally:
        helm(
            "uninstall",
            name,
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            "120s",
            kubeconfig=cluster.kubeconfig,
            check=False,
        )
        kube.delete_namespace(namespace)
        wait_until(lambda: kube.gone(lambda: kube.core.read_namespace(namespace)), 180, f"namespace {namespace} gone")


def _pods_state(release: RealRelease) -> str:
    pods = release.kube.core.list_namespaced_pod(release.namespace).items
    return "; ".join(
        f"{p.metadata.name} on {p.spec.node_name}: {p.status.phase} "
        + ",".join(str(s.state.waiting.reason) for s in p.status.container_statuses or [] if s.state.waiting)
        for p in pods
    )


def _task_pod(release: RealRelease, job: dict[str, Any]) -> Any:
    pods = release.kube.core.list_namespaced_pod(release.namespace).items
    uid = job["metadata"]["uid"]
    name = job["metadata"]["name"]
    for pod in pods:
        labels = pod.metadata.labels or {}
        if any(value in (uid, name) for value in labels.values()) or name in pod.metadata.name:
            return pod
    return None


def test_operator_is_ready_on_the_real_node_under_the_default_security_context(release: RealRelease) -> None:
    pod = release.ready_operator()
    assert pod.spec.node_name == realnode.REAL_NODE_NAME
    (container,) = pod.spec.containers
    assert container.image == release.images.operator
    security = container.security_context
    assert security.run_as_non_root and security.read_only_root_filesystem
    assert not security.allow_privilege_escalation and not security.privileged
    assert security.capabilities.drop == ["ALL"]
    assert pod.spec.security_context.run_as_user == 10001
    (status,) = pod.status.container_statuses
    assert status.ready and status.image_id, status


def test_double_scenario_runs_in_the_runner_image_and_gives_42(release: RealRelease) -> None:
    started = time.monotonic()
    release.kubectl("apply", "-f", str(EXAMPLES / "double.yaml"))
    jobs = release.taipod.wait_jobs("doubling-1", {"double": "COMPLETED"}, timeout=300)
    _figure("double scenario end to end on the real node", time.monotonic() - started)
    value = release.kubectl("get", "scenario", "doubling", "-o", "jsonpath={.status.dataNodes.output.value}").stdout
    assert value == "42"
    pod = _task_pod(release, jobs["double"])
    assert pod is not None, _pods_state(release)
    assert pod.spec.node_name == realnode.REAL_NODE_NAME
    assert pod.spec.containers[0].image == release.images.runner
    assert pod.status.pod_ip.startswith("127.77."), pod.status.pod_ip  # its own network namespace


def test_kubectl_logs_of_a_task_pod(release: RealRelease) -> None:
    jobs = release.taipod.wait_jobs("doubling-1", {"double": "COMPLETED"}, timeout=300)
    pod = _task_pod(release, jobs["double"])
    assert pod is not None
    logs = release.kubectl("logs", pod.metadata.name).stdout
    assert "taipod runner:" in logs, logs


def test_double_scenario_on_the_node_agent_for_comparison(
    real_node: realnode.RealNode, kubectl: Kubectl, taipod: Taipod, operator: EmbeddedOperator
) -> None:
    """The same scenario on the node agent, in the same run, for the printed comparison (skipped with the tier)."""
    started = time.monotonic()
    kubectl("apply", "-f", str(EXAMPLES / "double.yaml"))
    taipod.wait_jobs("doubling-1", {"double": "COMPLETED"})
    agent = time.monotonic() - started
    _figure("double scenario end to end on the node agent (embedded operator)", agent)
    real = FIGURES.get("double scenario end to end on the real node")
    if real is not None:
        print(
            f"real node: double scenario {real:.1f} s on the real node, {agent:.1f} s on the node agent",
            file=sys.stderr,
        )


def test_task_whose_image_does_not_exist_fails_with_an_image_pull_reason(release: RealRelease) -> None:
    missing = f"{release.images.registry}/taipod/does-not-exist:0"
    release.taipod.scenario(
        "no-image",
        [dn("x", defaultData=1), dn("y")],
        [task("copy", "taipod.samples:double", ["x"], ["y"], image=missing)],
    )
    sub = release.taipod.submit("no-image")
    job = release.taipod.wait_job(sub, "copy", {"FAILED"}, timeout=PULL_GRACE_SECONDS + 180)
    failed_at = datetime.now(UTC)
    assert "ImagePull" in job["status"]["reason"], job["status"]
    pod = _task_pod(release, job)
    assert pod is not None and pod.spec.node_name == realnode.REAL_NODE_NAME
    waited = (failed_at - pod.metadata.creation_timestamp).total_seconds()
    # Not before the grace period (creationTimestamp has whole seconds, hence the one second).
    assert waited >= PULL_GRACE_SECONDS - 1, waited
    print(
        f"\nreal node: image-pull failure {waited:.1f} s after the pod (grace {PULL_GRACE_SECONDS} s)", file=sys.stderr
    )


def test_task_over_its_memory_limit_fails_oomkilled(release: RealRelease) -> None:
    release.taipod.scenario(
        "hungry",
        [dn("mb", defaultData=400), dn("out")],
        [task("eat", "taipod.samples:allocate_mb", ["mb"], ["out"], resources={"limits": {"memory": "64Mi"}})],
    )
    sub = release.taipod.submit("hungry")
    failed = release.taipod.wait_job(sub, "eat", {"FAILED"}, timeout=300)["status"]
    assert failed["reason"] == "OOMKilled", failed


def test_operator_pod_deleted_is_replaced_and_every_job_converges(release: RealRelease) -> None:
    release.taipod.scenario(
        "chain",
        [dn("a", defaultData=1), dn("b"), dn("c"), dn("d")],
        [
            task("one", "taipod.samples:double", ["a"], ["b"]),
            task("two", "taipod.samples:double", ["b"], ["c"]),
            task("three", "taipod.samples:double", ["c"], ["d"]),
        ],
    )
    sub = release.taipod.submit("chain")
    before = release.ready_operator()
    release.kube.core.delete_namespaced_pod(before.metadata.name, release.namespace, grace_period_seconds=0)

    def replaced() -> Any:
        pod = release.ready_operator()
        return pod if pod is not None and pod.metadata.uid != before.metadata.uid else None

    replacement = wait_until(replaced, 300, lambda: f"a new operator pod Ready: {_pods_state(release)}")
    assert replacement.spec.node_name == realnode.REAL_NODE_NAME
    release.taipod.wait_jobs(sub, dict.fromkeys(("one", "two", "three"), "COMPLETED"), timeout=300)
    assert release.taipod.data_node("chain", "d")["value"] == 8
