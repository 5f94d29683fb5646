"""Build the real node's Go programs once, into the binary cache: the kubelet and the pause program.

Each has its own wrapper module under ``tests/cluster/gomod/`` (``kubelet``, ``pause``) and its own cache folder keyed
by a hash of that module, so neither changes the control plane's cache key. Like the control plane, a build lands in a
``.partial`` folder and is renamed into place only after the binary answered ``--version``; a build lock per module lets
the kubelet build run while the control plane's cold build holds its own lock.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .build import KUBERNETES_VERSION, STAMP, _check_go, _k8s_ldflags, _module_hash, _run_build, cache_root
from .errors import ClusterError


def kubelet_dir() -> Path:
    return cache_root() / f"kubelet-{KUBERNETES_VERSION}-{_module_hash('kubelet')}"


def pause_dir() -> Path:
    return cache_root() / f"pause-{_module_hash('pause')}"


def _ensure(module: str, target: Path, package: str, binary: str, ldflags: str, expect: str, log: bool) -> Path:
    path = target / binary
    if (target / STAMP).is_file():
        return path
    go = _check_go()
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / f".build-{module}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build of this module at a time; a waiter reuses the result
        if (target / STAMP).is_file():
            return path
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        build_log = cache_root() / f"build-{module}.log"
        build_log.write_text("")
        started = time.monotonic()
        if log:
            print(f"localkube: building {module} (first time only; log: {build_log})", file=sys.stderr, flush=True)
        _run_build(go, module, staging, [package], ldflags, build_log)
        built = staging / binary
        if not built.exists():
            produced = [p for p in staging.iterdir() if p.is_file()]
            if len(produced) != 1:
                raise ClusterError(f"building {module} produced {produced}, expected one binary (log: {build_log})")
            produced[0].rename(built)
        done = subprocess.run([str(built), "--version"], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0 or expect not in done.stdout:
            raise ClusterError(
                f"{built} --version gave {(done.stdout + done.stderr).strip()[:300]!r}, expected {expect}"
            )
        (staging / STAMP).write_text(f"{done.stdout.strip()}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        if log:
            print(f"localkube: built {module} in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return path


def ensure_kubelet(log: bool = True) -> Path:
    """The cached kubelet (version-stamped like the control plane), built first if missing."""
    return _ensure(
        "kubelet", kubelet_dir(), "k8s.io/kubernetes/cmd/kubelet", "kubelet", _k8s_ldflags(), KUBERNETES_VERSION, log
    )


def ensure_pause(log: bool = True) -> Path:
    """The cached pause program (a static binary of a few MB), built first if missing."""
    return _ensure("pause", pause_dir(), ".", "pause", "-s -w", "taipod pause", log)
