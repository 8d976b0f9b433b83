"""Streamable HTTP: stateless (any number of instances behind a load balancer), DNS-rebinding protection
on, a `/healthz` route, and a bearer token for MCP clients whenever the server is reachable beyond
loopback. The Cloudflare token always comes from the server's own configuration, never from the
HTTP client: there is no token passthrough.

The front door holds under abuse: each request must arrive whole within REQUEST_TIMEOUT, at most
MAX_CONNECTIONS stay open (a new one closes the one waiting longest for its request), and a
connection serves at most MAX_REQUESTS_PER_CONNECTION requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import ipaddress
import json
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

import h11
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mcp_oauth_clients import __version__, secret_links
from mcp_oauth_clients.checks import is_loopback
from mcp_oauth_clients.config import ConfigError, Settings, check_http_bind
from mcp_oauth_clients.secret_links import SecretLinks
from mcp_oauth_clients.startup import announce

MCP_PATH = "/mcp"


def host_pattern(name: str) -> str:
    """A name as the Host header carries it: an IPv6 address in brackets (RFC 3986 3.2.2), else as is."""
    bare = name.removeprefix("[").removesuffix("]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else name
    except ValueError:
        return name


def security_for(settings: Settings, host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection is always on: loopback names, or the bind host and the configured names."""
    if is_loopback(host) and not settings.http_allowed_hosts:
        hosts = ["127.0.0.1", "localhost", "[::1]"]
    else:
        names = [*settings.http_allowed_hosts, *([] if host in ("0.0.0.0", "::") else [host])]
        hosts = [host_pattern(name) for name in names]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[h for name in hosts for h in (name, f"{name}:*")],
        allowed_origins=[
            o for name in hosts for o in (f"http://{name}", f"http://{name}:*", f"https://{name}", f"https://{name}:*")
        ],
    )


class BearerTokenGate:
    """Requires `Authorization: Bearer <token>` on the MCP endpoint, compared in constant time."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MCP_PATH):
            scheme, _, presented = dict(scope.get("headers") or []).get(b"authorization", b"").partition(b" ")
            # The scheme is case-insensitive (RFC 7235 2.1, RFC 6750 2.1); the token is compared in constant time.
            if not (hmac.compare_digest(presented.strip(b" "), self._expected) and scheme.lower() == b"bearer"):
                response = Response(
                    json.dumps({"error": "unauthorized", "error_description": "missing or wrong bearer token"}),
                    status_code=401,
                    media_type="application/json",
                    headers={"WWW-Authenticate": 'Bearer realm="mcp-oauth-clients"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class NoStream:
    """`GET /mcp` answers 405 at once: a stateless server has no stream to offer, which the spec allows
    (the SDK would hold the request open forever, and a curl with it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") == MCP_PATH:
            response = JSONResponse(
                {"error": "method_not_allowed", "error_description": "this stateless server offers no stream: POST"},
                status_code=405,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def http_app(server: MCPServer[Any], settings: Settings, host: str, links: SecretLinks | None = None) -> ASGIApp:
    """The ASGI app: `/mcp` (stateless, JSON answers), `/healthz`, and `/secret/<token>`, the one-time links
    that hand a person a client secret (`secret_links`: no bearer token, the unguessable token is the key)."""
    links = links if links is not None else SecretLinks()

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "sandbox": settings.sandbox})

    @server.custom_route(secret_links.ROUTE, methods=["GET"])
    async def secret_page(request: Request) -> Response:
        return links.page(request)

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=security_for(settings, host),
        host=host,
    )
    app.state.secret_links = links  # tools reach it through their HTTP request's app (secret_links.link_round)
    guarded: ASGIApp = NoStream(app)
    return BearerTokenGate(guarded, settings.http_token) if settings.http_token else guarded


