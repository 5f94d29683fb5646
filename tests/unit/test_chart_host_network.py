"""The chart's operator.hostNetwork value (test-only, for the local cluster's real node) and operator.extraEnv."""

from __future__ import annotations

import yaml
from tests.helm import CHART, helm
from tests.unit.test_chart import VALUES_YAML, env_of, only, render


def _pod(*args: str) -> dict[str, object]:
    spec = only(render(*args), "Deployment")["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def test_host_network_is_off_by_default() -> None:
    assert yaml.safe_load(VALUES_YAML.read_text())["operator"]["hostNetwork"] is False
    pod = _pod()
    assert "hostNetwork" not in pod
    assert "dnsPolicy" not in pod


def test_host_network_puts_the_operator_in_the_nodes_network_with_its_dns_policy() -> None:
    pod = _pod("--set", "operator.hostNetwork=true")
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"


def test_host_network_keeps_the_restricted_security_context() -> None:
    plain = only(render(), "Deployment")["spec"]["template"]["spec"]
    hosted = only(render("--set", "operator.hostNetwork=true"), "Deployment")["spec"]["template"]["spec"]
    assert hosted["securityContext"] == plain["securityContext"]
    assert hosted["containers"][0]["securityContext"] == plain["containers"][0]["securityContext"]


def test_extra_env_reaches_the_operator_after_the_charts_own_variables() -> None:
    deployment = only(
        render(
            "--set",
            "operator.hostNetwork=true",
            "--set",
            "operator.extraEnv[0].name=KUBERNETES_SERVICE_HOST",
            "--set",
            "operator.extraEnv[0].value=127.0.0.1",
            "--set",
            "operator.extraEnv[1].name=KUBERNETES_SERVICE_PORT",
            "--set-string",
            "operator.extraEnv[1].value=6443",
        ),
        "Deployment",
    )
    env = env_of(deployment)
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    names = [e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert names[-2:] == ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]


def test_host_network_must_be_a_boolean() -> None:
    done = helm("template", "rel", str(CHART), "--set-string", "operator.hostNetwork=yes", check=False)
    assert done.returncode != 0
    assert "/operator/hostNetwork" in done.stderr
