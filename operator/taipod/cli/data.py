"""``taipod data get|put SCENARIO NODE``: read or write a data node's value where the tasks do.

The value moves as stored, in the node's storage type (JSON text, CSV, Parquet or a pickle file), through the SDK:
the same store, the same credentials rules, and the same edit record as ``scenario.node.write()``, so a submission
made after a ``put`` reads the new value (specs are immutable: this is the kubectl user's way to change an input).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def _data_node(args: argparse.Namespace) -> Any:
    import taipod as tp  # noqa: PLC0415 - the SDK loads only for these commands
    from taipod import Config  # noqa: PLC0415

    Config.configure_cluster(namespace=args.namespace, kubeconfig=args.kubeconfig)
    scenario = tp.get(args.scenario)
    if scenario is None or not hasattr(scenario, "data_nodes"):
        raise LookupError(f"no scenario {args.scenario!r} in this namespace. Fix: `kubectl get scenarios` lists them")
    node = scenario.data_nodes.get(args.node)
    if node is None:
        known = ", ".join(sorted(scenario.data_nodes)) or "none"
        raise LookupError(f"scenario {args.scenario!r} has no data node {args.node!r} (it has: {known})")
    return node


def cmd_get(args: argparse.Namespace) -> int:
    data: bytes = _data_node(args).read_bytes()
    if args.output and args.output != "-":
        Path(args.output).write_bytes(data)
        print(f"{len(data)} bytes written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def cmd_put(args: argparse.Namespace) -> int:
    node = _data_node(args)
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    node.write_bytes(data)
    print(f"data node {args.node} of scenario {args.scenario}: {len(data)} bytes stored, edit recorded")
    return 0


def add_parser(commands: Any) -> None:
    data = commands.add_parser("data", help="read or write a data node's value (as stored, in its storage type)")
    verbs = data.add_subparsers(dest="verb", required=True)
    get = verbs.add_parser("get", help="print a data node's stored value, or write it to a file")
    get.add_argument("scenario")
    get.add_argument("node")
    get.add_argument("-o", "--output", help="file to write (default: standard output)")
    get.set_defaults(run=cmd_get)
    put = verbs.add_parser("put", help="store a data node's value from a file (or - for standard input)")
    put.add_argument("scenario")
    put.add_argument("node")
    put.add_argument("file", help="a file in the node's storage type, or - for standard input")
    put.set_defaults(run=cmd_put)
