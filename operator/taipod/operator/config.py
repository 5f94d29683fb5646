"""The operator's settings, from environment variables (the Helm chart sets them)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from taipod._version import __version__
from taipod.core.election import Timing
from taipod.operator.metrics import parse_address
from taipod.storage import Access, is_remote

__all__ = ["EVENT_LEVELS", "OperatorConfig"]


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{key}={raw!r} is not an integer: set it to a number of seconds") from None


def _optional_seconds(env: Mapping[str, str], key: str) -> int | None:
    """A number of seconds (0 or more), or None when unset or empty."""
    if not env.get(key, "").strip():
        return None
    value = _int(env, key, 0)
    if value < 0:
        raise ValueError(f"{key}={value} is negative: set it to a number of seconds (0 or more), or leave it empty")
    return value


def _optional_delay(env: Mapping[str, str], key: str) -> timedelta | None:
    seconds = _optional_seconds(env, key)
    return None if seconds is None else timedelta(seconds=seconds)


def _json(env: Mapping[str, str], key: str, kind: type[Any], default: Any) -> Any:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise ValueError(f"{key} must be a JSON {kind.__name__} (for example {json.dumps(default or None)}): {raw!r}")
    return value


EVENT_LEVELS = ("warnings", "all", "none")


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{key}={raw!r} is not a number: set it to a number of seconds") from None


def _window(env: Mapping[str, str], key: str, default: timedelta) -> timedelta:
    seconds = _seconds(env, key, default.total_seconds())
    if not 0 <= seconds <= 60:
        raise ValueError(f"{key}={seconds:g} is out of range: set it to a number of seconds from 0 to 60")
    return timedelta(seconds=seconds)


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"{key}={raw!r} is not a boolean: set it to true or false")
    return raw in ("1", "true", "yes")


def _timing(env: Mapping[str, str]) -> Timing:
    defaults = Timing()
    try:
        return Timing(
            lease_duration=_seconds(env, "TAIPOD_LEADER_ELECTION_LEASE_DURATION", defaults.lease_duration),
            renew_deadline=_seconds(env, "TAIPOD_LEADER_ELECTION_RENEW_DEADLINE", defaults.renew_deadline),
            retry_period=_seconds(env, "TAIPOD_LEADER_ELECTION_RETRY_PERIOD", defaults.retry_period),
        )
    except ValueError as error:
        raise ValueError(f"TAIPOD_LEADER_ELECTION_*: {error}") from None


def _choice(env: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ValueError(f"{key}={raw!r} is not one of {', '.join(choices)}: set it to one of them")
    return raw


def _metrics_address(env: Mapping[str, str]) -> str:
    raw = env.get("TAIPOD_METRICS_ADDRESS", "").strip()
    if raw:
        parse_address(raw)  # a clear error now rather than when the server starts
    return raw


@dataclass(frozen=True)
class OperatorConfig:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    runner_image: str = f"ghcr.io/taipod/runner:{__version__}"
    runner_service_account: str = "taipod-runner"
    # Where data-node values live: s3://bucket/prefix on object storage (the default data plane; the chart's
    # objectStore and s3 modes, the local cluster), or file:///var/lib/taipod/data on a ReadWriteMany claim.
    storage_url: str = "file:///var/lib/taipod/data"
    storage_mount: str = "/var/lib/taipod/data"
    storage_pvc: str = (
        "taipod-data"  # the claim mounted in task pods (file URLs only); created per namespace if missing
    )
    storage_size: str = "1Gi"
    storage_class: str = ""
    storage_access_modes: tuple[str, ...] = ("ReadWriteMany",)
    storage_endpoint: str = ""  # the S3 endpoint as the operator and task pods reach it; empty: AWS
    storage_region: str = ""
    # The Secret of each namespace that task pods take their store credentials from; the operator writes it from its
    # own AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when it has them.
    storage_secret: str = "taipod-storage"
    storage_key: str = field(default="", repr=False)
    storage_secret_key: str = field(default="", repr=False)
    storage_create_bucket: bool = False
    image_pull_grace: timedelta = timedelta(seconds=120)
    # RUNNING is written once a pod has run this long, or with the job's end if it ends first (at the time it was
    # first seen running either way): sub-second tasks then cost one Job write fewer (core.plan.ScenarioFacts).
    running_after: timedelta = timedelta(seconds=0.25)
    # The dispatch window (TAIPOD_DISPATCH_WINDOW_SECONDS): a job just dispatched is written PENDING (or RUNNING)
    # only this long after its dispatch, or with its end if it ends first, in one write that keeps every status's
    # time (core.plan.ScenarioFacts); RUNNING alone is written this long after the pod was seen running (when longer
    # than running_after). 0: every status written at once.
    dispatch_window: timedelta = timedelta(seconds=1)
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz"
    lease_seconds: int = 30
    # Where task pods may run (e.g. a node pool): merged into every task pod's spec.
    task_node_selector: Mapping[str, str] = field(default_factory=dict)
    task_tolerations: tuple[Mapping[str, Any], ...] = ()
    # Which Kubernetes Events to post: "warnings" (failures, abandons, invalid specs), "all" (every transition),
    # or "none". Every transition is in the Job's status.history anyway; an Event per transition is three more
    # writes per job to the API server, which is what limits throughput at scale.
    events: str = "warnings"
    # Leader election among replicas (taipod.operator.election): off, the operator acts at once, alone. The chart
    # turns it on. Durations as client-go's (lease duration, renew deadline, retry period).
    leader_election: bool = False
    election: Timing = field(default_factory=Timing)
    # Where /metrics is served (host:port); empty: not served.
    metrics_address: str = ""
    # Retention (taipod's extensions to Taipy): seconds after which a finished submission is deleted with its jobs
    # unless it or its scenario says otherwise, and after which the batch Jobs and pods of a finished job are
    # deleted (its outcome stays in the Job resource). None: kept.
    submission_ttl_seconds: int | None = None
    task_pod_delete_after: timedelta | None = None

    def access(self) -> Access:
        """How the operator reaches the store (credentials None: botocore's standard chain)."""
        return Access(
            endpoint=self.storage_endpoint or None,
            key=self.storage_key or None,
            secret=self.storage_secret_key or None,
            region=self.storage_region or None,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        defaults = cls()
        storage_url = env.get("TAIPOD_STORAGE_URL") or defaults.storage_url
        # A claim only serves a file root: with object storage no volume is mounted unless one is named.
        default_pvc = "" if is_remote(storage_url) else defaults.storage_pvc
        namespaces = tuple(ns.strip() for ns in env.get("TAIPOD_NAMESPACES", "").split(",") if ns.strip())
        return cls(
            namespaces=namespaces,
            runner_image=env.get("TAIPOD_RUNNER_IMAGE") or defaults.runner_image,
            runner_service_account=env.get("TAIPOD_RUNNER_SERVICE_ACCOUNT", defaults.runner_service_account),
            storage_url=storage_url,
            storage_pvc=env.get("TAIPOD_STORAGE_PVC", default_pvc),
            storage_size=env.get("TAIPOD_STORAGE_SIZE") or defaults.storage_size,
            storage_class=env.get("TAIPOD_STORAGE_CLASS", ""),
            storage_access_modes=tuple(
                m.strip() for m in (env.get("TAIPOD_STORAGE_ACCESS_MODES") or "ReadWriteMany").split(",") if m.strip()
            ),
            storage_endpoint=env.get("TAIPOD_STORAGE_ENDPOINT", ""),
            storage_region=env.get("TAIPOD_STORAGE_REGION", ""),
            storage_secret=env.get("TAIPOD_STORAGE_SECRET", defaults.storage_secret),
            storage_key=env.get("AWS_ACCESS_KEY_ID", ""),
            storage_secret_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
            storage_create_bucket=env.get("TAIPOD_STORAGE_CREATE_BUCKET", "").strip().lower() in ("1", "true", "yes"),
            image_pull_grace=timedelta(seconds=_int(env, "TAIPOD_IMAGE_PULL_GRACE_SECONDS", 120)),
            dispatch_window=_window(env, "TAIPOD_DISPATCH_WINDOW_SECONDS", defaults.dispatch_window),
            liveness_endpoint=env.get("TAIPOD_LIVENESS_ENDPOINT", defaults.liveness_endpoint) or None,
            task_node_selector=_json(env, "TAIPOD_TASK_NODE_SELECTOR", dict, {}),
            task_tolerations=tuple(_json(env, "TAIPOD_TASK_TOLERATIONS", list, [])),
            events=_choice(env, "TAIPOD_EVENTS", EVENT_LEVELS, defaults.events),
            leader_election=_flag(env, "TAIPOD_LEADER_ELECTION", defaults.leader_election),
            election=_timing(env),
            metrics_address=_metrics_address(env),
            submission_ttl_seconds=_optional_seconds(env, "TAIPOD_SUBMISSION_TTL_SECONDS"),
            task_pod_delete_after=_optional_delay(env, "TAIPOD_TASK_POD_DELETE_AFTER_SECONDS"),
        )
