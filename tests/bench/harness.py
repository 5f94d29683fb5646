"""The benchmark's machinery: its own cluster, the operator as a child process, watch timelines, request counters."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from localkube.cluster import LocalCluster, write_kubeconfig
from localkube.kubeclient import ApiError, KubeClient

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION = "taipod.io", "v1alpha1"
OPERATOR_NS = "taipod-bench"
OPERATOR_SA = "taipod-operator"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NS}:{OPERATOR_SA}"
ARGO_NS, ARGO_SA = "argo-bench", "argo-controller"  # the peer's controller, tests/bench/argo.py
ARGO_USER = f"system:serviceaccount:{ARGO_NS}:{ARGO_SA}"
KWOK_NODE_SELECTOR = {"type": "kwok"}
KWOK_TOLERATIONS = [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]
FINISHED = frozenset({"COMPLETED", "FAILED", "SKIPPED", "CANCELED", "ABANDONED"})

# Only the operator's and Argo's controller's requests are audited (the policy names their ServiceAccounts): the
# counts per verb and resource are their own, while apiserver_request_total mixes every client (controllers,
# scheduler, kwok, us).
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata", "users": [OPERATOR_USER, ARGO_USER]}, {"level": "None"}],
}
# A tuned control plane: kube-controller-manager's default client rate limit (20 QPS, burst 30, shared by the Job
# controller's pod creates, status updates and finalizer patches) caps any Job-based system at about 4 jobs/s, which
# would hide the operator's own cost. Both the baseline and taipod run on the same platform.
TUNED_FLAGS = {
    "kube-controller-manager": ["--kube-api-qps=300", "--kube-api-burst=600", "--concurrent-job-syncs=20"],
    "kube-scheduler": ["--kube-api-qps=300", "--kube-api-burst=600"],
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the platform (control plane, kwok, node agent, the benchmark) and the controllers under test (the
    operator, Argo's workflow-controller) may use: on a real cluster the operator runs on a worker node, not on the
    control plane's cores. ``None`` leaves a side unpinned."""

    platform: str | None = None
    controllers: str | None = None

    @classmethod
    def split(cls) -> Pinning:
        """The last CPU of this process's affinity for the controllers, the others for the platform."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("pinning needs at least 2 CPUs; run with --unpinned")
        return cls(",".join(map(str, cpus[:-1])), str(cpus[-1]))

    def describe(self) -> str:
        if self.platform is None:
            return "unpinned (every process shares every core)"
        return (
            f"pinned: control plane, kwok and the benchmark on CPU {self.platform}; "
            f"the controllers under test on CPU {self.controllers}"
        )

    @staticmethod
    def prefix(cpus: str | None) -> list[str]:
        return ["taskset", "-c", cpus] if cpus else []


class BenchCluster(LocalCluster):
    """A LocalCluster whose API server writes an audit log of the controllers' requests; tuned, raised client rate
    limits for the controller manager and the scheduler; pinned, every process on the platform's CPUs; kwok with an
    extra stage for Argo's pods (kwok-argo.yaml)."""

    def __init__(self, state_dir: Path, tuned: bool = True, pinning: Pinning | None = None) -> None:
        super().__init__(state_dir)
        self.tuned = tuned
        self.pinning = pinning or Pinning()

    @property
    def audit_log(self) -> Path:
        return self.state_dir / "audit.jsonl"

    def _kwok_config(self) -> Path:
        from localkube.cluster import KWOK_CONFIG

        path = self.state_dir / "kwok-bench.yaml"
        path.write_text(KWOK_CONFIG.read_text() + "\n---\n" + (Path(__file__).parent / "kwok-argo.yaml").read_text())
        return path

    def _spawn(self, name: str, cmd: list[str], tie: bool, env: dict[str, str] | None = None) -> int:
        if name == "kwok":
            cmd = [f"--config={self._kwok_config()}" if a.startswith("--config=") else a for a in cmd]
        return super()._spawn(name, [*Pinning.prefix(self.pinning.platform), *self._flags(name, cmd)], tie, env)

    def _flags(self, name: str, cmd: list[str]) -> list[str]:
        extra: list[str] = []
        if name == "kube-apiserver":
            policy = self.state_dir / "audit-policy.yaml"
            policy.write_text(yaml.safe_dump(AUDIT_POLICY))
            extra = [
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-maxsize=0",
                "--profiling=true",  # the last flag wins: /debug/pprof for ApiServerProfiler (admin only)
            ]
        elif self.tuned:
            extra = TUNED_FLAGS.get(name, [])
        return [*cmd, *extra]


