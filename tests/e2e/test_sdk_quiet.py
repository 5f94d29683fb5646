"""A normal SDK run is quiet (issue 15, point 6): the documentation's example prints neither kopf's "OS signals are
ignored" line (the embedded operator stops by its flag, not by signals) nor a "never been written" warning for an
input that has default data (the operator writes it; Taipy writes it at creation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import ClusterHandle, S3Store
from tests.e2e.test_sdk_support import ROOT, SdkEnv, sdk_environment

pytestmark = pytest.mark.e2e


@pytest.fixture
def bare(
    cluster: ClusterHandle, namespace: str, taipod_installed: None, tmp_path: Path, s3: S3Store
) -> Iterator[SdkEnv]:
    with sdk_environment(cluster, namespace, tmp_path, s3, with_operator=False) as env:
        yield env


def test_the_job_creation_example_prints_no_spurious_warning(bare: SdkEnv) -> None:
    proc = bare.run_script(ROOT / "examples" / "sdk" / "job_creation.py")
    assert proc.returncode == 0, proc.stderr
    assert "OS signals are ignored" not in proc.stderr, proc.stderr
    assert "never been written" not in proc.stderr, proc.stderr
