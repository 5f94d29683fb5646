"""The chart's rendered manifests against a real API server.

``kubectl apply --dry-run=server`` in each mode runs every object through the server's validation and admission
(schemas, RBAC escalation checks, the admission policy's CEL compilation, the restricted Pod Security Standard)
without creating anything; and a values file that breaks the schema fails ``helm install``.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from tests.conftest import ClusterHandle
from tests.helm import CHART, helm

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def _set(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


def _modes(namespace: str) -> dict[str, list[str]]:
    s3 = ("storage.type=s3", "storage.s3.url=s3://taipod-data/x", "storage.s3.secretName=creds")
    return {
        "cluster-wide": [],
        "namespaced": _set(f"watch.namespaces={{{namespace}}}"),
        "s3": _set(*s3),
        "namespaced-s3-no-policy": _set(f"watch.namespaces={{{namespace}}}", *s3, "admissionPolicy.enabled=false"),
        "namespaced-pvc": _set(f"watch.namespaces={{{namespace}}}", "storage.type=pvc"),
    }


@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced", "s3", "namespaced-s3-no-policy", "namespaced-pvc"])
def test_rendered_manifests_pass_server_side_dry_run(mode: str, namespace: str, kubectl: Kubectl) -> None:
    release = f"dry-{uuid.uuid4().hex[:6]}"
    rendered = helm(
        "template", release, str(CHART), "--namespace", namespace, "--include-crds", *_modes(namespace)[mode]
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    # The namespace asks for the restricted Pod Security Standard: the API server warns about any pod template
    # (here the operator's Deployment) that would violate it.
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/warn=restricted")
    proc = kubectl("apply", "--dry-run=server", "-f", "-", input=rendered)
    assert "PodSecurity" not in proc.stderr, proc.stderr
    applied = [line for line in proc.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(applied) == len(docs), proc.stdout + proc.stderr
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "ServiceAccount", "Lease", "CustomResourceDefinition"} <= kinds
    # Nothing was created.
    selector = f"app.kubernetes.io/instance={release}"
    assert kubectl("get", "deployments,serviceaccounts,roles", "-l", selector, "-o", "name").stdout == ""


def test_helm_install_refuses_values_that_break_the_schema(
    cluster: ClusterHandle, namespace: str, kubectl: Kubectl, tmp_path: Path
) -> None:
    bad = tmp_path / "values.yaml"
    bad.write_text("storage:\n  type: nfs\n  pvc:\n    size: 1Gi\n")
    release = f"bad-{uuid.uuid4().hex[:6]}"
    args = ["install", release, str(CHART), "--namespace", namespace, "--values", str(bad)]
    proc = helm(*args, kubeconfig=cluster.kubeconfig, check=False)
    assert proc.returncode != 0
    assert "at '/storage/type': value must be one of 'objectStore', 's3', 'pvc'" in proc.stderr
    assert helm("list", "--namespace", namespace, "-q", kubeconfig=cluster.kubeconfig).stdout.strip() == ""
    selector = f"app.kubernetes.io/instance={release}"
    assert kubectl("get", "all,serviceaccounts,roles", "-l", selector, "-o", "name").stdout == ""
