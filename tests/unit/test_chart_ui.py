"""The chart's job selector page (``ui.enabled``): off by default; when on, a restricted Deployment and a Service
with no RBAC and no service-account token (each request carries the user's own token)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from tests.helm import CHART, helm

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def render(*sets: str) -> list[dict[str, Any]]:
    args = [arg for pair in sets for arg in ("--set", pair)]
    out = helm("template", "rel", str(CHART), "--namespace", "ops", *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def ui_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if (d["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "ui"]


def test_the_page_is_off_by_default() -> None:
    assert ui_docs(render()) == []


def test_enabled_renders_a_restricted_deployment_and_a_service_without_rbac_or_token() -> None:
    docs = render("ui.enabled=true")
    kinds = sorted(d["kind"] for d in ui_docs(docs))
    assert kinds == ["Deployment", "Service"]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "rel-taipod-ui"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod  # the default account, and no token of it mounted
    (container,) = pod["containers"]
    assert container["command"][:3] == ["taipod", "ui", "--in-cluster"]
    assert "--all-namespaces" in container["command"] and "--port=8080" in container["command"]
    assert container["securityContext"] == RESTRICTED_CONTAINER
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/etc/taipod-ui/ca"}
    assert pod["volumes"] == [{"name": "api-ca", "configMap": {"name": "kube-root-ca.crt"}}]
    assert {"name": "TAIPOD_UI_CA_FILE", "value": "/etc/taipod-ui/ca/ca.crt"} in container["env"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/session"
    # Nothing grants the page rights: no Role, ClusterRole or binding names it.
    for doc in docs:
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            assert all("ui" not in s.get("name", "") for s in doc.get("subjects") or [])


def test_the_page_and_the_operator_select_different_pods() -> None:
    docs = render("ui.enabled=true")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    operator = deployments["rel-taipod"]["spec"]["selector"]["matchLabels"]
    ui = deployments["rel-taipod-ui"]["spec"]["selector"]["matchLabels"]
    ui_pod = deployments["rel-taipod-ui"]["spec"]["template"]["metadata"]["labels"]
    operator_pod = deployments["rel-taipod"]["spec"]["template"]["metadata"]["labels"]
    assert not all(ui_pod.get(k) == v for k, v in operator.items())
    assert not all(operator_pod.get(k) == v for k, v in ui.items())
    (service,) = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "rel-taipod-ui"]
    assert service["spec"]["selector"] == ui
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]


def test_namespace_port_service_and_resources_are_values() -> None:
    docs = render(
        "ui.enabled=true",
        "ui.namespace=team-a",
        "ui.port=9090",
        "ui.service.type=NodePort",
        "ui.service.port=8081",
        "ui.resources.limits.memory=1Gi",
    )
    (deployment,) = [d for d in ui_docs(docs) if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--namespace=team-a" in container["command"] and "--all-namespaces" not in container["command"]
    assert "--port=9090" in container["command"] and container["ports"] == [{"name": "http", "containerPort": 9090}]
    assert container["resources"]["limits"]["memory"] == "1Gi"
    (service,) = [d for d in ui_docs(docs) if d["kind"] == "Service"]
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["port"] == 8081


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("ui.enabled=maybe", "enabled"),
        ("ui.namespace=Not_A_Namespace", "namespace"),
        ("ui.port=80", "port"),
        ("ui.service.type=Ingress", "type"),
        ("ui.colour=blue", "colour"),
    ],
)
def test_the_schema_refuses_bad_ui_values_naming_them(value: str, word: str) -> None:
    done = helm("template", "rel", str(CHART), "--set", value, check=False)
    assert done.returncode != 0
    assert "/ui" in done.stderr and word in done.stderr, done.stderr
