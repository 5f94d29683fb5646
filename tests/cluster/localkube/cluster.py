"""A loopback Kubernetes control plane plus one node that runs pods as local processes, and an S3 server.

``LocalCluster.start()`` starts etcd, the S3 server (versitygw, the data plane: values of data nodes live there),
kube-apiserver, kube-controller-manager, kube-scheduler and the node agent, in that order, each on a free loopback
port, and waits until the node is Ready and the ``default`` ServiceAccount exists. Everything it knows is written to
``<state_dir>/state.json`` (the S3 server's endpoint and generated credentials to ``<state_dir>/s3.json``) so that
another process (``localkube down``, ``localkube s3-env``) can find it. ``start_kwok()`` adds fake nodes for scale
tests.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import procs
from .build import Binaries, cache_root, ensure_binaries, ensure_versitygw
from .errors import ClusterError
from .pki import Pki, create_pki

NODE_NAME = "localkube-node"
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
KWOK_CONFIG = Path(__file__).resolve().parent.parent / "kwok.yaml"


S3_BUCKET = "taipod"


@dataclass(frozen=True)
class S3Server:
    """The cluster's S3 server: where it listens and its credentials (generated per cluster)."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str = S3_BUCKET

    @property
    def url(self) -> str:
        """The storage root taipod uses on it."""
        return f"s3://{self.bucket}/data"

    def env(self) -> dict[str, str]:
        """What a process needs to use it: the operator's settings and the standard AWS variables."""
        return {
            "TAIPOD_STORAGE_URL": self.url,
            "TAIPOD_STORAGE_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


@dataclass
class ClusterState:
    kubeconfig: str
    server: str
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)


def default_state_dir() -> Path:
    return cache_root() / "cluster"


def write_kubeconfig(path: Path, server: str, ca: Path, token: str, name: str = "localkube") -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()},
            }
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "admin", "namespace": "default"}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


