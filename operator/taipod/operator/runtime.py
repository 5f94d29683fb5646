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
    state = OperatorState(config, kubeconfig)
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
