"""Helpers for the SDK's end-to-end tests (no tests here).

Each test gets the SDK pointed at its own namespace (kubeconfig of the test cluster) and an embedded operator
serving that namespace with its data on the test S3 server. The SDK finds the store as a user's would: from the
location the operator publishes, with the credentials of the namespace's Secret (or ``AWS_*`` when a test sets
them).
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

from tests.conftest import ClusterHandle, S3Store
from tests.e2e.conftest import operator_config
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
    storage: Path  # a scratch folder of the test
    operator: EmbeddedOperator | None
    s3: S3Store

    @property
    def storage_url(self) -> str:
        return self.s3.url

    def env(self) -> dict[str, str]:
        """The environment of a script run against this namespace (the examples): the store's location and
        credentials, which an embedded operator started by the script needs (the SDK alone would find them)."""
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "TAIPOD_NAMESPACE": self.namespace,
            "TAIPOD_STORAGE_URL": self.s3.url,
            "TAIPOD_STORAGE_ENDPOINT": self.s3.endpoint,
            "AWS_ACCESS_KEY_ID": self.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_key,
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
    cluster: ClusterHandle, namespace: str, tmp_path: Path, s3: S3Store, with_operator: bool = True
) -> Iterator[SdkEnv]:
    """The SDK configured for ``namespace``, and (by default) an operator serving it."""
    storage = tmp_path / "storage"
    storage.mkdir()
    reset_sdk()
    Config.configure_cluster(namespace=namespace, kubeconfig=str(cluster.kubeconfig), operator_timeout=120)
    if not with_operator:
        # No operator yet: one the test embeds (tp.Orchestrator().run()) is told where the data goes, as a user
        # would (with an operator serving the namespace, the SDK finds the store by itself).
        Config.configure_cluster(
            storage_url=s3.url,
            storage_endpoint=s3.endpoint,
            storage_key=s3.access_key,
            storage_secret_key=s3.secret_key,
        )
    logging.getLogger("taipod").setLevel(logging.INFO)
    operator = None
    if with_operator:
        operator = EmbeddedOperator(namespace, kubeconfig=str(cluster.kubeconfig), config=operator_config(s3)).start()
        # start() returns before the operator's first Lease renewal: wait for it, as a user would find it.
        wait_until(lambda: operator_serves(sdk_cluster.current()), 30, f"the operator's Lease in {namespace}")
    try:
        yield SdkEnv(namespace, cluster.kubeconfig, storage, operator, s3)
    finally:
        reset_sdk()
        if operator is not None:
            operator.stop()
