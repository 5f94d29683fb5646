"""``python -m taipod.operator``: the operator image's entrypoint; configured by TAIPOD_* environment variables."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from taipod.operator.config import OperatorConfig
from taipod.operator.runtime import run_operator


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kopf").setLevel(logging.WARNING)
    try:
        config = OperatorConfig.from_env()
    except ValueError as error:
        print(f"taipod operator: {error}", file=sys.stderr)
        return 2
    state = asyncio.run(run_operator(config))
    if state.lost_leadership:
        print("taipod operator: stopped after losing the leader lease; restart it to stand by again", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # Now, without joining the API threads: requests they sent before the renew deadline may hang until their
        # timeout, and none can send another (the write guard refuses it).
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
