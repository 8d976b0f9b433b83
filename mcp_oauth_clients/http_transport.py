"""Streamable HTTP: stateless (any number of instances behind a load balancer), DNS-rebinding protection
on, a `/healthz` route, and a bearer token for MCP clients whenever the server is reachable beyond
loopback. The Cloudflare token always comes from the server's own configuration, never from the
HTTP client: there is no token passthrough.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import signal
from collections.abc import Iterator
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import ConfigError, Settings
from mcp_oauth_clients.startup import announce

MCP_PATH = "/mcp"
MIN_HTTP_TOKEN_LENGTH = 32  # beyond loopback the token is all that stands between the network and writes


def is_loopback_bind(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to serve beyond loopback without a bearer token for MCP clients."""
    if not is_loopback_bind(host) and not settings.http_token:
        raise ConfigError(
            f"refusing to listen on {host} without MCP_OAUTH_CLIENTS_HTTP_TOKEN: anyone who can reach this "
            "address could change your OAuth clients with this server's Cloudflare token. Set "
            "MCP_OAUTH_CLIENTS_HTTP_TOKEN to a long random value (MCP clients send it as 'Authorization: Bearer "
            "...'), or bind to 127.0.0.1."
        )
    if not is_loopback_bind(host) and len(settings.http_token or "") < MIN_HTTP_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to listen on {host}: MCP_OAUTH_CLIENTS_HTTP_TOKEN has {len(settings.http_token or '')} "
            f"characters, fewer than {MIN_HTTP_TOKEN_LENGTH}, so it could be guessed. Set it to a long random value, "
            "e.g. the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if host in ("0.0.0.0", "::") and not settings.http_allowed_hosts:
        raise ConfigError(
            f"listening on {host} needs MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS (the Host names clients use, e.g. "
            "mcp.example.com), so that DNS-rebinding protection knows which Host headers to accept."
        )


def security_for(settings: Settings, host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection is always on: loopback names, or the bind host and the configured names."""
    if is_loopback_bind(host) and not settings.http_allowed_hosts:
        hosts = ["127.0.0.1", "localhost", "[::1]"]
    else:
        hosts = [*settings.http_allowed_hosts, *([] if host in ("0.0.0.0", "::") else [host])]
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


def http_app(server: MCPServer[Any], settings: Settings, host: str) -> ASGIApp:
    """The ASGI app: `/mcp` (stateless, JSON answers) and `/healthz`."""

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "sandbox": settings.sandbox})

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=security_for(settings, host),
        host=host,
    )
    app = NoStream(app)
    return BearerTokenGate(app, settings.http_token) if settings.http_token else app


def serve(server: MCPServer[Any], settings: Settings, host: str, port: int) -> int | None:
    """Serve until SIGINT/SIGTERM (returns the signal); uvicorn comes with the MCP SDK."""
    import uvicorn

    check_bind(settings, host)

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
                shown = f"[{host}]" if ":" in host else host
                announce(settings, f"http://{shown}:{port}{MCP_PATH}")

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.stopped_by = self.stopped_by or sig
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        http_app(server, settings, host),
        host=host,
        port=port,
        log_config=None,  # our handlers (text or JSON lines), not uvicorn's own
        access_log=False,
        timeout_graceful_shutdown=1,  # requests in flight get a second, then are cancelled (audited as unknown)
    )
    uvicorn_server = Server(config)
    uvicorn_server.run()
    return uvicorn_server.stopped_by
