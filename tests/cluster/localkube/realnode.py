"""An opt-in real node for the local cluster: the upstream kubelet with Debian's containerd and runc.

The node agent runs pods as local processes and ignores images; this node pulls images and runs containers, for the
tests that must prove the images and the chart (tests/e2e/test_real_node.py). It is started next to the node agent by
``LocalCluster.start_real_node()`` (``python -m localkube up --real-node``) and stopped before the control plane.

Everything it owns lives under ``<state_dir>/realnode/``: containerd's root, state and socket (never the system's
default containerd), the CNI configuration and plugins, the kubelet's root and pod logs. The network rule of our
machines holds: pods get a 127.77.x.y/32 address on a veth pair inside their own network namespace (the plugin
``tests/cluster/realnode/taipod-podnet``); the only way out of a pod is a port of the host's loopback that
``RealNode.forward`` relays into each pod's netns through a unix socket (the tests' S3 server); the node's address is
127.0.0.1. The kubelet refuses a loopback
``--node-ip``, so it runs with ``--cloud-provider=external`` and this module does what a cloud controller does:
it sets the node's address and removes the ``uninitialized`` taint. The apiserver then reaches the kubelet's server on
127.0.0.1, and ``kubectl logs`` works.

What the kubelet and containerd change outside that folder is recorded at start and undone at stop: the sysctls the
kubelet sets, the ``/kubepods`` cgroups, the pods' network namespaces (``/run/netns/cni-*``), shim sockets, the
folders it creates (``/var/lib/kubelet``, ``/var/log/containers``), and podman's bridge conflist in /etc/cni/net.d.
One real node per machine: the cgroup tree ``/kubepods`` is machine-wide.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import hostpkgs, procs
from .build import cache_root
from .errors import ClusterError
from .nodebuild import ensure_kubelet, ensure_pause
from .pauseimage import PAUSE_IMAGE, write_pause_archive

if TYPE_CHECKING:
    from .cluster import LocalCluster

REAL_NODE_NAME = "localkube-real-node"
REAL_NODE_LABEL = "taipod.io/real-node"
REAL_NODE_TAINT = {"key": REAL_NODE_LABEL, "value": "true", "effect": "NoSchedule"}
UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"
PACKAGES = ["containerd", "runc", "containernetworking-plugins", "iproute2", "util-linux", "socat"]
CNI_PLUGIN = Path(__file__).resolve().parent.parent / "realnode" / "taipod-podnet"
DEBIAN_CNI_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins: containerd calls its `loopback`
PODMAN_CONFLIST = Path("/etc/cni/net.d/87-podman-bridge.conflist")  # installed with podman, never used here
# What the kubelet sets when protectKernelDefaults is false (pkg/kubelet/cm/container_manager_linux.go).
KUBELET_SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
HOST_DIRS = (
    Path("/var/lib/kubelet"),  # device-plugins/ is a constant path of the kubelet, whatever its --root-dir
    Path("/var/log/containers"),  # a constant of the kubelet too
    Path("/var/log/pods"),
    Path("/run/containerd"),  # the shims' sockets and runc's state (constants of containerd 1.6's runc shim)
    Path("/var/lib/cni"),  # libcni's cache of results, a constant of containerd's CNI library
)
CNI_RESULTS = Path("/var/lib/cni/results")
MACHINE_CLAIM = cache_root() / "real-node-owner.json"  # which real node owns this machine (one at a time)
MACHINE_LOCK = cache_root() / ".real-node.lock"
CGROUP_ROOT = Path("/sys/fs/cgroup")
NETNS_DIR = Path("/run/netns")
SHIM_SOCKETS = Path("/run/containerd/s")

SYSCTLS_BEFORE = "real-node-sysctls-before.json"  # in the cache: the kernel settings before any real node


def missing_reason() -> str | None:
    """Why this host cannot run the real node (one line), or None."""
    if os.geteuid() != 0:
        return "the real node (kubelet + containerd) needs root"
    if not Path("/proc/self/ns/user").exists():
        return "the real node needs user namespaces, which this kernel lacks"
    if not (CGROUP_ROOT / "memory").is_dir() and not (CGROUP_ROOT / "cgroup.controllers").is_file():
        return "the real node needs a memory cgroup, and /sys/fs/cgroup has none"
    return hostpkgs.missing_reason(PACKAGES)


def build_if_possible() -> None:
    """Build (or find) the kubelet and the pause program where this host can run the real node; else say why."""
    reason = missing_reason()
    if reason:
        print(f"localkube: not building the real node: {reason}", file=sys.stderr)
        return
    print(ensure_kubelet())
    print(ensure_pause())


@dataclass(frozen=True)
class RealNodePaths:
    base: Path

    @property
    def containerd_root(self) -> Path:
        return self.base / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.base / "containerd" / "state"

    @property
    def socket(self) -> Path:
        return self.base / "containerd" / "containerd.sock"

    @property
    def hosts_dir(self) -> Path:
        return self.base / "containerd" / "certs.d"

    @property
    def cni_bin(self) -> Path:
        return self.base / "cni" / "bin"

    @property
    def cni_conf(self) -> Path:
        return self.base / "cni" / "net.d"

    @property
    def forwards(self) -> Path:
        """The ports the CNI plugin forwards from each pod's 127.0.0.1 to the node (read at each pod's ADD)."""
        return self.cni_bin / "taipod-podnet.forwards"

    @property
    def forwarders(self) -> Path:
        """The pids of the pods' forwarders, a file per container (written by the CNI plugin)."""
        return self.base / "cni" / "forwarders"

    @property
    def kubelet_root(self) -> Path:
        return self.base / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.base / "pods"

    @property
    def host_record(self) -> Path:
        return self.base / "host-before.json"


