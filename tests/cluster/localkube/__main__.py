"""Developer commands for the local cluster.

    python -m localkube build        build (or find) the cached binaries
    python -m localkube up           start a cluster that keeps running; prints its kubeconfig path
                                     (--real-node: also a kubelet + containerd node, see tests/cluster/README.md)
    python -m localkube kubeconfig   print the kubeconfig path (use: export KUBECONFIG=$(...))
    python -m localkube status       say whether it runs
    python -m localkube s3-env       print `export` lines for its S3 server (eval "$(python -m localkube s3-env)")
    python -m localkube down         stop it and every pod process
    python -m localkube demo         start it if no KUBECONFIG is set, run a Job end to end, show it
    python -m localkube images       build (or find) the operator and runner images; print refs and sizes

``--state-dir`` (default ``~/.cache/taipod/cluster``) chooses which cluster.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .build import bin_dir, ensure_binaries
from .cluster import LocalCluster, default_state_dir
from .errors import ClusterError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localkube", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "up", "down", "kubeconfig", "status", "demo", "s3-env", "images"])
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    parser.add_argument("--kwok-nodes", type=int, default=0, help="with up: also start kwok with N fake nodes")
    parser.add_argument("--nodes", type=int, default=1, help="with up: node agents to start (each a node)")
    parser.add_argument(
        "--if-possible", action="store_true", help="with images: say why and succeed where the host cannot build"
    )
    parser.add_argument(
        "--real-node",
        action="store_true",
        help="with up: also start a real node (kubelet + containerd; root); with build: also build the kubelet",
    )
    args = parser.parse_args(argv)
    cluster = LocalCluster(args.state_dir, nodes=args.nodes)
    try:
        if args.command == "build":
            ensure_binaries()
            print(bin_dir())
            if args.real_node:
                from .realnode import build_if_possible

                build_if_possible()
        elif args.command == "up":
            if cluster.running():
                print("localkube: already running", file=sys.stderr)
            else:
                cluster.start(detach=True)
            if args.kwok_nodes:
                cluster.start_kwok(args.kwok_nodes, detach=True)
            if args.real_node:
                cluster.start_real_node(detach=True)
            print(cluster.kubeconfig)
        elif args.command == "kubeconfig":
            if not cluster.running():
                raise ClusterError(f"no local cluster runs from {args.state_dir}: start one with `make cluster-up`")
            print(cluster.kubeconfig)
        elif args.command == "s3-env":
            if not cluster.running():
                raise ClusterError(f"no local cluster runs from {args.state_dir}: start one with `make cluster-up`")
            for key, value in cluster.s3.env().items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "status":
            running = cluster.running()
            print(f"running, KUBECONFIG={cluster.kubeconfig}" if running else "stopped")
            return 0 if running else 3
        elif args.command == "demo":
            from .demo import run

            run()
        elif args.command == "images":
            from .images import print_images

            print_images(if_possible=args.if_possible)
        elif args.command == "down":
            cluster.stop()
            print("localkube: stopped", file=sys.stderr)
    except ClusterError as exc:
        print(f"localkube: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
