"""Fixtures shared by the whole suite.

Tests that need Kubernetes ask for ``cluster`` (or ``namespace``/``kubectl``). The cluster
is the one named by ``TAIPOD_TEST_KUBECONFIG`` or ``KUBECONFIG`` when set (kind, a real
cluster, or ``make cluster-up``), otherwise a local control plane started once per test run
from tests/cluster/ and stopped at the end. Each test gets its own namespace, deleted after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.k8s_helpers import Kube, wait_until

from localkube.cluster import LocalCluster
from localkube.errors import ClusterError


@dataclass(frozen=True)
class ClusterHandle:
    kubeconfig: Path
    local: LocalCluster | None  # None when the suite runs against an existing cluster

    @property
    def is_local(self) -> bool:
        return self.local is not None


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterHandle]:
    given = os.environ.get("TAIPOD_TEST_KUBECONFIG") or os.environ.get("KUBECONFIG")
    if given:
        yield ClusterHandle(Path(given.split(os.pathsep)[0]), None)
        return
    state_dir = Path(tempfile.mkdtemp(prefix="taipod-test-cluster-"))
    local = LocalCluster(state_dir)
    try:
        local.start()
    except ClusterError as exc:
        local.stop()
        pytest.exit(f"the local Kubernetes cluster could not start: {exc}", returncode=3)
    try:
        yield ClusterHandle(local.kubeconfig, local)
    finally:
        local.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@dataclass(frozen=True)
class S3Store:
    """The S3 server the tests' data goes to (the local cluster's, or one named by TAIPOD_TEST_S3_*)."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/data"


@pytest.fixture(scope="session")
def s3(cluster: ClusterHandle) -> S3Store:
    endpoint = os.environ.get("TAIPOD_TEST_S3_ENDPOINT")
    if endpoint:
        return S3Store(
            endpoint,
            os.environ.get("TAIPOD_TEST_S3_ACCESS_KEY", ""),
            os.environ.get("TAIPOD_TEST_S3_SECRET_KEY", ""),
            os.environ.get("TAIPOD_TEST_S3_BUCKET", "taipod"),
        )
    local = getattr(cluster.local, "s3", None)
    if local is None:
        pytest.skip("no S3 server: the cluster is not the local one; set TAIPOD_TEST_S3_ENDPOINT and its keys")
    return S3Store(local.endpoint, local.access_key, local.secret_key, local.bucket)


@pytest.fixture(scope="session")
def kube(cluster: ClusterHandle) -> Iterator[Kube]:
    kube = Kube(cluster.kubeconfig)
    yield kube
    # Namespaces are deleted after each test; waiting for them once, here, keeps tests fast
    # and still proves the run leaves nothing behind.
    kube.wait_namespaces_gone(_deleted_namespaces)


_deleted_namespaces: list[str] = []


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    base = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:6]}"
    kube.core.create_namespace({"metadata": {"name": name, "labels": {"taipod-test": "true"}}})
    # Pods are refused until the ServiceAccount controller has made the default account.
    wait_until(
        lambda: kube.core.read_namespaced_service_account("default", name) is not None,
        60,
        f"serviceaccount default in {name}",
    )
    try:
        yield name
    finally:
        kube.delete_namespace(name)
        _deleted_namespaces.append(name)


@dataclass
class Kubectl:
    kubeconfig: Path
    namespace: str

    def __call__(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        proc = subprocess.run(
            [exe, "-n", self.namespace, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc


@pytest.fixture
def kubectl(cluster: ClusterHandle, namespace: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    return Kubectl(cluster.kubeconfig, namespace)
