"""The chart's high availability and metrics: replicas and leader election, the metrics port and Service, the
optional ServiceMonitor and the Grafana dashboard ConfigMap."""

from __future__ import annotations

import json

import pytest
from tests.helm import CHART, helm
from tests.unit.test_chart import _set, env_of, of_kind, only, render


def test_two_replicas_elect_a_leader() -> None:
    docs = render(*_set("operator.replicas=2"))
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # the default
    env = env_of(deployment)
    assert env["TAIPOD_LEADER_ELECTION"] == "true"
    assert (
        env["TAIPOD_LEADER_ELECTION_LEASE_DURATION"],
        env["TAIPOD_LEADER_ELECTION_RENEW_DEADLINE"],
        env["TAIPOD_LEADER_ELECTION_RETRY_PERIOD"],
    ) == ("15", "10", "2")
    # Every replica reads the election's Lease and writes it only through patches conditional on its version.
    lease_role = only(docs, "Role", "rel-taipod-lease")
    assert lease_role["rules"][0]["verbs"] == ["get", "patch"]
    assert lease_role["rules"][0]["resourceNames"] == ["taipod-operator"]


def test_rolling_updates_with_the_election() -> None:
    deployment = only(render(*_set("operator.replicas=2", "operator.updateStrategy=RollingUpdate")), "Deployment")
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_election_timings_are_settings() -> None:
    env = env_of(
        only(
            render(
                *_set(
                    "operator.leaderElection.leaseDurationSeconds=8",
                    "operator.leaderElection.renewDeadlineSeconds=5",
                    "operator.leaderElection.retryPeriodSeconds=1",
                )
            ),
            "Deployment",
        )
    )
    assert [env[f"TAIPOD_LEADER_ELECTION_{k}"] for k in ("LEASE_DURATION", "RENEW_DEADLINE", "RETRY_PERIOD")] == [
        "8",
        "5",
        "1",
    ]


def test_one_replica_without_election_is_recreated_and_never_reads_the_lease() -> None:
    docs = render(*_set("operator.leaderElection.enabled=false"))
    deployment = only(docs, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    env = env_of(deployment)
    assert env["TAIPOD_LEADER_ELECTION"] == "false"
    assert "TAIPOD_LEADER_ELECTION_LEASE_DURATION" not in env
    assert only(docs, "Role", "rel-taipod-lease")["rules"][0]["verbs"] == ["patch"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["operator.replicas=2", "operator.leaderElection.enabled=false"], "needs operator.leaderElection.enabled"),
        (["operator.leaderElection.renewDeadlineSeconds=15"], "renewDeadlineSeconds must be below leaseDuration"),
        (["operator.leaderElection.retryPeriodSeconds=10"], "retryPeriodSeconds must be below renewDeadline"),
        (["operator.replicas=0"], "replicas"),
        (
            ["operator.updateStrategy=RollingUpdate", "operator.leaderElection.enabled=false"],
            "RollingUpdate needs operator.leaderElection.enabled",
        ),
        (["operator.updateStrategy=Rolling"], "updateStrategy"),
    ],
)
def test_unsafe_election_settings_are_refused_naming_the_value(values: list[str], message: str) -> None:
    proc = helm("template", "rel", str(CHART), *_set(*values), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_metrics_port_container_and_service() -> None:
    docs = render(*_set("metrics.port=9400"))
    deployment = only(docs, "Deployment")
    assert env_of(deployment)["TAIPOD_METRICS_ADDRESS"] == "0.0.0.0:9400"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {"name": "metrics", "containerPort": 9400, "protocol": "TCP"} in container["ports"]
    service = only(docs, "Service", "rel-taipod-metrics")
    assert service["metadata"]["namespace"] == "ops"
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9400, "targetPort": "metrics", "protocol": "TCP"}]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "operator"  # not the object store's pod
    assert not of_kind(docs, "ServiceMonitor")
    assert not [d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard")]


def test_metrics_off_serves_nothing() -> None:
    docs = render(*_set("metrics.enabled=false", "metrics.serviceMonitor.enabled=true"))
    deployment = only(docs, "Deployment")
    assert env_of(deployment)["TAIPOD_METRICS_ADDRESS"] == ""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert [p["name"] for p in container["ports"]] == ["health"]
    assert not [d for d in of_kind(docs, "Service") if d["metadata"]["name"] == "rel-taipod-metrics"]
    assert not of_kind(docs, "ServiceMonitor")


def test_service_monitor_scrapes_the_metrics_service() -> None:
    docs = render(
        *_set(
            "metrics.serviceMonitor.enabled=true",
            "metrics.serviceMonitor.interval=15s",
            "metrics.serviceMonitor.labels.release=prom",
        )
    )
    monitor = only(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    service = only(docs, "Service", "rel-taipod-metrics")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["ops"]}


def test_bad_service_monitor_interval_is_refused_by_the_schema() -> None:
    proc = helm("template", "rel", str(CHART), *_set("metrics.serviceMonitor.interval=often"), check=False)
    assert proc.returncode != 0 and "interval" in proc.stderr


def test_dashboard_configmap_for_the_grafana_sidecar_queries_the_operators_metrics() -> None:
    docs = render(*_set("metrics.dashboard.enabled=true"))
    config_map = only(docs, "ConfigMap", "rel-taipod-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["taipod.json"])
    assert dashboard["uid"] == "taipod-operator"
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    for metric in (
        "taipod_leader",
        "taipod_jobs",
        "taipod_job_transitions_total",
        "taipod_reconcile_duration_seconds_bucket",
        "taipod_reconcile_queue_depth",
        "taipod_dispatch_latency_seconds_bucket",
        "taipod_api_requests_total",
        "taipod_api_errors_total",
    ):
        assert metric in exprs, metric
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert len(titles) == len(set(titles))


def test_helm_lint_with_everything_on() -> None:
    args = _set("operator.replicas=3", "metrics.serviceMonitor.enabled=true", "metrics.dashboard.enabled=true")
    assert "0 chart(s) failed" in helm("lint", "--strict", str(CHART), *args).stdout
