"""Bad input to the local-cluster tooling gives one clear message: what is wrong, what to do.

Each case is provoked for real in a subprocess (no Go on PATH, a module proxy that refuses,
a busy port, a half-written cache), with its own empty cache folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localkube import build
from localkube.cluster import LocalCluster
from localkube.errors import ClusterError

CLUSTER_DIR = Path(__file__).resolve().parents[1] / "cluster"


def _ensure_binaries(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "from localkube.build import ensure_binaries\nfrom localkube.errors import ClusterError\n"
        "try:\n    ensure_binaries(log=False)\nexcept ClusterError as e:\n    print(e)\n    raise SystemExit(2)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "PYTHONPATH": str(CLUSTER_DIR)},
        check=False,
    )


def test_missing_go_names_the_fix_and_the_kubeconfig_alternative(tmp_path: Path) -> None:
    proc = _ensure_binaries({"PATH": "/nonexistent", "HOME": str(tmp_path), "TAIPOD_CACHE": str(tmp_path)})
    assert proc.returncode == 2
    assert "Go is not installed" in proc.stdout and "KUBECONFIG" in proc.stdout


def test_failed_module_download_says_so(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TAIPOD_CACHE": str(tmp_path / "cache"),
        "GOMODCACHE": str(tmp_path / "mod"),
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPROXY": "off",
    }
    proc = _ensure_binaries(env)
    assert proc.returncode == 2
    assert "module download failed" in proc.stdout and "GOPROXY" in proc.stdout


def test_half_written_cache_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A cache folder with binaries but no completion stamp (an interrupted build) is rebuilt,
    # which here fails with the missing-Go message instead of running truncated binaries.
    monkeypatch.setenv("TAIPOD_CACHE", str(tmp_path))
    folder = build.bin_dir()
    folder.mkdir(parents=True)
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        (folder / name).write_bytes(b"")
        (folder / name).chmod(0o755)
    proc = _ensure_binaries({"PATH": "/nonexistent", "HOME": str(tmp_path), "TAIPOD_CACHE": str(tmp_path)})
    assert proc.returncode == 2 and "Go is not installed" in proc.stdout


def test_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalCluster(tmp_path).start(ports={"apiserver": port})