# The front door's limits against slow or abusive clients (uvicorn 0.54 has none for a request still arriving:
# its keep-alive timeout starts only after a response, and every byte received cancels it).
REQUEST_TIMEOUT = 10.0  # seconds for a whole request (head and body) to arrive, from connect or the last answer
MAX_CONNECTIONS = 64  # open connections; past it, the one waiting longest for its request is closed
MAX_REQUESTS_PER_CONNECTION = 100  # then the answer says "Connection: close" and the client reconnects
# Connections the kernel queues before they are accepted, and so the most accepted at once (uvicorn's 2,048
# would let one burst of a flood take 2,048 descriptors before the cap above can close any).
ACCEPT_BACKLOG = 128
logger = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol (checked against uvicorn 0.54.0) with a deadline for each request to arrive,
    a cap on open connections and on requests per connection: a client that drips a request a byte at a
    time holds a connection for at most REQUEST_TIMEOUT, and cannot crowd out one that sends promptly."""

    _deadline: asyncio.TimerHandle | None = None
    _waiting_since = 0.0
    _requests = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if len(self.connections) > MAX_CONNECTIONS:
            waiting = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c._deadline is not None]
            oldest = min(waiting, key=lambda c: c._waiting_since)  # this connection itself, at worst
            logger.warning("%d connections open: closed the one waiting longest for its request", len(self.connections))
            oldest._close()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle and self.cycle is not None:
            self._requests += 1
            if self._requests >= MAX_REQUESTS_PER_CONNECTION:
                # uvicorn closes after the answer but does not say so: without the header a client may send its
                # next request on the connection as it closes (a ReadError, seen under load)
                self.cycle.keep_alive = False
                self.cycle.default_headers = [*self.cycle.default_headers, (b"connection", b"close")]
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # the whole request is in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._waiting_since = self.loop.time()
            self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        logger.warning("closed a connection whose request did not arrive within %g s", REQUEST_TIMEOUT)
        self._close()

    def _close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind the listening sockets before uvicorn starts, so that a port in use is one clear sentence,
    not uvicorn's raw errno line."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ConfigError(
            f"cannot listen on {host}: not an address or a name this machine resolves", _FIX_BIND
        ) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: "::" is IPv6 only, "0.0.0.0" is IPv4
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = _BIND_ERRORS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
        raise ConfigError(f"cannot listen on port {port} of {host}: {reason}", _FIX_BIND) from None
    return sockets


_FIX_BIND = "choose another port with --port, or another address with --host"
_BIND_ERRORS = {
    errno.EADDRINUSE: "the port is already in use (another process is listening there)",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EADDRNOTAVAIL: "the address is not one of this machine's",
}


def serve(server: MCPServer[Any], settings: Settings, host: str, port: int) -> int | None:
    """Serve until SIGINT/SIGTERM (returns the signal); uvicorn comes with the MCP SDK."""
    import uvicorn

    check_http_bind(settings, host)
    sockets = listen(host, port)

    class Server(uvicorn.Server):
        """uvicorn, except that the signal that stopped it is returned, not raised again after shutdown
        (which printed a KeyboardInterrupt traceback on Ctrl-C)."""

        stopped_by: int | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:  # announce only once the port is bound
                announce(settings, f"http://{host_pattern(host)}:{port}{MCP_PATH}")

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.stopped_by = self.stopped_by or sig
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        http_app(server, settings, host),
        host=host,
        port=port,
        log_config=None,  # our handlers (text or JSON lines), not uvicorn's own
        access_log=False,  # a request line would carry a one-time link's token (/secret/<token>)
        timeout_graceful_shutdown=1,  # requests in flight get a second, then are cancelled (audited as unknown)
        http=GuardedH11Protocol,
        backlog=ACCEPT_BACKLOG,
        ws="none",  # no WebSocket upgrade: MCP here is plain HTTP
    )
    uvicorn_server = Server(config)
    uvicorn_server.run(sockets=sockets)
    return uvicorn_server.stopped_by
