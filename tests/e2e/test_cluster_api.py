"""The API server's machinery that taipod relies on: CRDs with a status subresource,
ValidatingAdmissionPolicy, server-side dry run, and the advertised version."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest
from kubernetes.client.exceptions import ApiException
from tests.k8s_helpers import Kube, wait_until

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def widget_crd(kube: Kube) -> Iterator[tuple[str, str]]:
    group = f"t{uuid.uuid4().hex[:8]}.test.taipod.io"
    name = f"widgets.{group}"
    kube.apiext.create_custom_resource_definition(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {"size": {"type": "integer", "minimum": 1}},
                                    },
                                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
    wait_until(
        lambda: any(
            c.type == "Established" and c.status == "True"
            for c in kube.apiext.read_custom_resource_definition(name).status.conditions or []
        ),
        60,
        f"CRD {name} established",
    )
    try:
        yield group, name
    finally:
        kube.apiext.delete_custom_resource_definition(name)
        wait_until(
            lambda: kube.gone(lambda: kube.apiext.read_custom_resource_definition(name)), 60, f"CRD {name} deleted"
        )


def test_custom_resource_status_goes_through_the_subresource(
    kube: Kube, namespace: str, widget_crd: tuple[str, str]
) -> None:
    group, _ = widget_crd
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
        "status": {"phase": "ignored-on-create"},
    }
    # Discovery of a new group can lag a moment behind Established.
    created = wait_until(
        lambda: kube.custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", body),
        30,
        "widget created",
    )
    assert "status" not in created  # the main resource ignores status
    kube.custom.patch_namespaced_custom_object_status(
        group, "v1", namespace, "widgets", "w", {"status": {"phase": "Ready"}}
    )
    kube.custom.patch_namespaced_custom_object(group, "v1", namespace, "widgets", "w", {"status": {"phase": "x"}})
    got = kube.custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w")
    assert got["status"] == {"phase": "Ready"}
    assert got["spec"] == {"size": 3}
    with pytest.raises(ApiException) as err:
        kube.custom.create_namespaced_custom_object(
            group,
            "v1",
            namespace,
            "widgets",
            {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"size": 0}},
        )
    assert err.value.status == 422 and "spec.size" in err.value.body


def test_validating_admission_policy_denies(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    name = f"deny-forbidden-{uuid.uuid4().hex[:6]}"
    kube.admission.create_validating_admission_policy(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["configmaps"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "!has(object.metadata.labels) || !('forbidden' in object.metadata.labels)",
                        "message": "configmaps labelled forbidden are refused",
                    }
                ],
            },
        }
    )
    kube.admission.create_validating_admission_policy_binding(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
            },
        }
    )
    try:

        def denied() -> str:
            manifest = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{uuid.uuid4().hex[:6]}", "labels": {"forbidden": "yes"}},
            }
            proc = kubectl("create", "-f", "-", input=json.dumps(manifest), check=False)
            return proc.stderr if proc.returncode != 0 else ""

        # The policy takes effect once the API server has compiled it.
        message = wait_until(denied, 30, "the policy to deny")
        assert "configmaps labelled forbidden are refused" in message
        kubectl("create", "configmap", "allowed", "--from-literal=a=b")
    finally:
        kube.admission.delete_validating_admission_policy_binding(name)
        kube.admission.delete_validating_admission_policy(name)


def test_server_side_dry_run(kube: Kube, kubectl: Kubectl, namespace: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"k": "v"}}
    out = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(manifest)).stdout
    assert "configmap/dry created (server dry run)" in out
    assert kube.gone(lambda: kube.core.read_namespaced_config_map("dry", namespace))
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"}, "spec": {"containers": []}}
    proc = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False)
    assert proc.returncode != 0 and "spec.containers" in proc.stderr


def test_server_reports_its_version(kube: Kube, cluster: object) -> None:
    from kubernetes import client

    version = client.VersionApi(kube.api_client).get_code()
    assert version.major == "1" and int(version.minor.rstrip("+")) >= 30
