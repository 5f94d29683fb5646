"""One pod on the node: its containers run as local processes, its status is reported like
a kubelet's (phase, conditions, containerStatuses with exit code, reason and termination
message), deletion is honoured with SIGTERM then SIGKILL after the grace period, and
activeDeadlineSeconds ends it Failed with reason DeadlineExceeded."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localkube.kubeclient import SMP, ApiError

from . import volumes as vol
from .cgroups import MemoryCgroup, parse_quantity
from .envs import StartError, resolve_command, resolve_env

if TYPE_CHECKING:
    from .agent import Agent

log = logging.getLogger("localkube.pod")

TERMINATION_MESSAGE_LIMIT = 4096
FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES = 80, 2048


REPORT_PATIENCE = 600.0  # seconds a status report is retried while the API server is away


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` is still the container process whose command line holds ``marker`` (not a zombie, not a pid
    reused since)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X") and marker.encode() in cmdline


class AdoptedProcess:
    """A container process that an earlier agent started (the agent was killed, then restarted): watched, never
    started again, as a restarted kubelet finds its containers still running in the runtime."""

    def __init__(self, pid: int, marker: str) -> None:
        self.pid, self.marker = pid, marker
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _alive(self.pid, self.marker):
            self.returncode = -signal.SIGKILL  # read only when the shim left no exit record
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"adopted container {self.pid}", timeout or 0)
            time.sleep(0.1)
        return code


@dataclass
class ContainerRun:
    spec: dict[str, Any]
    log_path: Path
    restart_count: int = 0
    proc: subprocess.Popen[bytes] | AdoptedProcess | None = None
    adopted: bool = False  # taken over from an earlier agent: the next start is skipped
    started_at: str | None = None
    terminated: dict[str, Any] | None = None
    last_terminated: dict[str, Any] | None = None
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    restart_at: float | None = None
    held_mounts: list[Path] = field(default_factory=list)
    cgroup: MemoryCgroup | None = None

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def running(self) -> bool:
        return self.proc is not None and self.terminated is None

    def status(self, init: bool) -> dict[str, Any]:
        # Strategic merge patches merge maps, so the states not in force are nulled explicitly.
        state: dict[str, Any] = {"waiting": None, "running": None, "terminated": None}
        if self.terminated is not None:
            state["terminated"] = self.terminated
        elif self.proc is not None and self.started_at:
            state["running"] = {"startedAt": self.started_at}
        else:
            reason, message = self.waiting or ("ContainerCreating", "")
            state["waiting"] = {"reason": reason, **({"message": message} if message else {})}
        status: dict[str, Any] = {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "containerID": f"localkube://{self.proc.pid}" if self.proc else None,
            "restartCount": self.restart_count,
            "ready": bool(state["running"]) and not init,
            "started": bool(state["running"]),
            "state": state,
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {"terminated": None},
        }
        return status


class PodWorker(threading.Thread):
    def __init__(self, agent: Agent, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.agent = agent
        self.pod = pod
        self.ns, self.pod_name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.dir = agent.pods_dir / f"{self.ns}_{self.pod_name}_{self.uid}"
        self.wake = threading.Event()
        self.stopping = False  # set by the agent on shutdown: kill, do not report
        self.phase = "Pending"
        self.start_time = now_iso()
        self.started_mono = time.monotonic()
        self.reason: str | None = None
        self.message: str | None = None
        self.conditions: dict[str, tuple[str, str]] = {}
        spec = pod["spec"]
        self.init_runs = [self._new_run(c) for c in spec.get("initContainers") or []]
        self.runs = [self._new_run(c) for c in spec.get("containers") or []]
        self.done = False
        self.object_deleted = False  # set by the agent on the DELETED event

    def _new_run(self, spec: dict[str, Any]) -> ContainerRun:
        return ContainerRun(spec=spec, log_path=self.dir / f"{spec['name']}.log")

    # -- called from the agent's watch thread ---------------------------------------------
    def update(self, pod: dict[str, Any]) -> None:
        self.pod = pod
        self.wake.set()

    def deleting(self) -> bool:
        return bool(self.pod["metadata"].get("deletionTimestamp"))

    # -- main ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("pod %s/%s: worker failed", self.ns, self.pod_name)
            self.phase, self.reason, self.message = "Failed", "NodeAgentError", "the node agent failed; see its log"
            with contextlib.suppress(Exception):
                self._kill_all(signal.SIGKILL)
                self.report()
        finally:
            for run in [*self.init_runs, *self.runs]:
                self.agent.mountpoints.release(run.held_mounts)
                run.held_mounts = []
                if run.cgroup:
                    run.cgroup.remove()
            self.done = True
            if self.deleting() and not self.stopping:
                self.agent.finalize_delete(self.pod)
            if self.object_deleted:  # removed while running (e.g. force-deleted): nothing will ask again
                self.agent.forget(self.uid)

    def _run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for run in [*self.init_runs, *self.runs]:
            self._adopt(run)
        if any(run.adopted for run in self.runs):
            self._set_condition("PodReadyToStartContainers", "True")
            self._set_condition("Initialized", "True")
        self.report()
        paths = self._prepare_volumes()
        if paths is None:
            return
        self._set_condition("PodReadyToStartContainers", "True")
        if not self._run_init_containers(paths):
            return
        self._set_condition("Initialized", "True")
        for run in self.runs:
            self._start(run, paths)
        self.report()
        self._supervise(paths)

    def _prepare_volumes(self) -> dict[str, Path] | None:
        while not self.stopping:
            if self.deleting():
                self.phase = "Failed"
                self.report()
                return None
            try:
                return vol.prepare(self.agent.client, self.pod, self.dir)
            except vol.VolumeNotReady as exc:
                for run in [*self.init_runs, *self.runs]:
                    run.waiting = ("ContainerCreating", f"MountVolume.SetUp failed: {exc}")
                self.report()
            self.wake.wait(1.0)
            self.wake.clear()
        return None

    def _run_init_containers(self, paths: dict[str, Path]) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        for run in self.init_runs:
            while True:
                self._start(run, paths)
                self.report()
                while run.running() and not self._interrupted():
                    self.wake.wait(self._next_timeout())
                    self.wake.clear()
                    self._reap(run)
                if self._interrupted():
                    self._finish_interrupted()
                    return False
                assert run.terminated is not None
                if run.terminated["exitCode"] == 0:
                    break
                if policy == "Never":
                    self.phase = "Failed"
                    self._finish()
                    return False
                self._backoff(run)
        return True

    def _supervise(self, paths: dict[str, Path]) -> None:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        while True:
            self.wake.wait(self._next_timeout())
            self.wake.clear()
            if self._interrupted():
                self._finish_interrupted()
                return
            changed = False
            for run in self.runs:
                if run.running() and self._reap(run):
                    changed = True
                    code = run.terminated["exitCode"] if run.terminated else 0
                    if policy == "Always" or (policy == "OnFailure" and code != 0):
                        run.restart_at = time.monotonic() + min(10.0, 2.0**run.restart_count)
                        run.waiting = ("CrashLoopBackOff", f"back-off restarting failed container {run.name}")
                if run.restart_at is not None and time.monotonic() >= run.restart_at:
                    self._backoff_restart(run, paths)
                    changed = True
            if all(r.terminated is not None and r.restart_at is None for r in self.runs):
                ok = all(r.terminated and r.terminated["exitCode"] == 0 for r in self.runs)
                self.phase = "Succeeded" if ok else "Failed"
                self._finish()
                return
            if changed:
                self.report()

    def _backoff(self, run: ContainerRun) -> None:
        delay = min(10.0, 2.0**run.restart_count)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self._interrupted():
            self.wake.wait(deadline - time.monotonic())
            self.wake.clear()
        self._recycle(run)

    def _backoff_restart(self, run: ContainerRun, paths: dict[str, Path]) -> None:
        self._recycle(run)
        self._start(run, paths)

    def _recycle(self, run: ContainerRun) -> None:
        run.last_terminated, run.terminated = run.terminated, None
        run.restart_count += 1
        run.restart_at = None
        run.proc = None
        if run.log_path.exists():
            run.log_path.replace(run.log_path.with_suffix(".log.1"))

    # -- deadline, deletion ----------------------------------------------------------------
    def _deadline(self) -> float | None:
        seconds = self.pod["spec"].get("activeDeadlineSeconds")
        return self.started_mono + float(seconds) if seconds is not None else None

    def _next_timeout(self) -> float:
        waits = [5.0]
        deadline = self._deadline()
        if deadline is not None:
            waits.append(deadline - time.monotonic())
        waits += [r.restart_at - time.monotonic() for r in self.runs if r.restart_at is not None]
        return max(0.01, min(waits))

    def _interrupted(self) -> bool:
        deadline = self._deadline()
        return self.stopping or self.deleting() or (deadline is not None and time.monotonic() >= deadline)

    def _finish_interrupted(self) -> None:
        if self.stopping:
            self._kill_all(signal.SIGKILL)
            return
        if self.deleting():
            grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
            grace = 30 if grace is None else int(grace)
            self._terminate_all(grace)
        else:
            self._kill_all(signal.SIGKILL)
            self.reason = "DeadlineExceeded"
            self.message = "Pod was active on the node longer than the specified deadline"
        ok = all(r.terminated and r.terminated["exitCode"] == 0 for r in self.runs if r.proc)
        self.phase = "Succeeded" if ok and not self.reason else "Failed"
        self._finish()

    def _terminate_all(self, grace: int) -> None:
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(r.running() for r in [*self.init_runs, *self.runs]) and time.monotonic() < deadline:
            self.wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            self.wake.clear()
            for run in [*self.init_runs, *self.runs]:
                if run.running():
                    self._reap(run)
        self._kill_all(signal.SIGKILL)

    def _signal_all(self, sig: signal.Signals) -> None:
        for run in [*self.init_runs, *self.runs]:
            if run.running() and run.proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(run.proc.pid, sig)

    def _kill_all(self, sig: signal.Signals) -> None:
        self._signal_all(sig)
        for run in [*self.init_runs, *self.runs]:
            if run.running() and run.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    run.proc.wait(timeout=5)
                self._reap(run)

    def _finish(self) -> None:
        self.report()

    # -- processes -------------------------------------------------------------------------
    def _adopt(self, run: ContainerRun) -> None:
        """Take over what an earlier agent (killed, then restarted) left of this container: its process, still
        running, or its exit record. A task must never run twice because its node agent restarted."""
        spec_path = self.dir / f"{run.name}.spec.json"
        try:
            pid: int | None = int((self.dir / f"{run.name}.pgid").read_text())
        except (OSError, ValueError):
            pid = None
        if pid is None and not spec_path.with_suffix(".exit").exists():
            return
        proc = AdoptedProcess(pid or 0, str(spec_path))
        if pid is None:
            proc.returncode = 0  # reaped by the earlier agent: the exit record says how it ended
        started = dt.datetime.fromtimestamp(spec_path.stat().st_mtime, dt.UTC) if spec_path.exists() else None
        run.proc, run.adopted, run.waiting = proc, True, None
        run.started_at = started.strftime("%Y-%m-%dT%H:%M:%SZ") if started else now_iso()
        limit = ((run.spec.get("resources") or {}).get("limits") or {}).get("memory")
        if limit:  # the same cgroup as before, so that an OOM kill is still seen
            run.cgroup = MemoryCgroup.create(f"{self.uid}_{run.name}", parse_quantity(limit))
        log.info("pod %s/%s: container %s adopted (pid %s)", self.ns, self.pod_name, run.name, pid)
        threading.Thread(target=self._wait_proc, args=(proc,), daemon=True).start()

    def _mounts(self, run: ContainerRun, paths: dict[str, Path]) -> list[dict[str, Any]]:
        mounts: list[dict[str, Any]] = []
        for m in sorted(run.spec.get("volumeMounts") or [], key=lambda m: len(Path(m["mountPath"]).parts)):
            source = paths[m["name"]]
            if m.get("subPath"):
                source = source / m["subPath"]
                if not source.exists():
                    source.mkdir(parents=True)
            mounts.append(
                {
                    "source": str(source),
                    "target": m["mountPath"],
                    "readOnly": bool(m.get("readOnly")),
                    "isFile": source.is_file(),
                }
            )
        term = self.dir / f"{run.name}.termination-log"
        term.write_bytes(b"")
        term.chmod(0o666)
        mounts.append(
            {
                "source": str(term),
                "target": run.spec.get("terminationMessagePath", "/dev/termination-log"),
                "readOnly": False,
                "isFile": True,
            }
        )
        # A target inside an earlier mount is created inside that mount's source folder.
        for i, mount in enumerate(mounts):
            target = Path(mount["target"])
            outer = next(
                (o for o in reversed(mounts[:i]) if not o["isFile"] and target.is_relative_to(o["target"])), None
            )
            if outer is not None:
                inner = Path(outer["source"]) / target.relative_to(outer["target"])
                if mount["isFile"]:
                    inner.parent.mkdir(parents=True, exist_ok=True)
                    inner.touch()
                else:
                    inner.mkdir(parents=True, exist_ok=True)
            else:
                run.held_mounts += self.agent.mountpoints.acquire(target, mount["isFile"])
        return mounts

    def _start(self, run: ContainerRun, paths: dict[str, Path]) -> None:
        if run.adopted:  # already started by the earlier agent
            run.adopted = False
            return
        try:
            env = resolve_env(self.agent.client, self.pod, run.spec, self.agent.api_port)
            command = resolve_command(run.spec, env, self.agent.images)
        except (StartError, vol.VolumeNotReady) as exc:
            reason = "CreateContainerConfigError" if isinstance(exc, vol.VolumeNotReady) else "StartError"
            run.terminated = {
                "exitCode": 128,
                "reason": reason,
                "message": str(exc),
                "startedAt": now_iso(),
                "finishedAt": now_iso(),
            }
            run.proc = None
            return
        spec_path = self.dir / f"{run.name}.spec.json"
        spec_path.with_suffix(".exit").unlink(missing_ok=True)
        self.agent.mountpoints.release(run.held_mounts)
        run.held_mounts = []
        spec = {
            "mounts": self._mounts(run, paths),
            "workingDir": run.spec.get("workingDir") or str(Path.cwd()),
            "command": command,
            "env": env,
        }
        spec_path.write_text(json.dumps(spec))
        limit = ((run.spec.get("resources") or {}).get("limits") or {}).get("memory")
        if limit and run.cgroup is None:
            run.cgroup = MemoryCgroup.create(f"{self.uid}_{run.name}", parse_quantity(limit))
        procs_file = run.cgroup.procs_file() if run.cgroup else None

        def enter_cgroup() -> None:
            if procs_file:
                with open(procs_file, "w") as f:  # noqa: PTH123 - runs between fork and exec
                    f.write(str(os.getpid()))

        unshare = ["unshare", "--mount", "--pid", "--fork", "--kill-child=SIGKILL", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare[1:1] = ["--user", "--map-root-user"]
        shim_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        with run.log_path.open("ab") as out:
            run.proc = subprocess.Popen(
                [*unshare, sys.executable, "-S", "-m", "localkube.nodeagent.shim", str(spec_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=shim_env,
                start_new_session=True,
                preexec_fn=enter_cgroup,  # noqa: PLW1509 - one write() before exec
            )
        (self.dir / f"{run.name}.pgid").write_text(str(run.proc.pid))
        run.started_at, run.waiting, run.terminated = now_iso(), None, None
        threading.Thread(target=self._wait_proc, args=(run.proc,), daemon=True).start()

    def _wait_proc(self, proc: subprocess.Popen[bytes] | AdoptedProcess) -> None:
        proc.wait()
        self.wake.set()

    def _reap(self, run: ContainerRun) -> bool:
        """Record the container's end if its process has exited; True if it just ended."""
        if run.proc is None or run.terminated is not None or run.proc.poll() is None:
            return False
        spec_path = self.dir / f"{run.name}.spec.json"
        try:
            result = json.loads(spec_path.with_suffix(".exit").read_text())
        except (OSError, ValueError):
            code = run.proc.returncode or 0  # set: poll() answered
            result = {"exitCode": 128 - code if code < 0 else code}
        (self.dir / f"{run.name}.pgid").unlink(missing_ok=True)
        finished = now_iso()
        if "startError" in result:
            run.terminated = {
                "exitCode": 128,
                "reason": "StartError",
                "message": result["startError"],
                "startedAt": run.started_at,
                "finishedAt": finished,
            }
            return True
        code = int(result["exitCode"])
        reason = "OOMKilled" if run.cgroup and run.cgroup.oom_killed() else "Completed" if code == 0 else "Error"
        terminated: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": run.started_at,
            "finishedAt": finished,
            "containerID": f"localkube://{run.proc.pid}",
        }
        if "signal" in result:
            terminated["signal"] = result["signal"]
        message = self._termination_message(run, code)
        if message:
            terminated["message"] = message
        run.terminated = terminated
        return True

    def _termination_message(self, run: ContainerRun, code: int) -> str:
        with contextlib.suppress(OSError):
            data = (self.dir / f"{run.name}.termination-log").read_bytes()[:TERMINATION_MESSAGE_LIMIT]
            if data:
                return data.decode(errors="replace")
        if code != 0 and run.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            with contextlib.suppress(OSError):
                lines = run.log_path.read_bytes().splitlines()[-FALLBACK_LOG_LINES:]
                return b"\n".join(lines)[-FALLBACK_LOG_BYTES:].decode(errors="replace")
        return ""

    # -- status ----------------------------------------------------------------------------
    def _set_condition(self, kind: str, status: str) -> None:
        previous = self.conditions.get(kind)
        if previous is None or previous[0] != status:
            self.conditions[kind] = (status, now_iso())

    def report(self) -> None:
        if self.stopping:
            return
        terminal = self.phase in ("Succeeded", "Failed")
        if not terminal and self.runs and all(r.running() for r in self.runs) and self.phase == "Pending":
            self.phase = "Running"
        ready = "True" if self.phase == "Running" and all(r.running() for r in self.runs) else "False"
        self._set_condition("ContainersReady", ready)
        self._set_condition("Ready", ready)
        self.conditions.setdefault("Initialized", ("False", now_iso()))
        self.conditions.setdefault("PodReadyToStartContainers", ("False", now_iso()))
        if terminal:
            self._set_condition("PodReadyToStartContainers", "False")
        status: dict[str, Any] = {
            "phase": self.phase,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time,
            "conditions": [
                {"type": k, "status": s, "lastTransitionTime": t, "lastProbeTime": None}
                for k, (s, t) in self.conditions.items()
            ],
            "containerStatuses": [r.status(init=False) for r in self.runs],
        }
        if self.init_runs:
            status["initContainerStatuses"] = [r.status(init=True) for r in self.init_runs]
        if self.reason:
            status["reason"], status["message"] = self.reason, self.message
        # A kubelet keeps reporting until the API server takes it: a failed report (the server restarting, frozen,
        # or answering 429/5xx) is retried, never the end of the worker, else the pod would show Running forever.
        deadline = time.monotonic() + REPORT_PATIENCE
        delay = 0.2
        while True:
            try:
                self.agent.client.request(
                    "PATCH",
                    f"/api/v1/namespaces/{self.ns}/pods/{self.pod_name}/status",
                    {"metadata": {"uid": self.uid}, "status": status},
                    SMP,
                )
                return
            except ApiError as exc:
                if exc.status in (404, 409, 422):
                    log.info("pod %s/%s: status not written (%s)", self.ns, self.pod_name, exc)
                    return
                if exc.status != 429 and exc.status < 500:
                    raise
                error: Exception = exc
            except OSError as exc:  # connection refused or reset, timeouts (urllib's errors are OSErrors)
                error = exc
            if self.stopping or time.monotonic() > deadline:
                raise error
            log.warning("pod %s/%s: status report failed (retry in %.1fs): %s", self.ns, self.pod_name, delay, error)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def cleanup_files(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
