"""Generate the CustomResourceDefinitions in ``crds/`` from the pydantic models.

``python -m taipod.api.crdgen crds/`` rewrites them; ``tests/unit/test_crds.py`` fails when they drift.
Pydantic's JSON schema is turned into a Kubernetes *structural* schema: references inlined, ``anyOf [X, null]``
made ``nullable``, ``Any`` made ``x-kubernetes-preserve-unknown-fields``, titles dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from taipod.api import models

__all__ = ["crd_documents", "crd_for", "render", "structural_schema", "write"]

# No CEL rule compares the spec with oldSelf (immutability is taipod.api.admission's policy): the API server runs
# CRD rules on every status write too, and `self == oldSelf` over a 5,000-task spec made one small status patch of
# the Scenario cost 1.4 s of API-server CPU instead of 0.6 s (the benchmark's profile).


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs[schema["$ref"].rsplit("/", 1)[-1]]
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            return _inline({**target, **extra}, defs)
        return {k: _inline(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _structural(schema: dict[str, Any]) -> dict[str, Any]:
    """One schema node, made structural (recursively)."""
    node = dict(schema)
    for key in ("title", "$defs"):
        node.pop(key, None)
    if node.get("default", 0) is None:
        del node["default"]
    any_of = node.pop("anyOf", None)
    if any_of is not None:
        options = [o for o in any_of if o.get("type") != "null"]
        nullable = len(options) < len(any_of)
        types = {o.get("type") for o in options}
        if len(options) == 1:
            node = {**_structural(options[0]), **node}
        elif types == {"integer", "string"}:
            node["x-kubernetes-int-or-string"] = True
        else:
            raise ValueError(f"cannot express anyOf {any_of} in a structural schema")
        if nullable:
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("x-kubernetes-preserve-unknown-fields") or (
        "type" not in node and not node.get("x-kubernetes-int-or-string") and "properties" not in node
    ):
        node.pop("type", None)
        node["x-kubernetes-preserve-unknown-fields"] = True
        node.pop("default", None)
        return node
    if "properties" in node:
        node["type"] = "object"
        node["properties"] = {k: _structural(v) for k, v in node["properties"].items()}
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _structural(node["additionalProperties"])
    if "items" in node:
        node["items"] = _structural(node["items"])
    if node.get("required") == []:
        del node["required"]
    return node


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (by alias) as a structural OpenAPI v3 schema."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    inlined = _inline(raw, raw.get("$defs", {}))
    return _structural(inlined)


def _column(name: str, type_: str, path: str, description: str, priority: int = 0, fmt: str = "") -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path, "description": description}
    if fmt:
        column["format"] = fmt
    if priority:
        column["priority"] = priority
    return column


_AGE = _column("Age", "date", ".metadata.creationTimestamp", "Time since the object was created")

_KINDS: dict[str, dict[str, Any]] = {
    "Scenario": {
        "plural": "scenarios",
        "short": ["tpscenario", "tps"],
        "spec": models.ScenarioSpec,
        "status": models.ScenarioStatus,
        "columns": [
            _column("Phase", "string", ".status.phase", "Ready, or Invalid with the problems in status"),
            _column("Tasks", "integer", ".status.tasks", "Number of tasks"),
            _column("Message", "string", ".status.message", "Why the scenario is invalid", priority=1),
            _AGE,
        ],
    },
    "Submission": {
        "plural": "submissions",
        "short": ["tpsub", "tpsubmission"],
        "spec": models.SubmissionSpec,
        "status": models.SubmissionStatus,
        "columns": [
            _column("Status", "string", ".status.submissionStatus", "Taipy's submission status"),
            _column("Scenario", "string", ".spec.scenario", "The submitted scenario"),
            _column("Entity", "string", ".spec.sequence", "The submitted sequence, if any", priority=1),
            _column("Finished", "string", ".status.finished", "Finished jobs out of all"),
            _column("Started", "date", ".status.runAt", "When the first job started running"),
            _column("Reason", "string", ".status.reason", "Why the operator refused it, if it did"),
            _column("Message", "string", ".status.message", "The refusal's message", priority=1),
            _AGE,
        ],
        "rules": [
            {
                "rule": "!(has(self.sequence) && has(self.task))",
                "message": "set at most one of spec.sequence and spec.task: a submission runs the whole scenario, "
                "one sequence or one task",
                "fieldPath": ".task",
            }
        ],
    },
    "Job": {
        "plural": "jobs",
        "short": ["tpjob", "tpjobs"],
        "spec": models.JobSpec,
        "status": models.JobStatus,
        "columns": [
            _column("Status", "string", ".status.status", "Taipy's job status"),
            _column("Task", "string", ".spec.task", "The task this job runs"),
            _column("Submission", "string", ".spec.submission", "The submission that created this job"),
            _column("Started", "date", ".status.runAt", "When the job started running"),
            _column("Duration", "string", ".status.duration", "Execution duration"),
            _column("Reason", "string", ".status.reason", "Why the job failed, was canceled or abandoned", 1),
            _AGE,
        ],
    },
}


def crd_for(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind`` (Scenario, Submission or Job)."""
    conf = _KINDS[kind]
    spec_schema = structural_schema(conf["spec"])
    if conf.get("rules"):
        spec_schema.setdefault("x-kubernetes-validations", []).extend(conf["rules"])
    status_schema = structural_schema(conf["status"])
    root: dict[str, Any] = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            # Names become label values (at most 63 characters); a schema bound, not a CEL rule (see above).
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    plural = conf["plural"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{models.GROUP}", "labels": {"app.kubernetes.io/part-of": "taipod"}},
        "spec": {
            "group": models.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": conf["short"],
                "categories": ["taipod"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": conf["columns"],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def crd_documents() -> dict[str, dict[str, Any]]:
    """File name -> CRD, for every kind."""
    return {f"{models.GROUP}_{conf['plural']}.yaml": crd_for(kind) for kind, conf in _KINDS.items()}


def render(crd: dict[str, Any]) -> str:
    header = "# Generated by `python -m taipod.api.crdgen crds/` from taipod/api/models.py. Do not edit.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=120)


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, crd in crd_documents().items():
        path = directory / name
        path.write_text(render(crd))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a developer command
    for target in sys.argv[1:] or ["crds"]:
        for path in write(Path(target)):
            print(path)
