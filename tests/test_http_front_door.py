"""The HTTP front door: which Host names it accepts, how it holds under slow or abusive clients, and what it
says when it cannot listen. In memory where a request object is enough; a process only for the drip attack
and a port in use, which only a listening server shows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import subprocess
import threading
import time

import httpx
import pytest
import uvicorn
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request
from uvicorn.server import ServerState

from mcp_oauth_clients import http_transport
from mcp_oauth_clients.cli import OncePerInterval
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.http_transport import MAX_CONNECTIONS, REQUEST_TIMEOUT, GuardedH11Protocol, security_for
from tests.conftest import CLIENT
from tests.stdio_client import SCRIPT, clean_env
from tests.test_http import HTTP_TOKEN, rpc, start_http

LONG_TOKEN = HTTP_TOKEN * 3  # beyond loopback the token must be 32 characters or more


async def host_refusal(settings: Settings, bind: str, host_header: str) -> int | None:
    """The status DNS-rebinding protection answers a POST with this Host header, or None when it lets it pass."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": [(b"host", host_header.encode()), (b"content-type", b"application/json")],
    }
    refused = await TransportSecurityMiddleware(security_for(settings, bind)).validate_request(
        Request(scope), is_post=True
    )
    return None if refused is None else refused.status_code


@pytest.mark.anyio
async def test_an_ipv6_bind_accepts_its_address_in_brackets_as_the_host_header_carries_it():
    settings = Settings(http_token=LONG_TOKEN, http_allowed_hosts=("2001:db8::2", "mcp.example.com"))
    assert await host_refusal(settings, "2001:db8::1", "[2001:db8::1]:8000") is None
    assert await host_refusal(settings, "2001:db8::1", "[2001:db8::2]") is None
    assert await host_refusal(settings, "2001:db8::1", "mcp.example.com:443") is None
    # The unbracketed pattern used to let a longer address through as a "port" of a shorter one.
    assert await host_refusal(settings, "2001:db8::1", "2001:db8::1:5") == 421
    assert await host_refusal(settings, "2001:db8::1", "evil.example") == 421


def test_one_line_per_kind_of_warning_per_interval_and_the_next_says_how_many_were_left_out():
    now = [0.0]
    limit = OncePerInterval(interval=60, clock=lambda: now[0])

    def passes(message: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord | None:
        record = logging.LogRecord("uvicorn.error", level, __file__, 1, message, args, None)
        return record if limit.filter(record) else None

    assert passes("Invalid HTTP request received.")
    assert not any(passes("Invalid HTTP request received.") for _ in range(500))
    assert passes("closed %d connections", 3)  # another kind passes
    assert passes("a debug line", level=logging.DEBUG) and passes("a debug line", level=logging.DEBUG)
    now[0] = 61.0
    after = passes("Invalid HTTP request received.")
    assert after is not None and after.getMessage() == (
        "Invalid HTTP request received. (500 more like it in the last 60 s left out)"
    )


@pytest.mark.e2e
def test_a_port_in_use_is_one_line_naming_the_port_and_the_server_exits_non_zero():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [SCRIPT, "--sandbox", "--transport", "streamable-http", "--port", str(port)],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"mcp-oauth-clients: cannot listen on port {port} of 127.0.0.1: the port is already in use (another process "
        "is listening there); choose another port with --port, or another address with --host"
    ]


class Drip:
    """`count` connections, each sending the start of a request head and then one more header byte at a time,
    never finishing: the slow-loris attack."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Drip:
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ")
            self.sockets.append(sock)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the server may have closed it: that is the point
                    sock.send(b"a")

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def few_descriptors() -> None:
    """The server may open 512 files and sockets, as a small container might allow: an attack that holds them
    all leaves nothing to accept a health check with."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


FILE_LIMIT = 512


