"""taipod's two images built without a Docker engine, cached, and a registry on loopback to push them to.

The pipeline (issue 13), all from Debian packages:

1. a Python base per Debian suite, made by mmdebstrap (minbase + Python, venv, ``python``, CA certificates, passwd;
   the host's extra CA certificates copied in so that pip works behind a TLS-inspecting proxy), imported by podman;
2. ``Dockerfile`` (operator) and ``runner_image/Dockerfile`` (one runner per Python minor version of
   ``taipod.core.runner_images.RUNNER_PYTHONS``) built by ``buildah bud`` with ``--build-arg PYTHON_IMAGE=<that
   base>``: the Dockerfiles keep their pinned official base for everyone else;
3. each image saved as an OCI archive in the cache (``push`` uploads that archive with skopeo).

Every artifact lives in a folder of its own, ``<cache>/images-<name>-<hash of every input>/``, completed by a
``.complete`` stamp written last (as build.py does), so an edit to any input builds into a new folder, an interrupted
build is never used, and a warm call only hashes the inputs. buildah's layers live in the host's containers storage
(``/var/lib/containers``) and speed up rebuilds; the archives are what counts.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from taipod._version import __version__
from taipod.core.runner_images import RUNNER_PYTHONS, runner_tag

from . import hostpkgs, procs
from .build import STAMP, cache_root
from .errors import ClusterError

REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("buildah", "runc", "podman", "mmdebstrap", "docker-registry", "skopeo")
"""The Debian packages of the pipeline: runc (crun fails on hybrid cgroups), podman imports the base and runs the
images in the tests, skopeo pushes the archives."""

RECIPE_VERSION = "1"  # bump when the base recipe below changes in a way its inputs do not show
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SUITES: dict[str, str] = {"3.11": "bookworm", "3.13": "trixie"}
"""The Debian suite whose own Python is each runner Python minor version."""
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    # Debian's pip wheel reads the system bundle, which holds the host's extra certificates: say so for every pip.
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
}
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
OPERATOR = "operator"
OPERATOR_REPOSITORY = "taipod/operator"
RUNNER_REPOSITORY = "taipod/runner"
_BUILDAH_FLAGS = ("--runtime", "runc", "--isolation", "oci", "--network", "host", "--layers")
_KEEP_PER_NAME = 2  # cached builds kept per image name (the newest), older ones are removed


@dataclass(frozen=True)
class BuiltImage:
    name: str  # "operator", "runner-py3.11", "runner-py3.13"
    repository: str  # "taipod/operator", "taipod/runner"
    tag: str  # "0.1.0", "0.1.0-py3.11", "0.1.0-py3.13"
    archive: Path  # OCI archive in the cache (what `push` uploads)
    size: int = 0  # bytes of the layers, uncompressed
    compressed_size: int = 0  # bytes of the archive's layer blobs (gzip), what a registry stores and a node pulls
    build_seconds: float = 0.0  # the cold build's time (the base's not included)

    @property
    def local_ref(self) -> str:
        """The reference in the host's containers storage (buildah, podman) after a build."""
        return f"localhost/{self.repository}:{self.tag}"


@dataclass(frozen=True)
class ImageRecipe:
    """What one image is built from."""

    name: str
    repository: str
    tag: str
    dockerfile: Path
    python: str  # the base's Python minor version


def image_names() -> list[str]:
    """Every image ``make images`` builds: the operator, then a runner per Python minor version."""
    return [OPERATOR, *(f"runner-py{python}" for python in RUNNER_PYTHONS)]


def recipe(name: str, version: str = __version__) -> ImageRecipe:
    """The recipe of image ``name`` (one of ``image_names()``); ClusterError naming the choices otherwise."""
    if name == OPERATOR:
        return ImageRecipe(name, OPERATOR_REPOSITORY, version, REPO_ROOT / "Dockerfile", "3.11")
    python = name.removeprefix("runner-py")
    if name.startswith("runner-py") and python in RUNNER_PYTHONS and python in SUITES:
        return ImageRecipe(
            name, RUNNER_REPOSITORY, runner_tag(version, python), REPO_ROOT / "runner_image" / "Dockerfile", python
        )
    raise ClusterError(f"no image named {name!r}: choose among {', '.join(image_names())}")


