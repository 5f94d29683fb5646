"""``taipod ui``: the job selector page, served on 127.0.0.1 with the user's own kubeconfig (the API server applies
the user's RBAC), protected by a random token as Jupyter does. ``--in-cluster`` is the chart's mode: no token, every
request forwarded with the user's own bearer token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import webbrowser
from typing import Any

__all__ = ["add_parser"]


def cmd_ui(args: argparse.Namespace) -> int:
    from taipod.ui.apiclient import ApiClient  # noqa: PLC0415 - aiohttp loads only for this command
    from taipod.ui.auth import Guard  # noqa: PLC0415
    from taipod.ui.serve import in_cluster_client, start_site  # noqa: PLC0415
    from taipod.ui.server import UiSettings  # noqa: PLC0415

    given = args.ui_namespace or args.namespace
    if args.in_cluster:
        namespace = None if args.all_namespaces else given
        settings = UiSettings(namespace, in_cluster=True)
        token = None
    else:
        namespace = None if args.all_namespaces else (given or _context_namespace(args.kubeconfig))
        settings = UiSettings(namespace)
        token = Guard.new_token()

    async def serve() -> None:
        api = in_cluster_client() if args.in_cluster else ApiClient.from_kubeconfig(args.kubeconfig)
        runner, port, _ = await start_site(api, settings, args.address, args.port, token)
        url = f"http://{args.address}:{port}/" + (f"?token={token}" if token else "")
        scope = "every namespace" if namespace is None else f"namespace {namespace}"
        print(f"taipod ui: jobs of {scope} at\n    {url}\n(Ctrl-C stops it)", flush=True)
        if args.open:
            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def _context_namespace(kubeconfig: str | None) -> str:
    from kubernetes import config  # noqa: PLC0415

    try:
        _, context = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        return "default"
    return str((context or {}).get("context", {}).get("namespace") or "default")


def add_parser(commands: Any) -> None:
    ui = commands.add_parser("ui", help="serve the job selector web page (list, filter, cancel, delete, inspect jobs)")
    scope = ui.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", dest="ui_namespace", metavar="NS", help="namespace (default: the kubeconfig context's)"
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="jobs of every namespace you may list")
    ui.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ui.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ui.add_argument("--open", action="store_true", help="open the page in the default browser")
    ui.add_argument(
        "--in-cluster",
        action="store_true",
        help="the chart's mode: no token; each request uses the Authorization header of the page's user",
    )
    ui.set_defaults(run=cmd_ui)
