"""The real node's parts that need no cluster: the pause image archive, the CNI plugin, and the configurations."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import tomllib
from pathlib import Path

import pytest
from tests.k8s_helpers import wait_until

from localkube import realnode
from localkube.pauseimage import PAUSE_IMAGE, write_pause_archive


def test_pause_archive_is_an_oci_layout_whose_only_file_is_the_entrypoint(tmp_path: Path) -> None:
    binary = tmp_path / "pause-binary"
    binary.write_bytes(b"\x7fELF pretend")
    archive = write_pause_archive(binary, tmp_path / "pause.tar")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        (entry,) = index["manifests"]
        assert entry["annotations"]["io.containerd.image.name"] == PAUSE_IMAGE

        def blob(digest: str) -> bytes:
            return tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}").read()  # type: ignore[union-attr]

        manifest = json.loads(blob(entry["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        (layer_ref,) = manifest["layers"]
        layer = blob(layer_ref["digest"])
    assert "oci-layout" in names
    assert config["config"]["Entrypoint"] == ["/pause"]
    assert config["rootfs"]["diff_ids"] == [layer_ref["digest"]]
    (tmp_path / "layer.tar").write_bytes(layer)
    with tarfile.open(tmp_path / "layer.tar") as files:
        (member,) = files.getmembers()
        assert (member.name, member.mode) == ("pause", 0o755)
        assert files.extractfile(member).read() == b"\x7fELF pretend"  # type: ignore[union-attr]


def test_containerd_config_keeps_everything_under_the_state_folder(tmp_path: Path) -> None:
    paths = realnode.RealNodePaths(tmp_path / "realnode")
    config = tomllib.loads(realnode._containerd_config(paths))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == PAUSE_IMAGE
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    for path in (config["root"], config["state"], config["grpc"]["address"], cri["cni"]["conf_dir"],
                 cri["cni"]["bin_dir"], cri["registry"]["config_path"],
                 config["plugins"]["io.containerd.internal.v1.opt"]["path"]):  # fmt: skip
        assert Path(path).is_relative_to(paths.base), path


def _plugin(
    command: str, netns: str = "", container: str = "c0ffee", plugin: Path = realnode.CNI_PLUGIN
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": netns,
           "CNI_IFNAME": "eth0", "CNI_PATH": str(realnode.CNI_PLUGIN.parent)}  # fmt: skip
    stdin = json.dumps({"cniVersion": "1.0.0", "name": "t", "type": "taipod-podnet"})
    return subprocess.run([str(plugin)], input=stdin, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_cni_plugin_speaks_cni_1_0() -> None:
    done = _plugin("VERSION")
    assert done.returncode == 0, done.stderr
    assert "1.0.0" in json.loads(done.stdout)["supportedVersions"]
    assert _plugin("BOGUS").returncode != 0


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root to make a netns")
def test_cni_plugin_gives_the_pod_a_loopback_range_address_inside_its_own_netns() -> None:
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        netns = f"/proc/{holder.pid}/ns/net"
        wait_until(lambda: Path(netns).readlink() != Path("/proc/self/ns/net").readlink(), 5, "a new netns")
        added = _plugin("ADD", netns)
        assert added.returncode == 0, added.stderr
        result = json.loads(added.stdout)
        (ip,) = result["ips"]
        assert ip["address"].startswith("127.77.") and ip["address"].endswith("/32")
        assert result["interfaces"][0] == {**result["interfaces"][0], "name": "eth0", "sandbox": netns}
        inside = subprocess.run(
            ["nsenter", f"--net={netns}", "ip", "-o", "addr"], capture_output=True, text=True, check=True
        )
        assert ip["address"] in inside.stdout
        host = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
        assert ip["address"].split("/")[0] not in host, "nothing of the pod's network is in the host's namespace"
        assert _plugin("DEL", netns).returncode == 0
        links = subprocess.run(
            ["nsenter", f"--net={netns}", "ip", "-o", "link"], capture_output=True, text=True, check=True
        )
        assert "eth0" not in links.stdout
    finally:
        holder.kill()
        holder.wait()
    assert _plugin("DEL", "/proc/does-not-exist/ns/net").returncode == 0, "DEL of a gone pod succeeds"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("socat") is None,
    reason="needs root to make a netns, and socat",
)
def test_cni_plugin_forwards_a_port_of_the_host_loopback_into_the_pod_and_del_stops_it(tmp_path: Path) -> None:
    plugin = tmp_path / "bin" / "taipod-podnet"
    plugin.parent.mkdir()
    shutil.copy2(realnode.CNI_PLUGIN, plugin)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"hello from the host")

    threading.Thread(target=serve, daemon=True).start()
    relay_socket = tmp_path / "relay.sock"
    relay = subprocess.Popen(["socat", f"UNIX-LISTEN:{relay_socket},fork", f"TCP:127.0.0.1:{port}"])
    (plugin.parent / "taipod-podnet.forwards").write_text(f"{port} {relay_socket}\n")
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        netns = f"/proc/{holder.pid}/ns/net"
        wait_until(lambda: Path(netns).readlink() != Path("/proc/self/ns/net").readlink(), 5, "a new netns")
        wait_until(relay_socket.exists, 10, "the host's relay")
        subprocess.run(["nsenter", f"--net={netns}", "ip", "link", "set", "lo", "up"], check=True)  # CNI loopback's job
        assert _plugin("ADD", netns, plugin=plugin).returncode == 0
        client = "import socket,sys; print(socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2).recv(100))"

        def answer() -> str:
            done = subprocess.run(
                ["nsenter", f"--net={netns}", sys.executable, "-c", client, str(port)],
                capture_output=True, text=True, check=False, timeout=10,
            )  # fmt: skip
            return done.stdout

        assert "hello from the host" in wait_until(answer, 10, "the port answering inside the pod")
        (pids_file,) = (tmp_path / "forwarders").glob("*.pids")
        (forwarder,) = (int(line) for line in pids_file.read_text().split())
        assert _plugin("DEL", netns, plugin=plugin).returncode == 0
        assert not pids_file.exists()
        wait_until(lambda: not Path(f"/proc/{forwarder}").exists() or "Z" in _state(forwarder), 5, "forwarder gone")
    finally:
        holder.kill()
        holder.wait()
        relay.kill()
        relay.wait()
        server.close()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"
