"""Each error names its cause and its fix: no cluster, no CRDs, forbidden, unknown entities (no cluster needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config import kube_config

import taipod as tp
from taipod import Config
from taipod.sdk import cluster as sdk_cluster


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("KUBECONFIG", "TAIPOD_NAMESPACE", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(var, raising=False)
    Config.reset()
    sdk_cluster.reset()
    yield
    Config.reset()
    sdk_cluster.reset()


def kubeconfig(tmp_path: Path, server: str = "https://127.0.0.1:1", namespace: str | None = "team-a") -> Path:
    context: dict[str, str] = {"cluster": "c", "user": "u"}
    if namespace:
        context["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "ctx", "context": context}],
                "current-context": "ctx",
            }
        )
    )
    return path


def test_no_cluster_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("KUBECONFIG", "TAIPOD_TEST_KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(variable, raising=False)  # the suite may run against a cluster named by KUBECONFIG
    # The client reads KUBECONFIG once, at import: point its default at the empty home too.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / ".kube" / "config"))
    with pytest.raises(tp.ClusterUnreachableError, match=r"no Kubernetes cluster is configured.*Fix"):
        tp.get_jobs()


def test_cluster_not_reachable(tmp_path: Path) -> None:
    Config.configure_cluster(kubeconfig=kubeconfig(tmp_path))
    with pytest.raises(tp.ClusterUnreachableError) as info:
        tp.get_jobs()
    assert "https://127.0.0.1:1" in str(info.value) and "not reachable" in str(info.value)
    assert "Fix" in str(info.value)


def test_namespace_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Config.configure_cluster(kubeconfig=kubeconfig(tmp_path))
    assert sdk_cluster.current().namespace == "team-a"
    monkeypatch.setenv("TAIPOD_NAMESPACE", "from-env")
    assert sdk_cluster.current().namespace == "from-env"
    Config.configure_cluster(namespace="explicit")
    assert sdk_cluster.current().namespace == "explicit"
    Config.reset()
    monkeypatch.delenv("TAIPOD_NAMESPACE")
    Config.configure_cluster(kubeconfig=kubeconfig(tmp_path, namespace=None))
    assert sdk_cluster.current().namespace == "default"


def api_error(status: int, body: object) -> ApiException:
    exc = ApiException(status=status, reason="X")
    exc.body = body if isinstance(body, str) else json.dumps(body)
    return exc


def test_api_errors_are_translated(tmp_path: Path) -> None:
    Config.configure_cluster(kubeconfig=kubeconfig(tmp_path))
    cluster = sdk_cluster.current()
    crds = cluster.error(api_error(404, "404 page not found\n"), "list jobs")
    assert isinstance(crds, tp.CrdsNotInstalledError)
    assert "CRDs are not installed" in str(crds) and "helm install taipod charts/taipod" in str(crds)
    forbidden = cluster.error(api_error(403, {"kind": "Status", "message": "jobs is forbidden: user x"}), "list jobs")
    assert isinstance(forbidden, tp.ForbiddenError) and "RBAC" in str(forbidden) and "user x" in str(forbidden)
    missing_ns = {"kind": "Status", "reason": "NotFound", "details": {"name": "team-a", "kind": "namespaces"}}
    assert "does not exist" in str(cluster.error(api_error(404, missing_ns), "create a scenario"))
    not_found = api_error(404, {"kind": "Status", "reason": "NotFound", "details": {"name": "x", "kind": "jobs"}})
    assert cluster.error(not_found, "read") is not_found  # an object that does not exist: the caller decides
    assert sdk_cluster.is_not_found(not_found)
    refused = cluster.error(api_error(422, {"kind": "Status", "message": "spec.tasks: Invalid value"}), "create")
    assert "spec.tasks: Invalid value" in str(refused)


def test_entity_errors() -> None:
    error = tp.NonExistingScenario("sc-1", "ns")
    assert isinstance(error, LookupError) and "'sc-1' does not exist in namespace 'ns'" in str(error)
    job_error = tp.JobNotDeletedException("job-1", tp.Status.PENDING)
    assert job_error.args == ("job-1",) and "PENDING" in str(job_error) and "cancel" in str(job_error)
