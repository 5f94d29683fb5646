"""A client on Python 3.13 on the real node (issue 13, point 4): its SDK ships a function by value, picks the py3.13
runner image for it, and the task pod runs that image on the real kubelet and gives the answer.

Uses the real-node fixtures of test_real_node.py (the chart installed with the freshly built images on the real
node); the client is pyenv's Python 3.13 with taipod's dependencies (tests/images/test_client_pythons.py).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.test_real_node import RealRelease, images, real_node, release  # noqa: F401 (its fixtures)
from tests.images.test_client_pythons import client_venv

from localkube import images as pipeline
from localkube import realnode
from taipod._version import __version__

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

CLIENT = """
import os
import taipod as tp
from taipod import Config


def triple(nb):
    return nb * 3


Config.configure_cluster(namespace=os.environ["CLIENT_NAMESPACE"])
a = Config.configure_data_node("a", default_data=21)
b = Config.configure_data_node("b")
scenario = tp.create_scenario(Config.configure_scenario("sc", [Config.configure_task("triple_task", triple, a, b)]))
submission = tp.submit(scenario, wait=True, timeout=300)
print(submission.submission_status)
print(scenario.b.read())
"""


def test_a_python_3_13_client_runs_a_function_by_value_in_the_py3_13_runner_on_the_real_node(
    release: RealRelease,  # noqa: F811
    cluster: ClusterHandle,
    s3: S3Store,
) -> None:
    runner = pipeline.ensure_images(["runner-py3.13"])["runner-py3.13"]
    pushed = pipeline.push(runner, release.images.registry)
    assert pushed == f"{release.images.registry}/taipod/runner:{__version__}-py3.13"
    venv = client_venv("3.13")
    started = time.monotonic()
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", CLIENT],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT / "operator"),
            "KUBECONFIG": str(cluster.kubeconfig),
            "CLIENT_NAMESPACE": release.namespace,
            "TAIPOD_RUNNER_REPOSITORY": f"{release.images.registry}/taipod/runner",
            "AWS_ACCESS_KEY_ID": s3.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        },
    )
    print(f"figure: Python 3.13 client, scenario by value on the real node: {time.monotonic() - started:.1f}s")
    assert done.returncode == 0, f"the Python 3.13 client failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.split() == ["SubmissionStatus.COMPLETED", "63"], done.stdout + done.stderr
    pods = [
        pod
        for pod in release.kube.core.list_namespaced_pod(release.namespace).items
        if pod.spec.containers[0].image == pushed
    ]
    assert pods, "no task pod ran the py3.13 runner image"
    assert all(pod.spec.node_name == realnode.REAL_NODE_NAME for pod in pods)