# -- API ---------------------------------------------------------------------------------------------------------
class Api(KubeClient):
    """localkube's stdlib client (thread-local keep-alive connections), plus text GETs and bulk creates."""

    def text(self, path: str) -> str:
        conn = self._conn(30)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            resp = conn.getresponse()
            body = resp.read().decode()
            if resp.status >= 400:
                raise ApiError(resp.status, body)
            return body
        finally:
            conn.close()

    def create(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, body)

    def create_many(self, path: str, bodies: Iterable[dict[str, Any]], threads: int = 16) -> list[float]:
        """Create concurrently; returns each request's start time (time.time())."""
        starts: list[float] = []

        def one(body: dict[str, Any]) -> None:
            starts.append(time.time())
            self.create(path, body)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, bodies))
        return starts

    def list_all(self, path: str, page: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            sep = "&" if "?" in path else "?"
            query = f"{sep}limit={page}" + (f"&continue={token}" if token else "")
            data = self.get(path + query)
            items.extend(data.get("items") or [])
            token = (data.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def ensure_namespace(self, name: str) -> None:
        with contextlib.suppress(ApiError):
            self.create("/api/v1/namespaces", {"metadata": {"name": name, "labels": {"taipod-bench": "true"}}})
        wait_until(lambda: self.get_or_none(f"/api/v1/namespaces/{name}/serviceaccounts/default"), 60, f"SA in {name}")


def custom(namespace: str, plural: str, name: str = "", subresource: str = "") -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
    if name:
        path += f"/{name}"
    return f"{path}/{subresource}" if subresource else path


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (ApiError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def install_taipod(cluster: LocalCluster, api: Api) -> None:
    """The CRDs and the admission policy (as the chart installs them), then wait until each kind can be listed."""
    from taipod.api import admission

    docs = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))]
    text = yaml.safe_dump_all([*docs, *admission.documents()])
    kubectl = str(Path(sys.executable).parent / "kubectl")
    subprocess.run(
        [kubectl, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "--force-conflicts", "-f", "-"],
        input=text,
        text=True,
        check=True,
        capture_output=True,
    )
    for plural in ("scenarios", "submissions", "jobs"):
        path = f"/apis/{GROUP}/{VERSION}/{plural}?limit=1"
        wait_until(functools.partial(api.get, path), 60, f"{plural} served")


def operator_kubeconfig(cluster: LocalCluster, api: Api) -> Path:
    """The operator's own identity, so the audit log can tell its requests from everyone else's."""
    return service_account_kubeconfig(cluster, api, OPERATOR_NS, OPERATOR_SA)


def service_account_kubeconfig(cluster: LocalCluster, api: Api, namespace: str, account: str) -> Path:
    """A kubeconfig with the token of a ServiceAccount bound to cluster-admin."""
    api.ensure_namespace(namespace)
    with contextlib.suppress(ApiError):
        api.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": account}})
    with contextlib.suppress(ApiError):
        api.create(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "metadata": {"name": f"bench-{namespace}-{account}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
            },
        )
    token = api.create(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 86400}},
    )["status"]["token"]
    assert cluster.state is not None
    path = cluster.state_dir / f"{account}.kubeconfig"
    write_kubeconfig(path, cluster.state.server, cluster.state_dir / "pki" / "ca.crt", token, name=f"bench-{account}")
    return path


# -- watch timelines ---------------------------------------------------------------------------------------------
Marks = Callable[[dict[str, Any]], Iterable[tuple[str, str]]]


