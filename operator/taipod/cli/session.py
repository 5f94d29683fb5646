"""The CLI's connection to the cluster, its one-line errors and its exit codes.

Exit codes (README "The taipod CLI", and every ``--help``'s epilog):

- 0: done;
- 1: the operation was refused or failed (the delete guard, a failed submission with ``--wait``, nothing to retry);
- 2: usage (an unknown option, resource type, status or output format);
- 3: not found (no such namespace, scenario, submission, job, or the job's pod is gone);
- 4: the cluster cannot be reached or refuses our credentials (a bad kubeconfig, connection refused, 401);
- 130: interrupted (Ctrl-C), except for ``watch`` and ``logs -f``, which end on Ctrl-C with 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import config

from taipod.cli import tables
from taipod.operator.kubeapi import ApiError, KubeApi, custom_path, load_configuration

__all__ = [
    "EPILOG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CliError",
    "check_namespace",
    "connect",
    "error_exit",
    "get_object",
    "list_objects",
    "stream_lines",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

EPILOG = (
    "exit codes: 0 done; 1 refused or failed (delete guard, failed submission, nothing to retry); 2 usage; "
    "3 not found (namespace, name, pod); 4 cluster unreachable, bad kubeconfig or credentials refused; "
    "130 interrupted (watch and logs -f end on Ctrl-C with 0)"
)


class CliError(Exception):
    """An error the CLI reports on one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _guard_message(message: str) -> str:
    """The admission policy's own words, without the API server's "ValidatingAdmissionPolicy 'x' with binding 'y'
    denied request: " prefix."""
    marker = "denied request: "
    return message.split(marker, 1)[1] if marker in message else message


def error_exit(prog: str, error: BaseException) -> int:
    """Print ``error`` on one line (``prog: ...``) and return its exit code."""
    if isinstance(error, CliError):
        code, text = error.code, str(error)
    elif isinstance(error, ApiError):
        text = _guard_message(str(error.body.get("message") or error))
        code = {404: EXIT_NOT_FOUND, 401: EXIT_UNREACHABLE}.get(error.status, EXIT_FAILED)  # 403: refused (1)
    elif isinstance(error, config.ConfigException):
        code, text = EXIT_UNREACHABLE, _kubeconfig_problem(None, error)
    elif isinstance(error, urllib3.exceptions.HTTPError):
        reason = getattr(error, "reason", None) or error
        code, text = EXIT_UNREACHABLE, f"cannot reach the cluster's API server: {reason}. Fix: check the kubeconfig"
    else:
        code, text = EXIT_FAILED, str(error)
    print(f"{prog}: {' '.join(text.split())}", file=sys.stderr)
    return code


def _kubeconfig_problem(kubeconfig: str | None, error: BaseException) -> str:
    where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    detail = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")
    if not kubeconfig and "Service host/port is not set" in detail:  # the in-cluster fallback found no pod
        detail = "no such file, and not running in a pod"
    return f"cannot load the kubeconfig {where}: {detail}. Fix: --kubeconfig FILE or $KUBECONFIG naming a valid one"


def connect(args: argparse.Namespace) -> tuple[KubeApi, str]:
    """The API client and the namespace (``-n``, else the kubeconfig context's, else default)."""
    try:
        configuration = load_configuration(args.kubeconfig)
    except Exception as error:
        raise CliError(_kubeconfig_problem(args.kubeconfig, error), EXIT_UNREACHABLE) from None
    namespace = args.namespace
    if not namespace:
        try:
            _, context = config.list_kube_config_contexts(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
            namespace = (context or {}).get("context", {}).get("namespace") or "default"
        except config.ConfigException:  # in a pod: no kubeconfig
            namespace = "default"
    return KubeApi(configuration), namespace


def check_namespace(api: KubeApi, namespace: str) -> None:
    """CliError (exit 3) when ``namespace`` does not exist; a caller that may not read namespaces is trusted."""
    try:
        api.get(f"/api/v1/namespaces/{namespace}")
    except ApiError as error:
        if error.status == 404:
            raise CliError(
                f"namespace {namespace!r} not found. Fix: `kubectl get namespaces` lists them", EXIT_NOT_FOUND
            ) from None
        if error.status != 403:
            raise


def get_object(api: KubeApi, namespace: str, kind: tables.Kind, name: str, prog: str) -> dict[str, Any]:
    """The object, or CliError (exit 3) naming what is missing: the namespace or the name."""
    try:
        return api.get(custom_path(namespace, kind.plural, name))
    except ApiError as error:
        if error.status != 404:
            raise
    check_namespace(api, namespace)
    raise CliError(
        f"no {kind.singular} {name!r} in namespace {namespace}. Fix: `{prog} list {kind.plural} -n {namespace}` "
        "lists them",
        EXIT_NOT_FOUND,
    )


def list_objects(
    api: KubeApi, namespace: str | None, kind: tables.Kind, label_selector: str | None = None
) -> dict[str, Any]:
    """The List (items sorted by creation time, then name) of one namespace, or of all with ``namespace`` None."""
    path = f"/apis/taipod.io/v1alpha1/{kind.plural}" if namespace is None else custom_path(namespace, kind.plural)
    try:
        listed = api.request("GET", path, params={"labelSelector": label_selector} if label_selector else None)
    except ApiError as error:
        if error.status == 404:  # the resource type itself is unknown to this API server
            raise CliError(
                f"this cluster has no taipod {kind.plural} (the CRDs are not installed). Fix: `helm install taipod "
                "charts/taipod` or `taipod manifests | kubectl apply --server-side -f -`",
                EXIT_NOT_FOUND,
            ) from None
        raise
    listed["items"] = sorted(
        listed.get("items") or [],
        key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["creationTimestamp"], o["metadata"]["name"]),
    )
    return listed


def stream_lines(api: KubeApi, path: str, params: dict[str, str], read_timeout: float | None = None) -> Iterator[bytes]:
    """The lines of a streaming GET (a watch, ``logs --follow``) as they come; ApiError on an error status,
    urllib3's ReadTimeoutError when nothing arrived for ``read_timeout`` seconds (None: wait for ever)."""
    url = api.configuration.host + path + "?" + urlencode(params)
    headers = api._headers("application/json")
    response = api.api_client.rest_client.pool_manager.request(
        "GET", url, headers=headers, preload_content=False, timeout=urllib3.Timeout(connect=10, read=read_timeout)
    )
    try:
        if response.status >= 400:
            raw = response.read()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {"message": raw.decode(errors="replace")}
            raise ApiError(response.status, response.reason or "", body)
        pending = b""
        for chunk in response.stream(4096, decode_content=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from lines
        if pending:
            yield pending
    finally:
        response.release_conn()
