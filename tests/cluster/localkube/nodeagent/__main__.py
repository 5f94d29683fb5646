"""python -m localkube.nodeagent --kubeconfig F --node-name N --state-dir D --port P --tls-cert C --tls-key K"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .agent import Agent, load_images

DEFAULT_IMAGES = Path(__file__).resolve().parents[2] / "images.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(prog="localkube-node-agent")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert", type=Path, required=True)
    parser.add_argument("--tls-key", type=Path, required=True)
    parser.add_argument(
        "--provisioner",
        action="store_true",
        help="also run the cluster's volume provisioner (one agent of the cluster does; its claims live on its node)",
    )
    parser.add_argument(
        "--images",
        type=Path,
        default=DEFAULT_IMAGES,
        help="YAML map of image patterns to entrypoint/cmd, for containers without a command",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    agent = Agent(
        args.kubeconfig,
        args.node_name,
        args.state_dir,
        args.port,
        args.tls_cert,
        args.tls_key,
        load_images(args.images),
        provisions=args.provisioner,
    )
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        agent.shutdown()
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner = threading.Thread(target=agent.run, name="agent", daemon=True)
    runner.start()
    while not done.is_set() and runner.is_alive():
        done.wait(1)
    if not done.is_set():
        agent.shutdown()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
