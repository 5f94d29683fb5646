"""The kubelet endpoint the apiserver proxies ``kubectl logs`` to: GET /containerLogs/NS/POD/CONTAINER."""

from __future__ import annotations

import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .agent import Agent


def _tail(data: bytes, lines: int | None, limit: int | None) -> bytes:
    if lines is not None:
        data = b"".join(data.splitlines(keepends=True)[-lines:]) if lines > 0 else b""
    if limit is not None:
        data = data[:limit]
    return data


def serve(agent: Agent, port: int, cert: Path, key: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            parts = url.path.strip("/").split("/")
            if url.path in ("/healthz", "/readyz"):
                self._send(200, b"ok")
                return
            if len(parts) != 4 or parts[0] != "containerLogs":
                self._send(404, b"this node serves /containerLogs/NS/POD/CONTAINER and /healthz only")
                return
            _, ns, name, container = parts
            worker = agent.worker_for(ns, name)
            folder = worker.dir if worker else agent.find_pod_dir(ns, name)
            if folder is None:
                self._send(404, f"pod {ns}/{name} is not on this node".encode())
                return
            path = folder / (f"{container}.log.1" if query.get("previous") == "true" else f"{container}.log")
            if not path.exists():
                self._send(404, f"container {container!r} of pod {ns}/{name} has no logs".encode())
                return
            lines = int(query["tailLines"]) if "tailLines" in query else None
            limit = int(query["limitBytes"]) if "limitBytes" in query else None
            data = _tail(path.read_bytes(), lines, limit)
            if query.get("follow") != "true" or worker is None:
                self._send(200, data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(data)
            offset = path.stat().st_size
            while True:  # stream until the container has ended and everything was sent
                run = next((r for r in [*worker.init_runs, *worker.runs] if r.name == container), None)
                finished = run is None or not run.running()
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
                if chunk:
                    offset += len(chunk)
                    self.wfile.write(chunk)
                    self.wfile.flush()
                elif finished:
                    return
                else:
                    time.sleep(0.2)

        def _send(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name="logserver", daemon=True).start()
    return server