@pytest.mark.e2e
def test_during_a_drip_attack_health_checks_and_tool_calls_still_answer_and_stderr_stays_small():
    proc, base = start_http(clean_env(), "--sandbox", preexec_fn=few_descriptors)
    port = int(base.rsplit(":", 1)[1])
    answers = []
    try:
        with Drip(port, count=FILE_LIMIT + 88):  # more than the server could hold open
            time.sleep(1)  # every dripping connection is open and sending
            for _ in range(3):  # generous bounded waits: hang detection, not a timing promise
                answers.append(httpx.get(f"{base}/healthz", timeout=10).status_code)
                call = rpc(base, "tools/call", {"name": "get_oauth_client", "arguments": {"oauth_client_id": CLIENT}})
                answers.append(call.status_code)
                assert call.json()["result"]["isError"] is False, call.text
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert answers == [200] * 6
    assert len(stderr.encode()) < 8_000, stderr
    assert stderr.count("Traceback") <= 1  # one line (with its traceback) per kind of failure per interval


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.written = b""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class NeverRun:
    def add_done_callback(self, callback: object) -> None:
        pass


class FakeLoop:
    """The two things the protocol asks of its loop: timers (fired by the test) and tasks (never run)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[asyncio.TimerHandle] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback, *args) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(self.now + delay, callback, args, self)  # type: ignore[arg-type]
        self.timers.append(handle)
        return handle

    def create_task(self, coroutine, **kwargs) -> NeverRun:
        coroutine.close()
        return NeverRun()

    def fire_due(self, at: float) -> None:
        self.now = at
        for handle in [h for h in self.timers if not h.cancelled() and h.when() <= at]:
            handle._run()

    def get_debug(self) -> bool:
        return False

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass


def connections(count: int) -> tuple[FakeLoop, list[tuple[GuardedH11Protocol, FakeTransport]]]:
    """`count` connections to one server, opened one time unit apart."""

    async def app(scope, receive, send) -> None:  # never runs: the fake loop does not run tasks
        raise AssertionError

    config = uvicorn.Config(app, http=GuardedH11Protocol, log_config=None)
    config.load()
    loop, state, opened = FakeLoop(), ServerState(), []
    for _ in range(count):
        protocol = GuardedH11Protocol(config=config, server_state=state, app_state={}, _loop=loop)  # type: ignore[arg-type]
        transport = FakeTransport()
        protocol.connection_made(transport)
        opened.append((protocol, transport))
        loop.now += 1
    return loop, opened


HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n"


def test_a_request_that_does_not_arrive_whole_in_time_closes_its_connection_and_a_whole_one_does_not():
    loop, [(slow, slow_transport), (prompt, prompt_transport), (idle, idle_transport)] = connections(3)
    slow.data_received(HEAD + b"{")  # the body never ends
    prompt.data_received(HEAD + b"{}")
    loop.fire_due(REQUEST_TIMEOUT + 10)
    assert slow_transport.closed and idle_transport.closed
    assert not prompt_transport.closed  # its request is in: the answer may take as long as it takes


def test_past_the_connection_cap_the_connection_waiting_longest_for_its_request_is_closed():
    loop, opened = connections(MAX_CONNECTIONS)
    first, busy = opened[0], opened[1]
    busy[0].data_received(HEAD + b"{}")  # a request in flight is never the one closed
    for protocol, _ in opened[2:]:
        protocol.data_received(b"POST")  # half-sent heads are still waiting
    assert not any(transport.closed for _, transport in opened)
    newcomer = GuardedH11Protocol(
        config=first[0].config,
        server_state=first[0].server_state,
        app_state={},
        _loop=loop,  # type: ignore[arg-type]
    )
    newcomer.connection_made(FakeTransport())
    assert first[1].closed and not busy[1].closed and not newcomer.transport.is_closing()


@pytest.mark.anyio
async def test_the_last_request_a_connection_may_carry_is_answered_with_connection_close_and_the_others_are_not(
    monkeypatch,
):
    monkeypatch.setattr(http_transport, "MAX_REQUESTS_PER_CONNECTION", 2)
    _, [(protocol, transport)] = connections(1)
    heads, closed = [], []
    for _ in range(2):
        protocol.data_received(HEAD + b"{}")
        start = len(transport.written)
        await protocol.cycle.send({"type": "http.response.start", "status": 200, "headers": []})
        await protocol.cycle.send({"type": "http.response.body", "body": b"{}"})
        heads.append(transport.written[start:].split(b"\r\n\r\n")[0].lower())
        closed.append(transport.closed)
    assert heads[0].startswith(b"http/1.1 200") and b"connection: close" not in heads[0]
    assert b"connection: close" in heads[1]  # said, so a client never sends a next request on it
    assert closed == [False, True]