def _containerd_config(paths: RealNodePaths) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{paths.containerd_root}"
state = "{paths.containerd_state}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{paths.socket}"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{paths.base / "containerd" / "opt"}"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  # Without it the sandbox fails with "can't get final child's PID from pipe": we lack CAP_SYS_RESOURCE.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  # Pod network namespaces under our state folder, never in /run/netns.
  netns_mounts_under_state_dir = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "{shutil.which("runc") or "/usr/sbin/runc"}"
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{paths.cni_bin}"
  conf_dir = "{paths.cni_conf}"
  max_conf_num = 1

[{cri}.registry]
  config_path = "{paths.hosts_dir}"
"""


def _kubelet_config(cluster: LocalCluster, paths: RealNodePaths, port: int, healthz_port: int) -> dict[str, Any]:
    pki = cluster.state_dir / "pki"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,  # our machines have cgroup v1; the kubelet 1.35+ refuses it otherwise
        "cgroupDriver": "cgroupfs",  # no systemd here
        "containerRuntimeEndpoint": f"unix://{paths.socket}",
        "address": "127.0.0.1",
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(pki / "kubelet.crt"),  # signed by the cluster's CA for 127.0.0.1
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        # The apiserver calls the kubelet without a client certificate (as it does the node agent's endpoint),
        # which listens on 127.0.0.1 only.
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "registerWithTaints": [REAL_NODE_TAINT],
        "podLogsDirectory": str(paths.pod_logs),
        "volumePluginDir": str(paths.base / "volume-plugins"),
        "failSwapOn": False,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
        "resolvConf": "/etc/resolv.conf",
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
    }


def _conflist() -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": "taipod-real-node",
        "plugins": [{"type": "taipod-podnet"}],
    }


def _read_sysctl(name: str) -> str:
    return Path("/proc/sys", *name.split(".")).read_text().strip()


def _write_sysctl(name: str, value: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/sys", *name.split(".")).write_text(value)


def _mounts_under(prefixes: list[str]) -> list[str]:
    """Mount points (from /proc/self/mountinfo) at or below one of ``prefixes``, deepest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == p or point.startswith(p.rstrip("/") + "/") for p in prefixes):
            found.append(point)
    return sorted(set(found), key=len, reverse=True)