class Timeline:
    """When the benchmark first saw each (object, fact): watch events stamped with time.time() on arrival."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def mark(self, key: str, what: str, at: float) -> None:
        with self._lock:
            self.first.setdefault((key, what), at)

    def times(self, what: str) -> dict[str, float]:
        with self._lock:
            return {key: at for (key, w), at in self.first.items() if w == what}

    def count(self, whats: Iterable[str], prefix: str = "") -> int:
        wanted = set(whats)
        with self._lock:
            return len({key for (key, w) in self.first if w in wanted and key.startswith(prefix)})

    def earliest(self, whats: Iterable[str], prefix: str = "") -> dict[str, float]:
        """Per object, when it was first seen in any of ``whats`` (e.g. the first finished status)."""
        wanted = set(whats)
        found: dict[str, float] = {}
        with self._lock:
            for (key, w), at in self.first.items():
                if w in wanted and key.startswith(prefix) and (key not in found or at < found[key]):
                    found[key] = at
        return found


class Watcher:
    """Follows one collection from a daemon thread (re-listing after 410 Gone) and marks a Timeline."""

    def __init__(self, api: Api, path: str, marks: Marks, timeline: Timeline) -> None:
        self.api, self.path, self.marks, self.timeline = api, path, marks, timeline
        self.stopped = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch {path}")

    def start(self) -> Watcher:
        self._thread.start()
        self.ready.wait(30)
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _observe(self, obj: dict[str, Any], at: float) -> None:
        for key, what in self.marks(obj):
            self.timeline.mark(key, what, at)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                listed = self.api.list_all(self.path)
                now = time.time()
                for obj in listed:
                    self._observe(obj, now)
                rv = self.api.get(self.path + "?limit=1")["metadata"]["resourceVersion"]
                self.ready.set()
                while not self.stopped.is_set():
                    for event in self.api.watch(self.path, rv, timeout_seconds=120):
                        at = time.time()
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            raise ApiError(int(obj.get("code") or 500), str(obj.get("message")))
                        rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            self._observe(obj, at)
                        if self.stopped.is_set():
                            return
            except Exception as error:  # a dead watch would silently stop the measurement: always restart it
                if not self.stopped.is_set():
                    log(f"watch {self.path} restarts after: {type(error).__name__}: {error}"[:300])
                    time.sleep(0.5)


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def pod_marks(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Pods keyed by the taipod Job (label) or the batch Job they run: 'added', 'running', 'succeeded', 'failed'."""
    labels = _labels(obj)
    key = labels.get("taipod.io/job") or labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
    if not key:
        return
    yield key, "added"
    phase = (obj.get("status") or {}).get("phase")
    if phase in ("Running", "Succeeded", "Failed"):
        yield key, phase.lower()


