"""A real HTTP server on 127.0.0.1 that serves the emulator, with faults a test can script.

HTTP/1.1 keep-alive and TCP_NODELAY, so per-call latency is what the code costs (without
TCP_NODELAY, Nagle's algorithm adds ~40 ms to every answer). Each scripted fault is used once,
in order, before the emulator answers normally again. A fault may be kept for one path ending and
one method, and may land: the emulator serves the request (a create makes its client) and the
fault replaces the answer, as when Cloudflare acted but the answer never came back.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mcp_oauth_clients.emulator import CloudflareEmulator, RecordedRequest

TOKEN = "cf-test-token-Zq9XkR2mW7vB4nT1"


@dataclass
class Fault:
    """One scripted answer: a status/body to send instead, a delay, or a broken connection."""

    status: int | None = None
    body: bytes | str | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a read timeout when longer than the client waits)
    reset: bool = False  # close the connection without answering
    truncate: bool = False  # announce a longer body than is sent, then close
    redirect_to: str | None = None
    drip: float = 0.0  # send the headers, then one body byte every `drip` seconds, never finishing
    path_suffix: str = ""  # only for a request whose path ends so (other requests pass it by)
    method: str = ""  # only for a request of this method, e.g. "POST" for a create but not the list after it
    lands: bool = False  # the emulator serves the request first (a write happens), then its answer is lost


class FakeCloudflare:
    """Start with `with FakeCloudflare() as fake:`; `fake.base_url` is the API base."""

    def __init__(self, emulator: CloudflareEmulator | None = None) -> None:
        self.emulator = emulator or CloudflareEmulator(tokens={TOKEN})
        self.faults: deque[Fault] = deque()
        self.hits = 0
        self.connections = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with fake._lock:
                    fake.connections += 1

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.hits += 1
                    fault = next((f for f in fake.faults if self._meets(f)), None)
                    if fault is not None:
                        fake.faults.remove(fault)
                if fault is not None:
                    if fault.lands:
                        fake.emulator.handle(self.command, self.path, dict(self.headers), body)
                    else:
                        fake.emulator.record(self.command, self.path, dict(self.headers), body)
                    self._fault(fault)
                    return
                answer = fake.emulator.handle(self.command, self.path, dict(self.headers), body)
                self._send(answer.status, answer.body, {**answer.headers, "cf-ray": f"fake{fake.hits:04d}-LHR"})

            def _meets(self, fault: Fault) -> bool:
                return self.path.endswith(fault.path_suffix) and fault.method in ("", self.command)

            def _fault(self, fault: Fault) -> None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.reset:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.drip:
                    self._drip(fault)
                    return
                if fault.redirect_to:
                    self._send(fault.status or 302, b"", {"location": fault.redirect_to})
                    return
                payload = fault.body
                if isinstance(payload, dict):
                    payload = json.dumps(payload)
                if isinstance(payload, str):
                    payload = payload.encode()
                headers = {"content-type": "application/json", **fault.headers}
                if fault.truncate:
                    self.send_response(fault.status or 200)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload or b"") + 100))
                    self.end_headers()
                    self.wfile.write(payload or b"")
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(fault.status or 200, payload or b"", headers)

            def _drip(self, fault: Fault) -> None:
                """Each read gets a byte in time, so only a bound on the whole answer ends the wait."""
                self.send_response(fault.status or 200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "1000000")
                self.end_headers()
                self.wfile.flush()
                self.close_connection = True
                give_up = time.monotonic() + 30  # a client that never gives up must not keep a thread forever
                try:
                    while time.monotonic() < give_up:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(fault.drip)
                except OSError:
                    pass  # the client hung up: what a working timeout does

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PATCH = do_POST = do_DELETE = _serve

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/client/v4"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.emulator.requests

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.emulator.requests if r.method != "GET"]

    def script(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def __enter__(self) -> FakeCloudflare:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeouts, cancellation) breaks the pipe: expected under fault tests
