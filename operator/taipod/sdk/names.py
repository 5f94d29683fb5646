"""Names, labels, annotations and timestamps of the objects the SDK creates (pure).

The resource contract: Scenario names are ``<config id lowercased, '_' -> '-', at most 40 characters>-<8 hex>`` and
Submission names ``<scenario name>-<8 hex>``; the Job CRs are named by the operator. Task, sequence and data-node ids
follow Taipy's ``<KIND>_<name>_<owner id>`` pattern, with the Scenario's name as owner id (Kubernetes names hold no
underscore, so the last ``_`` separates the two).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from taipod.api.models import GROUP, VERSION

__all__ = [
    "ANNOTATION_CANCEL",
    "ANNOTATION_CONFIG_ID",
    "ANNOTATION_CREATED_AT",
    "ANNOTATION_DISPLAY_NAME",
    "ANNOTATION_FORCE_DELETE",
    "ANNOTATION_PROPERTIES",
    "GLOBAL_HOLDER",
    "GROUP",
    "JOB_PLURAL",
    "LABEL_CONFIG_ID",
    "LABEL_SCENARIO",
    "LABEL_SUBMISSION",
    "LEASE_NAME",
    "SCENARIO_PLURAL",
    "SUBMISSION_PLURAL",
    "VERSION",
    "cycle_holder",
    "entity_id",
    "format_time",
    "functions_config_map_name",
    "parse_entity_id",
    "parse_time",
    "scenario_name",
    "shared_scope",
    "submission_name",
]

SCENARIO_PLURAL = "scenarios"
SUBMISSION_PLURAL = "submissions"
JOB_PLURAL = "jobs"

LABEL_SCENARIO = "taipod.io/scenario"
LABEL_SUBMISSION = "taipod.io/submission"
LABEL_CONFIG_ID = "taipod.io/config-id"
ANNOTATION_CANCEL = "taipod.io/cancel"
ANNOTATION_FORCE_DELETE = "taipod.io/force-delete"
ANNOTATION_CREATED_AT = "taipod.io/created-at"
ANNOTATION_CONFIG_ID = "taipod.io/config-id"
ANNOTATION_DISPLAY_NAME = "taipod.io/display-name"
ANNOTATION_PROPERTIES = "taipod.io/properties"
LEASE_NAME = "taipod-operator"

_SCENARIO_PREFIX_MAX = 40
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_KINDS = ("TASK", "SEQUENCE", "DATANODE")


def _suffix() -> str:
    return secrets.token_hex(4)


def scenario_prefix(config_id: str) -> str:
    """The DNS-label part of a Scenario name derived from its config id (lowercase, ``_`` -> ``-``, <= 40 chars)."""
    slug = _NOT_DNS.sub("-", config_id.lower().replace("_", "-"))
    slug = slug[:_SCENARIO_PREFIX_MAX].strip("-")
    return slug or "scenario"


def scenario_name(config_id: str, suffix: str | None = None) -> str:
    """``<config id lowercased, '_' -> '-', at most 40 chars>-<8 hex>``: a valid name, unique in practice."""
    return f"{scenario_prefix(config_id)}-{suffix or _suffix()}"


def submission_name(scenario: str, suffix: str | None = None) -> str:
    """``<scenario name>-<8 hex>`` (at most 58 characters for a name made by ``scenario_name``)."""
    return f"{scenario}-{suffix or _suffix()}"


def functions_config_map_name(scenario: str) -> str:
    """The ConfigMap holding the scenario's functions shipped by value."""
    return f"{scenario}-functions"


GLOBAL_HOLDER = "GLOBAL"  # not a DNS label (upper case), so never a scenario's name


def cycle_holder(cycle: str) -> str:
    """What stands for the scenario in the id of a CYCLE data node: one id for the whole cycle."""
    return f"CYCLE.{cycle}"


def shared_scope(holder: str) -> tuple[str, str | None] | None:
    """``("GLOBAL", None)`` or ``("CYCLE", cycle)`` for the holder part of a shared data node's id, else None."""
    if holder == GLOBAL_HOLDER:
        return "GLOBAL", None
    if holder.startswith("CYCLE."):
        return "CYCLE", holder[len("CYCLE.") :]
    return None


def entity_id(kind: str, name: str, scenario: str) -> str:
    """Taipy-style id of a task, sequence or data node of a scenario: ``TASK_double_task_my-scenario-1a2b3c4d``."""
    if kind not in _KINDS:
        raise ValueError(f"unknown entity kind {kind!r}")
    return f"{kind}_{name}_{scenario}"


def parse_entity_id(text: str) -> tuple[str, str, str] | None:
    """``(kind, name, scenario)`` for an id made by ``entity_id``, else None."""
    kind, sep, rest = text.partition("_")
    if not sep or kind not in _KINDS:
        return None
    name, sep, scenario = rest.rpartition("_")
    if not sep or not name or not scenario:
        return None
    return kind, name, scenario


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as the operator writes its timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """A timezone-aware datetime from RFC 3339 (with or without fractional seconds)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