class LocalCluster:
    def __init__(self, state_dir: Path | None = None, binaries: Binaries | None = None, nodes: int = 1) -> None:
        self.state_dir = (state_dir or default_state_dir()).resolve()
        self._binaries = binaries
        self.nodes = max(1, nodes)  # node agents; every pod of a node runs as a local process
        self._spawned: dict[str, tuple[list[str], dict[str, str] | None, bool]] = {}  # to restart a component
        self.state: ClusterState | None = None

    # -- paths -----------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def node_dir(self) -> Path:
        """The node agent's folder: pod logs are under ``pods/<ns>_<pod>_<uid>/<container>.log``."""
        return self.state_dir / "node"

    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _save(self) -> None:
        assert self.state is not None
        self._state_file().write_text(json.dumps(asdict(self.state), indent=2))

    def load(self) -> ClusterState | None:
        try:
            self.state = ClusterState(**json.loads(self._state_file().read_text()))
        except (OSError, ValueError, TypeError):
            self.state = None
        return self.state

    def running(self) -> bool:
        state = self.load()
        return bool(state and state.pids and all(procs.alive(p) for p in state.pids.values()))

    # -- start -----------------------------------------------------------------------------
    def start(self, detach: bool = False, timeout: float = 120, ports: dict[str, int] | None = None) -> ClusterState:
        """Start every process and wait until the cluster serves pods. ``detach`` keeps the
        processes running after this Python process exits (``localkube up``); ``ports``
        fixes some ports (etcd, etcd_peer, apiserver, kcm, scheduler, kubelet) instead of
        picking free ones."""
        for port in (ports or {}).values():
            procs.check_port_free(port)
        binaries = self._binaries or ensure_binaries()
        if self.running():
            raise ClusterError(
                f"a local cluster is already running from {self.state_dir} "
                f"(kubeconfig {self.kubeconfig}). Stop it first: python -m localkube down"
            )
        ports_override = dict(ports or {})
        self.stop()  # clears what a crashed earlier run left behind
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)
        pki = create_pki(self.state_dir / "pki")
        ports = {name: procs.free_port() for name in ("etcd", "etcd_peer", "apiserver", "kcm", "scheduler", "kubelet")}
        ports.update(ports_override)
        server = f"https://127.0.0.1:{ports['apiserver']}"
        write_kubeconfig(self.kubeconfig, server, pki.ca_cert, pki.token)
        (self.state_dir / "tokens.csv").write_text(f'{pki.token},admin,admin,"system:masters"\n')
        self.state = ClusterState(kubeconfig=str(self.kubeconfig), server=server, ports=ports)
        tie = not detach
        started = time.monotonic()
        try:
            self._start_etcd(binaries, ports, tie)
            self._start_s3(tie, timeout)
            self._start_apiserver(binaries, pki, ports, tie, timeout)
            self._start_controllers(binaries, pki, ports, tie, timeout)
            self._start_node_agent(pki, ports, tie, timeout)
        except BaseException:
            self.stop()
            raise
        self._save()
        print(
            f"localkube: cluster ready in {time.monotonic() - started:.1f}s; KUBECONFIG={self.kubeconfig}",
            file=sys.stderr,
            flush=True,
        )
        return self.state

    def _spawn(self, name: str, cmd: list[str], tie: bool, env: dict[str, str] | None = None) -> int:
        assert self.state is not None
        pid = procs.spawn(cmd, self.logs / f"{name}.log", env=env, tie_to_parent=tie)
        self.state.pids[name] = pid
        self._spawned[name] = (cmd, env, tie)
        self._save()
        return pid

    # -- faults, for the tests that provoke them for real ----------------------------------------
    def pause(self, name: str) -> None:
        """Freeze a component (``kube-apiserver``, ``etcd``, ``node-agent``...) with SIGSTOP, as a hung process."""
        os.killpg(self._pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.killpg(self._pid(name), signal.SIGCONT)

    def kill(self, name: str) -> None:
        """SIGKILL a component's process group, as a crash."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._pid(name), signal.SIGKILL)
        procs.wait_for(f"{name} to die", lambda: not procs.alive(self._pid(name)), 30, None, self.logs / f"{name}.log")

    def restart(self, name: str, timeout: float = 60) -> float:
        """Start a killed component again with its first command line; returns when it serves (the API server
        ready, a node Ready), as ``time.monotonic()``."""
        cmd, env, tie = self._spawned[name]
        if procs.alive(self._pid(name)):
            self.kill(name)
        pid = self._spawn(name, cmd, tie, env=env)
        api = self.api()
        assert self.state is not None
        if name == "kube-apiserver":
            token = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]
            ca = self.state_dir / "pki" / "ca.crt"
            ready: Any = lambda: self._https_ok(f"{self.state.server}/readyz", token, ca)  # noqa: E731
        elif name.startswith("node-agent"):
            index = int(name.rsplit("-", 1)[1]) if name != "node-agent" else 0
            ready = functools.partial(api.node_ready, self.node_names()[index])
        else:
            ready = lambda: procs.alive(pid)  # noqa: E731
        procs.wait_for(name, ready, timeout, pid, self.logs / f"{name}.log")
        return time.monotonic()

    def _pid(self, name: str) -> int:
        state = self.state or self.load()
        if state is None or name not in state.pids:
            raise ClusterError(f"no {name} process in the cluster of {self.state_dir}")
        return state.pids[name]

    # -- the S3 server -----------------------------------------------------------------------
    @property
    def _s3_file(self) -> Path:
        return self.state_dir / "s3.json"

    @property
    def s3(self) -> S3Server:
        """The S3 server's endpoint and credentials (``ClusterError`` before the cluster started)."""
        try:
            return S3Server(**json.loads(self._s3_file.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"no S3 server recorded in {self.state_dir}: start the cluster first") from exc

    def _start_s3(self, tie: bool, timeout: float) -> None:
        server = S3Server(
            endpoint=f"http://127.0.0.1:{procs.free_port()}",
            access_key=f"taipod{secrets.token_hex(6)}",
            secret_key=secrets.token_urlsafe(30),
        )
        self._s3_file.write_text(json.dumps(asdict(server)))
        self._s3_file.chmod(0o600)
        self.start_s3(tie=tie, timeout=timeout)
        _create_bucket(server)

    def start_s3(self, tie: bool = True, timeout: float = 30) -> None:
        """Start the S3 server (again): same port, credentials and data (tests stop it to provoke a real outage)."""
        server = self.s3
        data = self.state_dir / "s3"
        data.mkdir(exist_ok=True)
        port = server.endpoint.rsplit(":", 1)[1]
        cmd = [str(ensure_versitygw()), "--port", f"127.0.0.1:{port}", "--quiet", "posix"]
        if not _supports_user_xattrs(data):  # versitygw keeps object metadata in user xattrs, else aside
            (self.state_dir / "s3-meta").mkdir(exist_ok=True)
            cmd += ["--sidecar", str(self.state_dir / "s3-meta")]
        env = {**os.environ, "ROOT_ACCESS_KEY_ID": server.access_key, "ROOT_SECRET_ACCESS_KEY": server.secret_key}
        pid = self._spawn("s3", [*cmd, str(data)], tie, env=env)
        procs.wait_for("the S3 server", lambda: _accepts(int(port)), timeout, pid, self.logs / "s3.log")

    def stop_s3(self) -> None:
        """Stop the S3 server (its data stays); ``start_s3()`` brings it back."""
        state = self.load()
        pid = state.pids.pop("s3", None) if state else None
        if pid and procs.alive(pid):
            procs.stop_group(pid, grace=5)
        if state is not None:
            self._save()

    def _start_etcd(self, b: Binaries, ports: dict[str, int], tie: bool) -> None:
        client = f"http://127.0.0.1:{ports['etcd']}"
        peer = f"http://127.0.0.1:{ports['etcd_peer']}"
        pid = self._spawn(
            "etcd",
            [
                str(b.etcd),
                "--name=default",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            tie,
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{client}/health", timeout=2) as resp:
                return bool(json.load(resp).get("health") == "true")

        procs.wait_for("etcd", healthy, 60, pid, self.logs / "etcd.log")

    def _https_ok(self, url: str, token: str | None, ca: Path | None) -> bool:
        ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(req, context=ctx, timeout=3) as resp:
            return bool(resp.status == 200)

    def _start_apiserver(self, b: Binaries, pki: Pki, ports: dict[str, int], tie: bool, timeout: float) -> None:
        pid = self._spawn(
            "kube-apiserver",
            [
                str(b.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={pki.apiserver_cert}",
                f"--tls-private-key-file={pki.apiserver_key}",
                f"--token-auth-file={self.state_dir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                f"--kubelet-certificate-authority={pki.ca_cert}",
                "--kubelet-preferred-address-types=InternalIP",
                "--profiling=false",
                "--v=0",
            ],
            tie,
        )
        assert self.state is not None
        ready_url = f"{self.state.server}/readyz"
        procs.wait_for(
            "kube-apiserver",
            lambda: self._https_ok(ready_url, pki.token, pki.ca_cert),
            timeout,
            pid,
            self.logs / "kube-apiserver.log",
        )

    def _start_controllers(self, b: Binaries, pki: Pki, ports: dict[str, int], tie: bool, timeout: float) -> None:
        kcm = self._spawn(
            "kube-controller-manager",
            [
                str(b.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                # Controllers act as themselves (garbage collector, namespace controller), as in real clusters.
                "--use-service-account-credentials=true",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['kcm']}",
                "--cluster-name=localkube",
                "--v=0",
            ],
            tie,
        )
        sched = self._spawn(
            "kube-scheduler",
            [
                str(b.kube_scheduler),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['scheduler']}",
                "--v=0",
            ],
            tie,
        )
        procs.wait_for(
            "kube-controller-manager",
            lambda: self._https_ok(f"https://127.0.0.1:{ports['kcm']}/healthz", None, None),
            timeout,
            kcm,
            self.logs / "kube-controller-manager.log",
        )
        procs.wait_for(
            "kube-scheduler",
            lambda: self._https_ok(f"https://127.0.0.1:{ports['scheduler']}/healthz", None, None),
            timeout,
            sched,
            self.logs / "kube-scheduler.log",
        )

    def node_names(self) -> list[str]:
        """The node agents' nodes: ``localkube-node``, then ``localkube-node-1`` and so on."""
        return [NODE_NAME] + [f"{NODE_NAME}-{i}" for i in range(1, self.nodes)]

    def _start_node_agent(self, pki: Pki, ports: dict[str, int], tie: bool, timeout: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), *filter(None, [env.get("PYTHONPATH")])]
        )
        env.pop("KUBECONFIG", None)
        # The chart's embedded object store runs versitygw: the node's "image" of it is the cached binary.
        env["PATH"] = os.pathsep.join([str(ensure_versitygw().parent), *filter(None, [env.get("PATH")])])
        api = self.api()
        for index, node in enumerate(self.node_names()):
            suffix = f"-{index}" if index else ""
            port = ports["kubelet"] if index == 0 else procs.free_port()
            ports[f"kubelet{suffix}"] = port
            pid = self._spawn(
                f"node-agent{suffix}",
                [
                    sys.executable,
                    "-m",
                    "localkube.nodeagent",
                    f"--kubeconfig={self.kubeconfig}",
                    f"--node-name={node}",
                    f"--state-dir={self.state_dir / f'node{suffix}'}",
                    f"--port={port}",
                    f"--tls-cert={pki.kubelet_cert}",
                    f"--tls-key={pki.kubelet_key}",
                    *(["--provisioner"] if index == 0 else []),  # one provisioner: claims live on the first node
                ],
                tie,
                env=env,
            )
            procs.wait_for(
                f"node {node}",
                functools.partial(api.node_ready, node),
                timeout,
                pid,
                self.logs / f"node-agent{suffix}.log",
            )
        procs.wait_for(
            "the default ServiceAccount",
            lambda: api.exists("/api/v1/namespaces/default/serviceaccounts/default"),
            timeout,
            pid,
            self.logs / "kube-controller-manager.log",
        )

    # -- kwok ------------------------------------------------------------------------------
    def start_kwok(self, nodes: int = 1, timeout: float = 60, detach: bool = False) -> list[str]:
        """Start kwok and register ``nodes`` fake nodes (label ``type=kwok``, tainted
        ``kwok.x-k8s.io/node=fake:NoSchedule`` so only pods that tolerate it land there)."""
        state = self.load()
        if state is None:
            raise ClusterError("start the cluster before kwok")
        if "kwok" not in state.pids or not procs.alive(state.pids["kwok"]):
            binaries = self._binaries or ensure_binaries()
            port = procs.free_port()
            state.ports["kwok"] = port
            self._spawn(
                "kwok",
                [
                    str(binaries.kwok),
                    f"--kubeconfig={self.kubeconfig}",
                    f"--config={KWOK_CONFIG}",
                    "--manage-all-nodes=false",
                    "--manage-nodes-with-label-selector=type=kwok",
                    f"--server-address=127.0.0.1:{port}",
                    "--node-lease-duration-seconds=40",
                    "--cidr=10.244.0.0/16",
                    "--node-ip=127.0.0.1",
                ],
                tie=not detach,
            )
        api = self.api()
        names = [f"kwok-node-{i}" for i in range(nodes)]
        for name in names:
            api.create_if_missing(
                "/api/v1/nodes",
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "labels": {"type": "kwok", "kubernetes.io/hostname": name},
                        "annotations": {"kwok.x-k8s.io/node": "fake"},
                    },
                    "spec": {"taints": [KWOK_TAINT]},
                },
            )
        for name in names:
            procs.wait_for(
                f"kwok node {name}",
                functools.partial(api.node_ready, name),
                timeout,
                state.pids["kwok"],
                self.logs / "kwok.log",
            )
        return names

    # -- the real node (kubelet + containerd), opt-in --------------------------------------------
    def start_real_node(self, timeout: float = 180, detach: bool = False) -> str:
        """Start a real kubelet node (label and taint ``taipod.io/real-node=true``, so only pods that select and
        tolerate it land there); returns its name. See localkube/realnode.py."""
        from .realnode import RealNode

        return RealNode(self).start(timeout=timeout, detach=detach)

    def stop_real_node(self) -> None:
        """Stop the real node and undo what it changed on the host; safe to call when none runs."""
        from .realnode import RealNode

        RealNode(self).stop()

    # -- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every process (real node and node agents first, etcd last); safe to call twice."""
        state = self.load()
        if state is None:
            return
        if "kubelet" in state.pids or "containerd" in state.pids or (self.state_dir / "realnode").is_dir():
            self.stop_real_node()
            state = self.load() or state
        agents = sorted(name for name in state.pids if name.startswith("node-agent"))
        order = ["kwok", *agents, "kube-scheduler", "kube-controller-manager", "kube-apiserver", "s3", "etcd"]
        for name in order:
            pid = state.pids.get(name)
            if pid and procs.alive(pid):
                procs.stop_group(pid, grace=15 if name.startswith("node-agent") else 10)
        self._kill_leftover_pods()
        state.pids = {}
        with contextlib.suppress(OSError):
            self._save()

    def _kill_leftover_pods(self) -> None:
        # The node agent kills its pods when stopped; a SIGKILLed agent cannot, so the
        # process groups it recorded are killed here too.
        for pgid_file in self.state_dir.glob("node*/pods/*/*.pgid"):
            with contextlib.suppress(ValueError, OSError):
                procs.stop_group(int(pgid_file.read_text()), grace=1)

    @staticmethod
    def memory_limits_enforced() -> bool:
        """Whether the node agent can give containers a memory cgroup on this host."""
        from .nodeagent.cgroups import MemoryCgroup

        probe = MemoryCgroup.create(f"probe-{os.getpid()}", 64 * 2**20)
        if probe is None:
            return False
        probe.remove()
        return True

    def api(self) -> MiniApi:
        state = self.state or self.load()
        if state is None:
            raise ClusterError("the cluster is not running")
        token = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]
        return MiniApi(state.server, token, self.state_dir / "pki" / "ca.crt")


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _supports_user_xattrs(folder: Path) -> bool:
    try:
        os.setxattr(folder, "user.taipod.probe", b"1")
        os.removexattr(folder, "user.taipod.probe")
    except OSError:
        return False
    return True


