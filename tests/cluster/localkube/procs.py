"""Start, watch and stop the cluster's processes, each in its own process group."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ClusterError

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ClusterError(
                f"port {port} on 127.0.0.1 is in use by another process ({exc.strerror}). Stop that process "
                f"(`ss -ltnp 'sport = :{port}'` names it), or let localkube pick free ports (the default)."
            ) from exc


def _die_with_parent() -> None:
    # A test run that is killed must not leave the control plane running.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(cmd: Sequence[str], log: Path, env: dict[str, str] | None = None, tie_to_parent: bool = True) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=_die_with_parent if tie_to_parent else None,  # noqa: PLW1509 - only prctl()
        )
    return proc.pid


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child (started by an earlier `localkube up`)
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of a process that is not our child counts as gone.
    with contextlib.suppress(OSError):
        if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False
    return True


def stop_group(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def log_tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, pid: int | None = None, log: Path | None = None
) -> None:
    """Poll ``check`` until it is true; fail early, with the log, if the process died."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if pid is not None and not alive(pid):
            tail = log_tail(log) if log else ""
            hint = ""
            if "address already in use" in tail:
                hint = " A port it needs is in use by another process: stop it, or start again (new ports are picked)."
            raise ClusterError(f"{what} exited during start-up.{hint} Last lines of {log}:\n{tail}")
        if time.monotonic() > deadline:
            tail = log_tail(log) if log else ""
            raise ClusterError(f"{what} was not ready after {timeout:.0f}s. Last lines of {log}:\n{tail}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