def base_packages(python: str) -> list[str]:
    """The Debian packages of the base for Python ``python`` (the minbase variant adds only what apt needs)."""
    return [f"python{python}", "python3-venv", "python-is-python3", "ca-certificates", "passwd"]


def _extra_certificates() -> list[Path]:
    return sorted(EXTRA_CA_DIR.rglob("*.crt")) if EXTRA_CA_DIR.is_dir() else []


def base_key(python: str) -> str:
    """A hash of the base's recipe: suite, packages, mirror, environment and the host's extra CA certificates."""
    digest = hashlib.sha256()
    recipe_text = json.dumps(
        [RECIPE_VERSION, SUITES[python], base_packages(python), DEBIAN_MIRROR, BASE_ENV], sort_keys=True
    )
    digest.update(recipe_text.encode())
    for cert in _extra_certificates():
        digest.update(cert.name.encode())
        digest.update(cert.read_bytes())
    return digest.hexdigest()[:12]


def _context_files() -> Iterator[Path]:
    """The build context's files as .dockerignore keeps them: pyproject.toml, README.md and operator/ (no caches)."""
    yield REPO_ROOT / "pyproject.toml"
    yield REPO_ROOT / "README.md"
    for path in sorted((REPO_ROOT / "operator").rglob("*")):
        relative = path.relative_to(REPO_ROOT)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        if any(part.endswith(".egg-info") for part in relative.parts):
            continue
        yield path


def image_key(item: ImageRecipe) -> str:
    """A hash of every input of the image: its Dockerfile, the build context as .dockerignore keeps it, the base's
    recipe and the tag. Files next to a Dockerfile that are not in the context (runner_image/README.md) are not
    inputs: editing the documentation rebuilds nothing."""
    digest = hashlib.sha256()
    digest.update(json.dumps([item.name, item.repository, item.tag, base_key(item.python)]).encode())
    for path in [*_context_files(), REPO_ROOT / ".dockerignore", item.dockerfile]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def base_dir(python: str) -> Path:
    return cache_root() / f"images-base-{SUITES[python]}-py{python}-{base_key(python)}"


def image_dir(item: ImageRecipe) -> Path:
    return cache_root() / f"images-{item.name}-{image_key(item)}"


def base_ref(python: str) -> str:
    """The base's reference in the containers storage: the Dockerfiles' ``PYTHON_IMAGE``."""
    return f"localhost/taipod/python:{python}-{base_key(python)}"


def _log(message: str) -> None:
    print(f"localkube images: {message}", file=sys.stderr, flush=True)


