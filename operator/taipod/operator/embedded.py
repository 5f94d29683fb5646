"""An operator running in a background thread of the calling process (tests, ``tp.Orchestrator().run()``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

from taipod.operator.config import OperatorConfig
from taipod.operator.runtime import run_operator
from taipod.storage import is_remote

__all__ = ["EmbeddedOperator"]

THREAD_NAME = "taipod-operator"


class _SignalsNotNeeded(logging.Filter):
    """kopf warns "OS signals are ignored: running not in the main thread." whenever it runs outside the main
    thread, even when its caller stops it with a ``stop_flag``, which is how this thread stops (``stop()``): for the
    embedded operator the warning is wrong and every SDK script printed it. Only that record, from this thread, is
    dropped; kopf's other warnings, and this one from any other thread, still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == THREAD_NAME and str(record.msg).startswith("OS signals are ignored"))


_SIGNALS_FILTER = _SignalsNotNeeded()
logging.getLogger("kopf._core.reactor.running").addFilter(_SIGNALS_FILTER)  # the logger that emits it


class EmbeddedOperator:
    """``start()`` returns once the operator is ready; ``stop()`` stops it and waits for its thread."""

    def __init__(
        self,
        namespace: str | None = None,
        *,
        storage_url: str | None = None,
        storage_pvc: str | None = None,
        kubeconfig: str | None = None,
        config: OperatorConfig | None = None,
    ) -> None:
        base = config or OperatorConfig.from_env()
        changes: dict[str, object] = {"liveness_endpoint": None}
        if namespace is not None:
            changes["namespaces"] = (namespace,)
        if storage_url is not None:
            changes["storage_url"] = storage_url
            if storage_pvc is None and is_remote(storage_url):
                changes["storage_pvc"] = ""  # a claim serves a file root only
        if storage_pvc is not None:
            changes["storage_pvc"] = storage_pvc
        self.config = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
        self.kubeconfig = kubeconfig
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(
                run_operator(
                    self.config,
                    kubeconfig=self.kubeconfig,
                    stop_flag=self._stop,
                    ready_flag=self._ready,
                    liveness=False,
                )
            )
        except BaseException as error:  # reported by start()/stop()
            self._error = error
            self._ready.set()

    def start(self, timeout: float = 60) -> EmbeddedOperator:
        if self._thread is not None:
            raise RuntimeError("this operator is already running")
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"the embedded taipod operator did not start within {timeout} s")
        if self._error is not None:
            raise RuntimeError(f"the embedded taipod operator failed to start: {self._error}") from self._error
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> EmbeddedOperator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
