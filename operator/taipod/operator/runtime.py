"""Running an operator: as the main program of the operator image, or embedded in a thread of another program."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import kopf

from taipod.operator.config import OperatorConfig
from taipod.operator.handlers import OperatorState, build_registry, settings_for

__all__ = ["run_operator"]

log = logging.getLogger("taipod.operator")


def _quiet_watch_stream_closing(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """kopf can leave a watch stream's async generator suspended when it cancels a busy watcher on shutdown; asyncio
    then logs an error while closing it. Nothing is lost (the operator is stopping; state lives in the resources), so
    that one case is logged at debug level; everything else goes to asyncio's default handler."""
    asyncgen = context.get("asyncgen")
    if asyncgen is not None and getattr(asyncgen, "__qualname__", "") == "infinite_watch":
        log.debug("closing a kopf watch stream on shutdown: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)


async def run_operator(
    config: OperatorConfig,
    *,
    kubeconfig: str | None = None,
    stop_flag: threading.Event | asyncio.Event | None = None,
    ready_flag: threading.Event | asyncio.Event | None = None,
    liveness: bool = True,
) -> OperatorState:
    """Run until ``stop_flag`` is set (or the process is signalled); returns the instance's state for inspection."""
    # kopf logs every handler call at INFO: thousands of lines per scenario; keep its warnings and errors only.
    kopf_logger = logging.getLogger("kopf")
    if kopf_logger.level == logging.NOTSET:
        kopf_logger.setLevel(logging.WARNING)
    asyncio.get_running_loop().set_exception_handler(_quiet_watch_stream_closing)
    state = OperatorState(config, kubeconfig)
    # A leader that loses its lease stops the operator through this flag (taipod.operator.election).
    if stop_flag is None:
        stop_flag = asyncio.Event()
    state.stop_flag = stop_flag
    kwargs: dict[str, Any] = {}
    if config.namespaces:
        kwargs["namespaces"] = list(config.namespaces)
    else:
        kwargs["clusterwide"] = True
    if liveness and config.liveness_endpoint:
        kwargs["liveness_endpoint"] = config.liveness_endpoint
    await kopf.operator(
        registry=build_registry(state),
        settings=settings_for(config),
        standalone=True,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        **kwargs,
    )
    return state
