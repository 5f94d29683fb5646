"""Debian packages that a test tier needs on the host (containerd, buildah, chromium, ...), installed on demand.

The project's own files must install what its tests use, so a fresh machine (CI's) gets the same tools as a
developer's. Installing needs root and apt; where either is missing, ``missing_reason`` says so in one line and the
tier that asked skips with it instead of failing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Sequence

from .build import cache_root
from .errors import ClusterError

_APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", "--no-install-recommends"]


def installed(package: str) -> bool:
    """Whether dpkg has ``package`` fully installed."""
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stdout.strip() == "installed"


def missing_reason(packages: Sequence[str]) -> str | None:
    """Why ``packages`` cannot be installed here (one line), or None when they are or can be."""
    if all(installed(name) for name in packages):
        return None
    if shutil.which("apt-get") is None:
        return f"needs the Debian packages {' '.join(packages)} and this host has no apt-get"
    if os.geteuid() != 0:
        return f"needs the Debian packages {' '.join(packages)}: run as root, or install them first (apt-get install)"
    return None


def ensure(packages: Sequence[str]) -> None:
    """Install whichever of ``packages`` is missing (one ``apt-get install``; ``apt-get update`` first when the
    package lists do not know a name). One installer at a time across processes."""
    wanted = [name for name in packages if not installed(name)]
    if not wanted:
        return
    reason = missing_reason(wanted)
    if reason:
        raise ClusterError(reason)
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".apt.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = [name for name in wanted if not installed(name)]
        if not wanted:
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        known = subprocess.run(["apt-cache", "show", *wanted], capture_output=True, check=False, env=env)
        if known.returncode != 0:
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "-q", "update"], check=True, env=env)
        done = subprocess.run([*_APT, "install", *wanted], capture_output=True, text=True, check=False, env=env)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise ClusterError(f"apt-get install {' '.join(wanted)} failed:\n{tail}")
