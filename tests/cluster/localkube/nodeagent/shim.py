"""The first process of a container: runs inside its private mount and pid namespaces.

The node agent starts ``unshare --mount --pid --fork --kill-child ... python -m
localkube.nodeagent.shim SPEC``. As pid 1 of the new pid namespace this shim bind-mounts the
pod's volumes at their mountPaths (invisible to every other process), starts the container
command as its child, forwards termination signals to it (like tini, so SIGTERM reaches the
command), and writes the command's exit status to ``SPEC.exit``. When the shim ends, the kernel
kills whatever else is left in the namespace, so no process outlives its container.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _mount(source: str, target: str, fstype: str | None, flags: int) -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _write_exit(spec_path: Path, result: dict[str, object]) -> None:
    tmp = spec_path.with_suffix(".exit.tmp")
    tmp.write_text(json.dumps(result))
    tmp.rename(spec_path.with_suffix(".exit"))


def main() -> int:
    spec_path = Path(sys.argv[1])
    spec = json.loads(spec_path.read_text())
    try:
        for mount in spec["mounts"]:
            _mount(mount["source"], mount["target"], None, MS_BIND | MS_REC)
            if mount.get("readOnly"):
                _mount(mount["source"], mount["target"], None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        # A /proc of this pid namespace, so `ps` inside shows the container's processes.
        with contextlib.suppress(OSError):
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        _write_exit(spec_path, {"startError": str(exc)})
        return 128

    # A pipe tells the parent whether exec succeeded (closed on exec) or failed (error text).
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, False)
    child = os.fork()
    if child == 0:
        os.close(read_fd)
        try:
            os.chdir(spec["workingDir"] or "/")
            os.execvpe(spec["command"][0], spec["command"], spec["env"])
        except OSError as exc:
            os.write(write_fd, f"{spec['command'][0]}: {exc.strerror}".encode())
        os._exit(127)
    os.close(write_fd)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)

    start_error = b""
    while chunk := os.read(read_fd, 4096):
        start_error += chunk
    os.close(read_fd)

    while True:  # pid 1 reaps every orphan; only the command's status matters
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child:
            break
    if start_error:
        _write_exit(spec_path, {"startError": start_error.decode(errors="replace")})
        return 128
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        _write_exit(spec_path, {"exitCode": 128 + sig, "signal": sig})
        return 128 + sig
    code = os.WEXITSTATUS(status)
    _write_exit(spec_path, {"exitCode": code})
    return code


if __name__ == "__main__":
    sys.exit(main())