def _run(cmd: Sequence[str], log: Path, what: str) -> None:
    """Run ``cmd`` with its output appended to ``log``; ClusterError with the log's tail when it fails."""
    with log.open("ab") as sink:
        sink.write(f"\n$ {' '.join(cmd)}\n".encode())
        sink.flush()
        done = subprocess.run(list(cmd), stdout=sink, stderr=subprocess.STDOUT, check=False, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise ClusterError(f"{what} failed (exit {done.returncode}; log: {log}):\n{procs.log_tail(log, 15)}")


def _has_local_image(ref: str) -> bool:
    done = subprocess.run(["buildah", "images", "--quiet", ref], capture_output=True, text=True, check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


def _ensure_base(python: str) -> str:
    """The base for Python ``python`` in the containers storage (its rootfs tarball cached); returns its ref."""
    folder = base_dir(python)
    rootfs = folder / "rootfs.tar"
    if not (folder / STAMP).is_file():
        started = time.monotonic()
        _log(f"building the Python {python} base (Debian {SUITES[python]}, mmdebstrap) into {folder}")
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        hooks = ['--customize-hook=mkdir -p "$1/usr/local/share/ca-certificates"']
        for cert in _extra_certificates():
            target = Path("/usr/local/share/ca-certificates") / cert.relative_to(EXTRA_CA_DIR).parent
            hooks.append(f'--customize-hook=mkdir -p "$1{target}"')
            hooks.append(f"--customize-hook=copy-in {cert} {target}")
        hooks.append('--customize-hook=chroot "$1" update-ca-certificates')
        # What minbase leaves that no image needs: apt's lists and caches (mmdebstrap cleans those), docs, man pages.
        hooks.append('--customize-hook=rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/*')
        _run(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--mode=root",
                "--format=tar",
                f"--include={','.join(base_packages(python))}",
                *hooks,
                SUITES[python],
                str(staging / "rootfs.tar"),
                DEBIAN_MIRROR,
            ],
            staging / "build.log",
            f"mmdebstrap of the Python {python} base",
        )
        (staging / "seconds").write_text(f"{time.monotonic() - started:.1f}\n")
        (staging / STAMP).write_text(base_key(python) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        _log(f"base for Python {python} built in {time.monotonic() - started:.0f}s")
    ref = base_ref(python)
    if not _has_local_image(ref):
        changes = [f"--change=ENV {key}={value}" for key, value in BASE_ENV.items()]
        _run(
            ["podman", "import", "--quiet", *changes, '--change=CMD ["python3"]', str(rootfs), ref],
            folder / "build.log",
            f"podman import of the Python {python} base",
        )
    return ref


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    member = tar.extractfile(name)
    if member is None:
        raise ClusterError(f"{name} missing from the OCI archive {tar.name!s}")
    return member


def _blob(tar: tarfile.TarFile, digest: str) -> IO[bytes]:
    return _member(tar, "blobs/" + digest.replace(":", "/"))


def _archive_sizes(archive: Path) -> tuple[int, int]:
    """(uncompressed, compressed) bytes of the layers of the single image in an OCI archive."""
    with tarfile.open(archive) as tar:
        index = json.loads(_member(tar, "index.json").read())
        manifest = json.loads(_blob(tar, index["manifests"][0]["digest"]).read())
        compressed = uncompressed = 0
        for layer in manifest["layers"]:
            compressed += int(layer["size"])
            stored = _blob(tar, layer["digest"])
            stream = gzip.GzipFile(fileobj=stored) if "gzip" in layer["mediaType"] else stored
            while chunk := stream.read(1 << 20):
                uncompressed += len(chunk)
    return uncompressed, compressed


def _built(item: ImageRecipe, folder: Path) -> BuiltImage:
    info = json.loads((folder / "info.json").read_text())
    return BuiltImage(
        name=item.name,
        repository=item.repository,
        tag=item.tag,
        archive=folder / "image.oci.tar",
        size=int(info["size"]),
        compressed_size=int(info["compressed_size"]),
        build_seconds=float(info["build_seconds"]),
    )


def _build(item: ImageRecipe) -> BuiltImage:
    key = image_key(item)
    folder = image_dir(item)
    base = _ensure_base(item.python)
    started = time.monotonic()
    _log(f"building {item.name} ({item.repository}:{item.tag}) into {folder}")
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    log = staging / "build.log"
    local = f"localhost/{item.repository}:{item.tag}"
    _run(
        [
            "buildah",
            "bud",
            *_BUILDAH_FLAGS,
            "--build-arg",
            f"PYTHON_IMAGE={base}",
            "--file",
            str(item.dockerfile),
            "--tag",
            local,
            str(REPO_ROOT),
        ],
        log,
        f"buildah bud of {item.name}",
    )
    seconds = time.monotonic() - started
    if image_key(item) != key:
        shutil.rmtree(staging, ignore_errors=True)
        raise ClusterError(f"the inputs of {item.name} changed during its build: run it again (nothing was cached)")
    archive = staging / "image.oci.tar"
    _run(["buildah", "push", "--quiet", local, f"oci-archive:{archive}:{item.repository}:{item.tag}"], log, "save")
    size, compressed = _archive_sizes(archive)
    info = {
        "size": size,
        "compressed_size": compressed,
        "build_seconds": round(seconds, 1),
        "save_seconds": round(time.monotonic() - started - seconds, 1),  # the OCI archive (gzip) and its sizes
        "base": base,
    }
    (staging / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    (staging / STAMP).write_text(key + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    _prune(item.name, keep=folder)
    _log(
        f"{item.name} built in {seconds:.0f}s, saved in {info['save_seconds']:.0f}s ({size / 1e6:.0f} MB, "
        f"{compressed / 1e6:.0f} MB compressed)"
    )
    return _built(item, folder)


def _prune(name: str, keep: Path) -> None:
    """Remove all but the newest ``_KEEP_PER_NAME`` complete builds of image ``name`` (``keep`` stays)."""
    others = [p for p in cache_root().glob(f"images-{name}-*") if p != keep and not p.name.endswith(".partial")]
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[_KEEP_PER_NAME - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def missing_reason() -> str | None:
    """Why the images cannot be built here (one line), or None."""
    reason = hostpkgs.missing_reason(PACKAGES)
    if reason:
        return reason
    if os.geteuid() != 0:
        return "building images with buildah needs root here (its rootless mode needs subordinate ids)"
    return None


def ensure_images(names: Sequence[str] | None = None) -> dict[str, BuiltImage]:
    """The images ``names`` (default: every one), built now where the cache has none for their inputs."""
    items = [recipe(name) for name in (names if names is not None else image_names())]
    done = {item.name: _built(item, image_dir(item)) for item in items if (image_dir(item) / STAMP).is_file()}
    if len(done) == len(items):
        return done
    reason = missing_reason()
    if reason:
        raise ClusterError(reason)
    hostpkgs.ensure(PACKAGES)
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".images.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; a waiter reuses the result
        for item in items:
            if (image_dir(item) / STAMP).is_file():
                done[item.name] = _built(item, image_dir(item))
            else:
                done[item.name] = _build(item)
    return done


def reference(image: BuiltImage, registry: str) -> str:
    """``registry/repository:tag``."""
    return f"{registry}/{image.repository}:{image.tag}"


def push(image: BuiltImage, registry: str) -> str:
    """Upload ``image``'s archive to ``registry`` (host:port, plain HTTP); returns the pullable reference."""
    ref = reference(image, registry)
    done = subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci-archive:{image.archive}", f"docker://{ref}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ClusterError(f"skopeo copy of {image.archive} to {ref} failed:\n{done.stderr.strip()[-2000:]}")
    return ref


class LocalRegistry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1: its own config file and storage under
    ``state_dir``, a free port, run as a process of its own (no systemd)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.config = state_dir / "config.yml"
        self.log = state_dir / "registry.log"
        self.pid: int | None = None
        self.address = ""

    def _config_text(self, port: int) -> str:
        return (
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.state_dir / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )

    def _answers(self) -> bool:
        with _direct().open(f"http://{self.address}/v2/", timeout=2) as answer:
            return int(answer.status) == 200

    def start(self) -> str:
        """Start it; returns ``"127.0.0.1:PORT"`` once it answers ``/v2/``."""
        if self.pid is not None and procs.alive(self.pid):
            return self.address
        hostpkgs.ensure(["docker-registry"])
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = procs.free_port()
        self.config.write_text(self._config_text(port))
        self.address = f"127.0.0.1:{port}"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "no_proxy": "*", "NO_PROXY": "*"}
        self.pid = procs.spawn(["docker-registry", "serve", str(self.config)], self.log, env=env)
        procs.wait_for("docker-registry", self._answers, timeout=30, pid=self.pid, log=self.log)
        return self.address

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop_group(self.pid)
            self.pid = None

    def manifest(self, repository: str, tag: str) -> dict[str, object] | None:
        """The registry's manifest of ``repository:tag`` (OCI or Docker v2), or None when it has none."""
        accept = ", ".join(
            [
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
            ]
        )
        request = urllib.request.Request(
            f"http://{self.address}/v2/{repository}/manifests/{tag}", headers={"Accept": accept}
        )
        try:
            with _direct().open(request, timeout=10) as answer:
                body: dict[str, object] = json.loads(answer.read())
                return body
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def _direct() -> urllib.request.OpenerDirector:
    """An opener that ignores proxy settings: the registry is on loopback."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def print_images(if_possible: bool = False) -> None:
    """``python -m localkube images``: build what is missing, then one line per image (ref, sizes, archive).
    ``if_possible``: where the host cannot build them, say why (the image tests skip with the same line) and return."""
    started = time.monotonic()
    reason = missing_reason()
    if if_possible and reason:
        print(f"localkube images: not built: {reason}", file=sys.stderr)
        return
    images = ensure_images()
    for image in images.values():
        print(
            f"{image.local_ref}\t{image.size / 1e6:.0f} MB\t{image.compressed_size / 1e6:.0f} MB compressed\t"
            f"{image.archive}"
        )
    print(f"({time.monotonic() - started:.1f}s)", file=sys.stderr)
