"""Helpers for the SDK's end-to-end tests (no tests here).

Each test gets the SDK pointed at its own namespace (kubeconfig of the test cluster, a local storage root) and an
embedded operator serving that namespace with the same storage root: the local cluster's node runs pods as local
processes, so the task pods, the operator and the SDK share it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ClusterHandle
from tests.k8s_helpers import wait_until

import taipod as tp
from taipod import Config
from taipod.operator.embedded import EmbeddedOperator
from taipod.sdk import cluster as sdk_cluster
from taipod.sdk import subscriptions
from taipod.sdk.orchestrator import operator_serves

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SdkEnv:
    namespace: str
    kubeconfig: Path
    storage: Path
    operator: EmbeddedOperator | None

    @property
    def storage_url(self) -> str:
        return f"file://{self.storage}"

    def env(self) -> dict[str, str]:
        """The environment of a script run against this namespace (the examples)."""
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "TAIPOD_NAMESPACE": self.namespace,
            "TAIPOD_STORAGE_URL": self.storage_url,
            "TAIPOD_STORAGE_PVC": "",
        }

    def run_script(self, path: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(path)],
            env=self.env(),
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def reset_sdk() -> None:
    subscriptions.stop_all()
    tp.Orchestrator().stop()
    Config.reset()
    sdk_cluster.reset()


@contextlib.contextmanager
def sdk_environment(
    cluster: ClusterHandle, namespace: str, tmp_path: Path, with_operator: bool = True
) -> Iterator[SdkEnv]:
    """The SDK configured for ``namespace``, and (by default) an operator serving it."""
    storage = tmp_path / "storage"
    storage.mkdir()
    reset_sdk()
    Config.configure_cluster(
        namespace=namespace,
        kubeconfig=str(cluster.kubeconfig),
        storage_url=f"file://{storage}",
        storage_pvc="",
        operator_timeout=120,
    )
    logging.getLogger("taipod").setLevel(logging.INFO)
    operator = None
    if with_operator:
        operator = EmbeddedOperator(
            namespace, storage_url=f"file://{storage}", storage_pvc="", kubeconfig=str(cluster.kubeconfig)
        ).start()
        # start() returns before the operator's first Lease renewal: wait for it, as a user would find it.
        wait_until(lambda: operator_serves(sdk_cluster.current()), 30, f"the operator's Lease in {namespace}")
    try:
        yield SdkEnv(namespace, cluster.kubeconfig, storage, operator)
    finally:
        reset_sdk()
        if operator is not None:
            operator.stop()