def batch_marks(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """batch/v1 Jobs keyed by name: 'added', 'complete', 'failed'."""
    name = obj["metadata"]["name"]
    yield name, "added"
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            yield name, condition["type"].lower()


def taipod_job_marks(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """taipod Job resources keyed by name: 'added' and each status seen (SUBMITTED ... COMPLETED)."""
    name = obj["metadata"]["name"]
    yield name, "added"
    status = (obj.get("status") or {}).get("status")
    if status:
        yield name, status


# -- the operator process -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    peak_rss_mb: float
    rss_mb: float
    cpu_seconds: float


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a live process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14 and 15)


def process_usage(pid: int) -> Usage:
    """Peak and current RSS and CPU seconds of a live process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return Usage(
        peak_rss_mb=int(fields["VmHWM"].split()[0]) / 1024,
        rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
        cpu_seconds=cpu_seconds(pid),
    )


class CpuMeter:
    """CPU seconds used by each process of the run (control plane, kwok, operator, the benchmark) between two
    points: on a 2-core machine, where the cores went."""

    def __init__(self, cluster: LocalCluster, extra: dict[str, int] | None = None) -> None:
        state = cluster.state or cluster.load()
        self.pids = dict(state.pids if state else {})
        self.pids.update(extra or {})
        self.pids["benchmark"] = os.getpid()
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def used(self) -> tuple[float, dict[str, float]]:
        """(wall seconds, CPU seconds per process) since the meter was made."""
        wall = time.monotonic() - self.started
        return wall, {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class OperatorProcess:
    """``python -m taipod.operator`` in its own process, configured by environment as the chart configures it."""

    def __init__(
        self,
        kubeconfig: Path,
        namespaces: list[str],
        log_path: Path,
        *,
        kwok: bool,
        storage_env: dict[str, str],
        module: str = "taipod.operator",
        cpus: str | None = None,
    ) -> None:
        self.module = module
        self.cpus = cpus
        self.kubeconfig = kubeconfig
        self.namespaces = namespaces
        self.log_path = log_path
        self.kwok = kwok
        self.storage_env = storage_env  # TAIPOD_STORAGE_* and the store's AWS_* credentials
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, api: Api, timeout: float = 90) -> OperatorProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAIPOD_", "AWS_"))}
        env.update(
            {
                "KUBECONFIG": str(self.kubeconfig),
                "TAIPOD_NAMESPACES": ",".join(self.namespaces),
                "TAIPOD_LIVENESS_ENDPOINT": "",
                "PYTHONUNBUFFERED": "1",
                **self.storage_env,
            }
        )
        if self.kwok:
            env["TAIPOD_TASK_NODE_SELECTOR"] = json.dumps(KWOK_NODE_SELECTOR)
            env["TAIPOD_TASK_TOLERATIONS"] = json.dumps(KWOK_TOLERATIONS)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as sink:
            self.proc = subprocess.Popen(
                [*Pinning.prefix(self.cpus), sys.executable, "-m", self.module],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl()
            )
        pid = self.proc.pid

        def serving() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the operator exited ({self.proc.returncode}); see {self.log_path}")
            for ns in self.namespaces:
                lease = api.get_or_none(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/taipod-operator")
                if not lease or not str(lease["spec"].get("holderIdentity", "")).endswith(f"-{pid}"):
                    return False
            return True

        wait_until(serving, timeout, f"the operator (pid {pid}) to serve {self.namespaces}")
        return self

    def usage(self) -> Usage:
        return process_usage(self.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Profiler:
    """py-spy recording the operator (collapsed stacks of the thread holding the GIL: where its CPU goes), when
    py-spy is installed."""

    def __init__(self, pid: int, out: Path, rate: int = 50) -> None:
        self.out = out
        exe = Path(sys.executable).parent / "py-spy"
        self.proc: subprocess.Popen[bytes] | None = None
        if exe.exists():
            self.proc = subprocess.Popen(
                [
                    str(exe),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(rate),
                    "--gil",
                    "--format",
                    "raw",
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl()
            )
        else:
            log("py-spy is not installed in the venv (pip install py-spy): no profile")

    def stop(self) -> Path | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.out if self.out.exists() else None


class ApiServerProfiler:
    """A Go CPU profile of kube-apiserver (its /debug/pprof endpoint) over the next ``seconds``, taken in a thread;
    ``summary()`` lists the heaviest call paths with ``go tool pprof`` (Go builds the control plane, so it is here)."""

    def __init__(self, api: KubeClient, out: Path, seconds: int) -> None:
        self.out = out
        self.error: str | None = None
        self.thread = threading.Thread(target=self._fetch, args=(api, seconds), daemon=True)
        self.thread.start()

    def _fetch(self, api: KubeClient, seconds: int) -> None:
        try:
            conn = api._conn(seconds + 30)
            conn.request(
                "GET", f"/debug/pprof/profile?seconds={seconds}", headers={"Authorization": f"Bearer {api.token}"}
            )
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                self.error = f"HTTP {resp.status}"
                return
            self.out.write_bytes(data)
        except OSError as error:
            self.error = str(error)

    def summary(self, limit: int = 14) -> list[str]:
        self.thread.join()
        if self.error or not self.out.exists():
            return [f"no API-server profile: {self.error or 'nothing received'}"]
        try:
            text = subprocess.run(
                ["go", "tool", "pprof", "-top", "-cum", "-nodecount=400", str(self.out)],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            return [f"go tool pprof failed: {error}"]
        # The entry points of the work: a request's handler by resource kind, validation, field management, the
        # watch fan-out, etcd, garbage collection.
        keep = re.compile(
            r"(StatusREST\)\.Update|customresource\.\(\*REST\)|crdHandler\)\.serveResource|\.ValidateUpdate$|"
            r"cel\.\(\*Validator\)\.Validate$|FieldManager\)\.Update$|handleWatch$|cachingObject\)\.CacheEncode$|"
            r"store\)\.GuaranteedUpdate$|store\)\.Create$|gcBgMarkWorker$|registry\.\(\*Store\)\.(Create|Update)$|"
            r"patcher\)\.applyPatch$|storage\.\(\*StatusREST\)\.Update$)"
        )
        rows = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 6 and keep.search(parts[-1]):
                rows.append(f"{parts[4]:>7} cum  {parts[-1].rsplit('/', 1)[-1]}")
        return rows[:limit] or ["(no matching frames)"]


def top_frames(collapsed: Path, limit: int = 12) -> list[tuple[str, float, float]]:
    """The busiest functions of a py-spy raw profile: (function, inclusive %, self %), first the top by self time
    (anywhere), then the top by inclusive time among taipod's own functions (what to fix)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    taipod: set[str] = set()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[_short(frame)] += count
            if re.search(r"[(/]taipod/", frame):
                taipod.add(_short(frame))
        if frames:
            own[_short(frames[-1])] += count
    if not total:
        return []
    rows = [(name, 100 * inclusive[name] / total, 100 * n / total) for name, n in own.most_common(limit)]
    ours = [(name, n) for name, n in inclusive.most_common() if name in taipod][:limit]
    rows += [(name, 100 * n / total, 100 * own[name] / total) for name, n in ours]
    return rows


def _short(frame: str) -> str:
    # "fn (/long/path/site-packages/pkg/module.py:123)" -> "fn (pkg/module.py)"
    match = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    path = Path(match.group(2))
    return f"{match.group(1)} ({path.parent.name}/{path.name})"


# -- request counters ----------------------------------------------------------------------------------------------
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _resource(resource: str, group: str, subresource: str) -> str:
    name = f"{resource}.{group}" if group and group not in ("core",) else resource
    return f"{name}/{subresource}" if subresource else name


def settled_request_totals(api: Api, timeout: float = 10, interval: float = 0.5) -> Counter[tuple[str, str]]:
    """``request_totals`` once two readings ``interval`` apart agree (the requests still in flight when a run ends
    have landed), or the last reading after ``timeout`` seconds."""

    def resources(counts: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return {key: n for key, n in counts.items() if key[1]}  # not the readings' own GET /metrics

    deadline = time.monotonic() + timeout
    last = request_totals(api)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = request_totals(api)
        if resources(now) == resources(last):
            return now
        last = now
    return last


def request_totals(api: Api) -> Counter[tuple[str, str]]:
    """apiserver_request_total by (verb, resource[/subresource]): every client's requests so far."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in api.text("/metrics").splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match.group("labels")))
        key = (
            labels.get("verb", ""),
            _resource(labels.get("resource", ""), labels.get("group", ""), labels.get("subresource", "")),
        )
        counts[key] += int(float(match.group("value")))
    return counts


_AUDIT_VERBS = {"create": "POST", "update": "PUT", "deletecollection": "DELETE"}  # the others match when upper-cased


class AuditCounter:
    """One controller's requests by (verb, resource), read from the audit log between two marks."""

    def __init__(self, path: Path, user: str = OPERATOR_USER) -> None:
        self.path, self.user = path, user

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def counts(self, since: int, until: int | None = None) -> Counter[tuple[str, str]]:
        seen: set[str] = set()
        counts: Counter[tuple[str, str]] = Counter()
        with self.path.open("rb") as f:
            f.seek(since)
            data = f.read() if until is None else f.read(max(until - since, 0))
        for raw in data.splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if event.get("auditID") in seen or (event.get("user") or {}).get("username") != self.user:
                continue
            seen.add(event["auditID"])
            ref = event.get("objectRef") or {}
            key = (
                _AUDIT_VERBS.get(str(event.get("verb")), str(event.get("verb")).upper()),
                _resource(ref.get("resource", ""), ref.get("apiGroup", ""), ref.get("subresource", "")),
            )
            counts[key] += 1
        return counts
