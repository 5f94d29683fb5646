"""Build the control-plane binaries once, into a cache outside the repository.

Each wrapper module under ``tests/cluster/gomod/`` is built with the pinned versions in its
committed ``go.mod``/``go.sum``. The cache folder is keyed by the versions and by a hash of
those files, so a change to a wrapper module builds into a new folder and a stale folder is
never used. A build lands in a temporary folder and is renamed into place only when every
binary answers ``--version``, so an interrupted build leaves nothing half-made behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ClusterError

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
KWOK_VERSION = "v0.8.0"
VERSITYGW_VERSION = "v1.8.0"  # the S3 server of the data plane; its own cache folder (gomod/versitygw)
SEPARATE_MODULES = ("versitygw", "kubelet", "pause")  # built into folders of their own: a change there never
# rebuilds Kubernetes
MIN_GO = (1, 26)
STAMP = ".complete"  # written last: a folder without it is an interrupted build

GOMOD_DIR = Path(__file__).resolve().parent.parent / "gomod"


def cache_root() -> Path:
    """Where built binaries live: ``$TAIPOD_CACHE`` or ``~/.cache/taipod``."""
    env = os.environ.get("TAIPOD_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "taipod"


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path

    def all(self) -> list[Path]:
        return [self.etcd, self.kube_apiserver, self.kube_controller_manager, self.kube_scheduler, self.kwok]


def _module_hash(only: str | None = None) -> str:
    """A hash of the wrapper modules' files: of the control plane's (every module but ``SEPARATE_MODULES``), or of
    the module ``only``."""
    digest = hashlib.sha256()
    for path in sorted(GOMOD_DIR.rglob("*")):
        relative = path.relative_to(GOMOD_DIR)
        top = relative.parts[0]
        if (top != only) if only else (top in SEPARATE_MODULES):
            continue
        if path.is_file() and path.suffix in {".mod", ".sum", ".go"}:
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def bin_dir() -> Path:
    return cache_root() / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-kwok-{KWOK_VERSION}-{_module_hash()}"


def _binaries_in(folder: Path) -> Binaries:
    return Binaries(
        etcd=folder / "etcd",
        kube_apiserver=folder / "kube-apiserver",
        kube_controller_manager=folder / "kube-controller-manager",
        kube_scheduler=folder / "kube-scheduler",
        kwok=folder / "kwok",
    )


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Pinned, reproducible builds that never fetch a toolchain or consult a go.work.
    env.update(GOWORK="off", GOFLAGS="-mod=readonly", CGO_ENABLED="0", GOTOOLCHAIN="local")
    return env


def _check_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ClusterError(
            "Go is not installed, so the local control plane cannot be built. Install Go "
            f">= {MIN_GO[0]}.{MIN_GO[1]} (https://go.dev/doc/install), or run the suite against an "
            "existing cluster: export KUBECONFIG=/path/to/kubeconfig."
        )
    out = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"go(\d+)\.(\d+)", out)
    if match is None or (int(match.group(1)), int(match.group(2))) < MIN_GO:
        raise ClusterError(
            f"{out.strip() or 'go version failed'}: Kubernetes {KUBERNETES_VERSION} needs Go >= "
            f"{MIN_GO[0]}.{MIN_GO[1]}. Upgrade Go, or set KUBECONFIG to use an existing cluster."
        )
    return go


def _run_build(go: str, module: str, out_dir: Path, packages: list[str], ldflags: str, log: Path) -> None:
    cmd = [go, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", str(out_dir) + "/", *packages]
    with log.open("ab") as sink:
        sink.write(f"\n$ (cd {module}) {' '.join(cmd)}\n".encode())
        sink.flush()
        proc = subprocess.run(
            cmd, check=False, cwd=GOMOD_DIR / module, env=_go_env(), stdout=sink, stderr=subprocess.STDOUT
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        markers = (
            "dial tcp",
            "proxy",
            "404",
            "410",
            "no such host",
            "i/o timeout",
            "module lookup disabled",
            "verifying module",
            "tls:",
        )
        hint = (
            "A module download failed: check access to the Go module proxy (GOPROXY="
            f"{os.environ.get('GOPROXY', 'default')}), then run the build again; or set KUBECONFIG to use "
            "an existing cluster."
            if any(m in line.lower() for line in tail for m in markers)
            else "See the full log for the compiler's message."
        )
        raise ClusterError(f"building {module} failed (log: {log}). {hint}\n" + "\n".join(tail))


def _k8s_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    stamp = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "gitCommit": "0" * 40,
        "buildDate": "1970-01-01T00:00:00Z",
    }
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.{key}={value}" for key, value in stamp.items()]
    return " ".join(flags)


def _verify(binaries: Binaries) -> None:
    for path in binaries.all():
        proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise ClusterError(f"{path} --version failed: {proc.stderr.strip()[:500]}")
    out = subprocess.run([str(binaries.kube_apiserver), "--version"], capture_output=True, text=True, check=False)
    if KUBERNETES_VERSION not in out.stdout:
        raise ClusterError(f"kube-apiserver reports {out.stdout.strip()!r}, expected {KUBERNETES_VERSION}")


def versitygw_dir() -> Path:
    return cache_root() / f"versitygw-{VERSITYGW_VERSION}-{_module_hash('versitygw')}"


def ensure_versitygw(log: bool = True) -> Path:
    """The cached versitygw binary (the local cluster's S3 server), built first if missing (about 2 minutes cold)."""
    target = versitygw_dir()
    binary = target / "versitygw"
    if (target / STAMP).is_file():
        return binary
    go = _check_go()
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / STAMP).is_file():
            return binary
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        build_log = cache_root() / "build-versitygw.log"
        build_log.write_text("")
        started = time.monotonic()
        if log:
            print(f"localkube: building versitygw (first time only; log: {build_log})", file=sys.stderr, flush=True)
        _run_build(go, "versitygw", staging, ["github.com/versity/versitygw/cmd/versitygw"], "-s -w", build_log)
        proc = subprocess.run(
            [str(staging / "versitygw"), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            raise ClusterError(f"versitygw --version failed: {(proc.stderr or proc.stdout).strip()[:500]}")
        (staging / STAMP).write_text(f"{VERSITYGW_VERSION}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        if log:
            print(f"localkube: built versitygw in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return binary


def ensure_binaries(log: bool = True) -> Binaries:
    """Return the cached binaries, building them first if this version is not cached yet."""
    ensure_versitygw(log)
    target = bin_dir()
    binaries = _binaries_in(target)
    if (target / STAMP).is_file():
        return binaries
    go = _check_go()
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; a waiter reuses the result
        if (target / STAMP).is_file():
            return binaries
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        build_log = cache_root() / "build.log"
        build_log.write_text("")
        started = time.monotonic()
        steps = [
            (
                "k8s",
                [
                    "k8s.io/kubernetes/cmd/kube-apiserver",
                    "k8s.io/kubernetes/cmd/kube-controller-manager",
                    "k8s.io/kubernetes/cmd/kube-scheduler",
                ],
                _k8s_ldflags(),
            ),
            ("etcd", ["."], "-s -w"),
            ("kwok", ["sigs.k8s.io/kwok/cmd/kwok"], "-s -w"),
        ]
        for module, packages, ldflags in steps:
            if log:
                print(f"localkube: building {module} (first time only; log: {build_log})", file=sys.stderr, flush=True)
            _run_build(go, module, staging, packages, ldflags, build_log)
        if (staging / "etcdbin").exists():
            (staging / "etcdbin").rename(staging / "etcd")
        _verify(_binaries_in(staging))
        (staging / STAMP).write_text(f"{KUBERNETES_VERSION} {ETCD_VERSION} {KWOK_VERSION}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        if log:
            print(f"localkube: built in {time.monotonic() - started:.0f}s into {target}", file=sys.stderr, flush=True)
    return binaries
