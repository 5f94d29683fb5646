"""A container's environment and command, resolved like the kubelet does."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from pathlib import Path
from typing import Any

from localkube.kubeclient import KubeClient

from .fieldpaths import field_value, resource_value
from .volumes import VolumeNotReady, _configmap_data, _secret_data


class StartError(Exception):
    """The container cannot be started at all (the kubelet's StartError)."""


# What a host process needs to find its interpreter and libraries; the rest of the agent's
# environment is not passed on, as a container would not see it either.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "TZ")

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes, unknown refs stay."""

    def repl(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REF.sub(repl, text)


def resolve_env(client: KubeClient, pod: dict[str, Any], container: dict[str, Any], api_port: int) -> dict[str, str]:
    ns = pod["metadata"]["namespace"]
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    # "python" in a container means the Python running this node (the project's venv, taipod installed): it plays
    # the part of the runner and operator images, whose entrypoints tests/cluster/images.yaml maps.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), *filter(None, [env.get("PATH")])])
    env["HOSTNAME"] = pod["metadata"]["name"]
    # In-cluster clients reach the apiserver on loopback: this node has no Service network.
    env.update(
        {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(api_port),
            "KUBERNETES_PORT": f"tcp://127.0.0.1:{api_port}",
        }
    )
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            data = _configmap_data(client, ns, ref["name"], ref.get("optional", False)) or {}
        else:
            ref = source["secretRef"]
            data = _secret_data(client, ns, ref["name"], ref.get("optional", False)) or {}
        env.update({prefix + k: v.decode() for k, v in data.items()})
    for var in container.get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = expand(var["value"], env)
            continue
        source = var.get("valueFrom") or {}
        if "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            env[name] = resource_value(container, source["resourceFieldRef"]["resource"])
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            is_cm = "configMapKeyRef" in source
            ref = source["configMapKeyRef" if is_cm else "secretKeyRef"]
            fetch = _configmap_data if is_cm else _secret_data
            values = fetch(client, ns, ref["name"], ref.get("optional", False))
            if values is None or ref["key"] not in values:
                if ref.get("optional", False):
                    continue
                kind = "configmap" if is_cm else "secret"
                raise VolumeNotReady(f"couldn't find key {ref['key']} in {kind} {ns}/{ref['name']}")
            env[name] = values[ref["key"]].decode()
        else:
            env[name] = ""
    return env


def resolve_command(container: dict[str, Any], env: dict[str, str], images: dict[str, dict[str, Any]]) -> list[str]:
    """command+args, falling back to the image's entrypoint/cmd from the node's image map."""
    image_conf: dict[str, Any] = {}
    for pattern, conf in images.items():
        if fnmatch.fnmatch(container.get("image", ""), pattern):
            image_conf = conf
            break
    command = container.get("command") or image_conf.get("entrypoint") or []
    if container.get("command"):
        args = container.get("args") or []
    else:
        args = container.get("args") if container.get("args") is not None else image_conf.get("cmd", [])
    argv = [expand(part, env) for part in [*command, *args]]
    if not argv:
        raise StartError(
            f"container {container['name']!r}: image {container.get('image')!r} has no entrypoint known to this "
            "node. Give the container a command, or map the image in tests/cluster/images.yaml."
        )
    return argv