def _cgroup_trees() -> list[Path]:
    return sorted(CGROUP_ROOT.glob("*/kubepods")) + (
        [CGROUP_ROOT / "kubepods"] if (CGROUP_ROOT / "kubepods").is_dir() else []
    )


def _pids_in(tree: Path) -> set[int]:
    pids: set[int] = set()
    for procs_file in tree.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(p) for p in procs_file.read_text().split())
    return pids


def _machine_owner() -> dict[str, Any]:
    try:
        owner: dict[str, Any] = json.loads(MACHINE_CLAIM.read_text())
    except (OSError, ValueError):
        return {}
    kubelet, claimant = int(owner.get("kubelet_pid") or 0), int(owner.get("claimant_pid") or 0)
    alive = procs.alive(kubelet) if kubelet else bool(claimant) and procs.alive(claimant)
    return owner if alive else {}


def _claim_machine(base: Path, wait: float, kubelet_pid: int = 0) -> None:
    """Record that the real node of ``base`` owns this machine (the ``/kubepods`` cgroups, /var/lib/kubelet, the
    kubelet's sysctls), waiting up to ``wait`` seconds while another live one does."""
    deadline = time.monotonic() + wait
    MACHINE_LOCK.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with MACHINE_LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            owner = _machine_owner()
            if not owner or owner.get("base") == str(base):
                claim = {"base": str(base), "claimant_pid": os.getpid(), "kubelet_pid": kubelet_pid}
                MACHINE_CLAIM.write_text(json.dumps(claim))
                return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"another real node runs on this machine (state folder {owner.get('base')}); one at a time. Stop it "
                "(python -m localkube down --state-dir ITS_CLUSTER_FOLDER), or wait for its test run to end."
            )
        time.sleep(2)


def _release_machine(base: Path) -> None:
    if not MACHINE_CLAIM.exists():
        return
    with MACHINE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(MACHINE_CLAIM.read_text()).get("base") == str(base):
                MACHINE_CLAIM.unlink()


def _our_cni_results() -> list[Path]:
    """libcni's cached results of our pods (containerd calls no CNI DEL for pods whose node is stopped): our network's,
    and the loopback ones of the same containers."""
    if not CNI_RESULTS.is_dir():
        return []
    prefix = f"{_conflist()['name']}-"
    ours = [p for p in CNI_RESULTS.iterdir() if p.name.startswith(prefix)]
    ids = {p.name[len(prefix) :].rsplit("-", 1)[0] for p in ours}
    return ours + [
        p for p in CNI_RESULTS.iterdir() if p.name.startswith("cni-loopback-") and p.name[13:].rsplit("-", 1)[0] in ids
    ]


def _forwarder_pids(paths: RealNodePaths) -> list[int]:
    """The pods' forwarders still alive (each the leader of its process group)."""
    found = []
    for pid_file in paths.forwarders.glob("*.pids") if paths.forwarders.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            found += [int(line) for line in pid_file.read_text().split()]
    return [pid for pid in found if procs.alive(pid)]