def _create_bucket(server: S3Server) -> None:
    """Create the bucket taipod's data goes to (never with a LocationConstraint: versitygw refuses us-east-1)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key=server.access_key, secret=server.secret_key, client_kwargs={"endpoint_url": server.endpoint}
    )
    if not fs.exists(server.bucket):
        fs.mkdir(server.bucket)


class MiniApi:
    """The few API calls the harness itself needs, without a client library."""

    def __init__(self, server: str, token: str, ca: Path) -> None:
        self.server, self.token = server, token
        self.ctx = ssl.create_default_context(cafile=str(ca))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.server + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            return json.load(resp)

    def request_patch(self, path: str, body: Any) -> Any:
        """A JSON merge patch."""
        req = urllib.request.Request(
            self.server + path,
            data=json.dumps(body).encode(),
            method="PATCH",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/merge-patch+json"},
        )
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            return json.load(resp)

    def exists(self, path: str) -> bool:
        try:
            self.request("GET", path)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def create_if_missing(self, collection: str, obj: dict[str, Any]) -> None:
        try:
            self.request("POST", collection, obj)
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise

    def node_ready(self, name: str) -> bool:
        node = self.request("GET", f"/api/v1/nodes/{name}")
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        tainted = any(t["key"] == "node.kubernetes.io/not-ready" for t in node.get("spec", {}).get("taints", []) or [])
        return ready and not tainted