def _remove_cgroup_trees() -> None:
    """Remove the (empty) ``kubepods`` cgroups, deepest first."""
    for tree in _cgroup_trees():
        for folder in sorted((p for p in tree.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            tree.rmdir()


def _shim_pids(socket: Path) -> list[int]:
    """The containerd shims that our containerd started (they name its socket on their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if args and b"containerd-shim" in args[0] and str(socket).encode() in args:
                found.append(int(entry.name))
    return found


class RealNode:
    """Start and stop the real node of ``cluster`` (its processes are recorded in the cluster's state)."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.paths = RealNodePaths(cluster.state_dir / "realnode")

    # -- start -----------------------------------------------------------------------------
    def start(self, timeout: float = 180, detach: bool = False, wait_for_machine: float = 900) -> str:
        """Start containerd and the kubelet and wait until the node is Ready. One real node per machine: while another
        one runs (another cluster's), wait up to ``wait_for_machine`` seconds for it to stop, then fail saying so."""
        state = self.cluster.load()
        if state is None:
            raise ClusterError("start the cluster before its real node")
        if "kubelet" in state.pids and procs.alive(state.pids["kubelet"]):
            return REAL_NODE_NAME
        reason = missing_reason()
        if reason:
            raise ClusterError(reason)
        deadline = time.monotonic() + wait_for_machine
        _claim_machine(self.paths.base, wait_for_machine)
        busy = [tree for tree in _cgroup_trees() if _pids_in(tree)]
        while busy and time.monotonic() < deadline:  # a kubelet that claimed nothing (an older localkube's)
            time.sleep(2)
            busy = [tree for tree in _cgroup_trees() if _pids_in(tree)]
        if busy:
            _release_machine(self.paths.base)
            raise ClusterError(
                f"another real node (or kubelet) runs on this machine: {busy[0]} has processes. Stop it first "
                "(python -m localkube down --state-dir ITS_STATE_DIR)."
            )
        _remove_cgroup_trees()  # empty ones, left by a real node that was killed
        hostpkgs.ensure(PACKAGES)
        kubelet = ensure_kubelet()
        pause = ensure_pause()
        self._record_host()
        tie = not detach
        try:
            self._prepare(pause)
            self._start_containerd(tie, timeout)
            self._import(self.paths.base / "pause.oci.tar")
            self._start_kubelet(kubelet, tie)
            _claim_machine(
                self.paths.base, 0, kubelet_pid=self.cluster.state.pids["kubelet"] if self.cluster.state else 0
            )
            self._initialize_node(timeout)
        except BaseException:
            self.stop()
            raise
        return REAL_NODE_NAME

    def _record_host(self) -> None:
        self.paths.base.mkdir(parents=True, exist_ok=True)
        # The kernel settings before any real node, kept in the cache until a stop restores them: a run killed before
        # its stop left the kubelet's values, which must not become the next run's "before".
        machine_record = cache_root() / SYSCTLS_BEFORE
        try:
            sysctls = json.loads(machine_record.read_text())
        except (OSError, ValueError):
            sysctls = {
                name: _read_sysctl(name) for name in KUBELET_SYSCTLS if Path("/proc/sys", *name.split(".")).exists()
            }
            machine_record.write_text(json.dumps(sysctls))
        record = {
            "sysctls": sysctls,
            "dirs_existing": [str(d) for d in HOST_DIRS if d.exists()],
            "netns_existing": sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else [],
            "shim_sockets_existing": sorted(p.name for p in SHIM_SOCKETS.iterdir()) if SHIM_SOCKETS.is_dir() else [],
        }
        self.paths.host_record.write_text(json.dumps(record, indent=2))

    def _prepare(self, pause: Path) -> None:
        paths = self.paths
        for folder in (
            paths.containerd_root,
            paths.containerd_state,
            paths.hosts_dir,
            paths.cni_bin,
            paths.cni_conf,
            paths.kubelet_root,
            paths.pod_logs,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        PODMAN_CONFLIST.unlink(missing_ok=True)
        for plugin in (DEBIAN_CNI_DIR / "loopback", CNI_PLUGIN):
            shutil.copy2(plugin, paths.cni_bin / plugin.name)
        (paths.cni_conf / "10-taipod-podnet.conflist").write_text(json.dumps(_conflist(), indent=2))
        (paths.base / "containerd.toml").write_text(_containerd_config(paths))
        write_pause_archive(pause, paths.base / "pause.oci.tar")

    def ctr(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``ctr -n k8s.io`` against this node's containerd."""
        return subprocess.run(
            ["ctr", "--address", str(self.paths.socket), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _import(self, archive: Path) -> None:
        done = self.ctr("images", "import", str(archive))
        if done.returncode != 0:
            raise ClusterError(f"ctr images import {archive} failed: {done.stderr.strip()[-500:]}")

    def import_archive(self, archive: Path) -> None:
        """Load an image archive (OCI or docker) into the node's containerd, as a pull would."""
        self._import(archive)

    def trust_registry(self, host: str) -> None:
        """Let containerd pull from ``host`` ("127.0.0.1:PORT") over plain HTTP (a loopback registry)."""
        folder = self.paths.hosts_dir / host
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hosts.toml").write_text(
            f'server = "http://{host}"\n\n[host."http://{host}"]\n  capabilities = ["pull", "resolve"]\n'
        )

    def forward(self, port: int, detach: bool = False) -> None:
        """Let pods started from now on reach the host's 127.0.0.1:``port`` at 127.0.0.1:``port`` in their own
        network namespace: a socat there relays to a unix socket, and one on the host from it to the port. For the
        node's services (the tests' S3 server); every byte stays on loopback and in unix sockets."""
        socket = self.paths.base / "forward" / f"{port}.sock"
        socket.parent.mkdir(parents=True, exist_ok=True)
        name = f"forward-{port}"
        state = self.cluster.load()
        if state is None or not (name in state.pids and procs.alive(state.pids[name])):
            self.cluster._spawn(
                name, ["socat", f"UNIX-LISTEN:{socket},fork,unlink-early,mode=600", f"TCP:127.0.0.1:{port}"],
                tie=not detach,
            )  # fmt: skip
            procs.wait_for(f"the forwarder of port {port}", socket.exists, 30)
        lines = self.paths.forwards.read_text().splitlines() if self.paths.forwards.exists() else []
        if f"{port} {socket}" not in lines:
            self.paths.forwards.write_text("\n".join([*lines, f"{port} {socket}"]) + "\n")

    def _start_containerd(self, tie: bool, timeout: float) -> None:
        env = dict(os.environ)
        for key in ("NO_PROXY", "no_proxy"):  # pulls from the loopback registry never go through a proxy
            env[key] = ",".join(filter(None, [env.get(key), "127.0.0.1", "localhost"]))
        pid = self.cluster._spawn(
            "containerd", ["containerd", "--config", str(self.paths.base / "containerd.toml")], tie, env=env
        )
        procs.wait_for(
            "containerd",
            lambda: self.paths.socket.exists() and self.ctr("version", timeout=10).returncode == 0,
            timeout,
            pid,
            self.cluster.logs / "containerd.log",
        )

    def _start_kubelet(self, kubelet: Path, tie: bool) -> None:
        state = self.cluster.state
        assert state is not None
        port, healthz = procs.free_port(), procs.free_port()
        state.ports["real-kubelet"] = port
        config = self.paths.base / "kubelet.yaml"
        config.write_text(yaml.safe_dump(_kubelet_config(self.cluster, self.paths, port, healthz)))
        self.cluster._spawn(
            "kubelet",
            [
                str(kubelet),
                f"--config={config}",
                f"--kubeconfig={self.cluster.kubeconfig}",
                f"--root-dir={self.paths.kubelet_root}",
                f"--cert-dir={self.paths.base / 'kubelet-pki'}",
                f"--hostname-override={REAL_NODE_NAME}",
                f"--node-labels={REAL_NODE_LABEL}=true",
                "--cloud-provider=external",  # this module sets the node's address, as a cloud controller would
                "--v=1",
            ],
            tie,
        )

    def _initialize_node(self, timeout: float) -> None:
        """Act as the cloud controller: set the node's address to 127.0.0.1 and lift the ``uninitialized`` taint,
        then wait until the node is Ready."""
        api = self.cluster.api()
        state = self.cluster.state
        assert state is not None
        pid = state.pids["kubelet"]
        log = self.cluster.logs / "kubelet.log"
        procs.wait_for(
            f"node {REAL_NODE_NAME} registered",
            lambda: api.exists(f"/api/v1/nodes/{REAL_NODE_NAME}"),
            timeout,
            pid,
            log,
        )
        api.request_patch(
            f"/api/v1/nodes/{REAL_NODE_NAME}/status",
            {
                "status": {
                    "addresses": [
                        {"type": "InternalIP", "address": "127.0.0.1"},
                        {"type": "Hostname", "address": REAL_NODE_NAME},
                    ]
                }
            },
        )
        node = api.request("GET", f"/api/v1/nodes/{REAL_NODE_NAME}")
        taints = [t for t in node["spec"].get("taints") or [] if t["key"] != UNINITIALIZED_TAINT]
        api.request_patch(f"/api/v1/nodes/{REAL_NODE_NAME}", {"spec": {"taints": taints}})
        procs.wait_for(f"node {REAL_NODE_NAME} Ready", lambda: api.node_ready(REAL_NODE_NAME), timeout, pid, log)

    # -- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the kubelet, every container and containerd, and undo what they changed on the host. Safe to call
        twice, and after a crash (it works from what is on disk)."""
        state = self.cluster.load()
        if state is None and not self.paths.host_record.exists():
            return
        pids = state.pids if state else {}
        if pids.get("kubelet") and procs.alive(pids["kubelet"]):
            procs.stop_group(pids["kubelet"], grace=10)
        self._kill_pods()
        for shim in _shim_pids(self.paths.socket):
            with contextlib.suppress(ProcessLookupError):
                os.kill(shim, signal.SIGKILL)
        if pids.get("containerd") and procs.alive(pids["containerd"]):
            procs.stop_group(pids["containerd"], grace=10)
        for pgid in _forwarder_pids(self.paths):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        for name in [n for n in pids if n.startswith("forward-")]:
            procs.stop_group(pids[name], grace=5)
        self._undo_host_changes()
        if state is not None:
            for name in [n for n in state.pids if n in ("kubelet", "containerd") or n.startswith("forward-")]:
                state.pids.pop(name, None)
            state.ports.pop("real-kubelet", None)
            with contextlib.suppress(OSError):
                self.cluster._save()
        with contextlib.suppress(Exception):
            self.cluster.api().request("DELETE", f"/api/v1/nodes/{REAL_NODE_NAME}")

    def _kill_pods(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            left = set().union(*(_pids_in(tree) for tree in _cgroup_trees())) if _cgroup_trees() else set()
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _undo_host_changes(self) -> None:
        record: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(self.paths.host_record.read_text())
        new_netns = [
            NETNS_DIR / name
            for name in (sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else [])
            if name.startswith("cni-") and name not in record.get("netns_existing", [])
        ]
        prefixes = [str(self.paths.base), *(str(p) for p in new_netns)]
        for point in _mounts_under(prefixes):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        for netns in new_netns:
            netns.unlink(missing_ok=True)
        _remove_cgroup_trees()
        if SHIM_SOCKETS.is_dir():
            for sock in SHIM_SOCKETS.iterdir():
                if sock.name not in record.get("shim_sockets_existing", []):
                    sock.unlink(missing_ok=True)
        for name, value in record.get("sysctls", {}).items():
            if _read_sysctl(name) != value:
                _write_sysctl(name, value)
        existing = set(record.get("dirs_existing", []))
        for folder in HOST_DIRS:
            if str(folder) not in existing and folder.exists() and not _mounts_under([str(folder)]):
                shutil.rmtree(folder, ignore_errors=True)
        for stale in _our_cni_results():
            stale.unlink(missing_ok=True)
        PODMAN_CONFLIST.unlink(missing_ok=True)
        _release_machine(self.paths.base)
        if record:
            self.paths.host_record.unlink(missing_ok=True)
            (cache_root() / SYSCTLS_BEFORE).unlink(missing_ok=True)


def leftovers(base: Path) -> list[str]:
    """What a real node left on this machine (empty when its stop was complete): for the tests and `localkube down`."""
    found: list[str] = []
    found += [f"cgroup {t}" for t in _cgroup_trees()]
    found += [f"mount {m}" for m in _mounts_under([str(base)])]
    found += [f"process {p} (shim)" for p in _shim_pids(RealNodePaths(base).socket)]
    found += [f"process {p} (a pod's forwarder)" for p in _forwarder_pids(RealNodePaths(base))]
    found += [f"file {p}" for p in _our_cni_results()]
    if PODMAN_CONFLIST.exists():
        found.append(f"file {PODMAN_CONFLIST}")
    cni_dir = Path("/etc/cni/net.d")
    for entry in cni_dir.iterdir() if cni_dir.is_dir() else []:
        if re.search("taipod", entry.name):
            found.append(f"file {entry}")
    return found
