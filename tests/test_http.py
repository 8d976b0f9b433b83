"""Streamable HTTP: the app `--transport streamable-http` serves, in this process over an ASGI transport (the
lifespan running as uvicorn runs it), and the command line's refusal of an unsafe bind. The helpers that start
the console script on loopback serve the tests that need a real process (signals, the front door's limits)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.tools import tool_table
from tests.conftest import ACCOUNT, CLIENT, http_served
from tests.stdio_client import SCRIPT, clean_env, fake_env

HTTP_TOKEN = "http-bearer-Kx81nQ0vLr5s"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-06-18",
}


BASE = "http://127.0.0.1:8000"  # the address the in-memory app is asked at (no port is taken)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(env: dict[str, str], *args: str, **popen: Any) -> tuple[subprocess.Popen, str]:
    """Start the console script on streamable HTTP at a free loopback port; return it once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen(
        [SCRIPT, "--transport", "streamable-http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.communicate()[1]}")


@contextlib.contextmanager
def http_server(env: dict[str, str], *args: str):
    """`start_http` for a `with` block: the server is stopped when it ends."""
    proc, base = start_http(env, *args)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def raw_client(app: Any, **headers: str) -> httpx.AsyncClient:
    """An HTTP client for the in-memory app, as curl or a proxy would send requests."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers, timeout=30)


def sdk_client(app: Any, **kwargs: Any) -> tuple[httpx2.AsyncClient, Client]:
    """The SDK's client over streamable HTTP to the in-memory app (its own HTTP client, closed by the caller)."""
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), headers=kwargs.pop("headers", None))
    return http, Client(streamable_http_client(f"{BASE}/mcp", http_client=http), **kwargs)


async def in_memory_rpc(http: httpx.AsyncClient, method: str, params: dict, request_id: int = 2) -> httpx.Response:
    return await http.post("/mcp", json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


def rpc(base: str, method: str, params: dict, *, headers: dict | None = None, request_id: int = 2) -> httpx.Response:
    return httpx.post(
        f"{base}/mcp",
        json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        headers={**HEADERS, **(headers or {})},
        timeout=10,
    )


pytestmark = pytest.mark.anyio


async def test_sdk_client_lists_and_calls_over_http(fake):
    async with http_served(fake_env(fake)) as app:
        http, client = sdk_client(app)
        async with http, client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "HTTP"})
        async with raw_client(app) as raw:
            health = (await raw.get("/healthz")).json()
    assert [t.name for t in tools] == [spec.name for spec in tool_table(Settings())]  # the same tools as stdio
    assert len(tools) == 9
    assert not result.is_error and result.structured_content["client"]["client_name"] == "HTTP"
    assert health["status"] == "ok"


async def test_foreign_host_header_is_refused(fake):
    async with http_served(fake_env(fake)) as app, raw_client(app, **HEADERS) as http:
        foreign = await http.post("/mcp", json=INIT, headers={"Host": "evil.example"})
        foreign_origin = await http.post("/mcp", json=INIT, headers={"Origin": "https://evil.example"})
        local = await http.post("/mcp", json=INIT)
    assert foreign.status_code == 421
    assert foreign_origin.status_code == 403
    assert local.status_code == 200


def test_non_loopback_bind_without_token_refuses_to_start(cli):
    done = cli(["--sandbox", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "8000"], clean_env())
    assert done.returncode == 2
    assert "MCP_OAUTH_CLIENTS_HTTP_TOKEN" in done.stderr and "refusing to listen" in done.stderr


async def test_bearer_token_is_required_when_configured(fake):
    async with (
        http_served(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as app,
        raw_client(app, **HEADERS) as http,
    ):
        missing = await http.post("/mcp", json=INIT)
        wrong = await http.post("/mcp", json=INIT, headers={"Authorization": "Bearer nope"})
        right = await http.post("/mcp", json=INIT, headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
        health = await http.get("/healthz")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == 200 and right.json()["result"]["serverInfo"]["name"] == "mcp-oauth-clients"
    assert health.status_code == 200  # the health check stays open for load balancers
    assert HTTP_TOKEN not in missing.text + wrong.text


async def test_the_bearer_scheme_is_case_insensitive_but_no_other_scheme_or_a_bare_token_passes(fake):
    async with (
        http_served(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as app,
        raw_client(app, **HEADERS) as http,
    ):

        async def status(authorization: str) -> int:
            return (await http.post("/mcp", json=INIT, headers={"Authorization": authorization})).status_code

        lower, upper = await status(f"bearer {HTTP_TOKEN}"), await status(f"BEARER {HTTP_TOKEN}")
        basic, bare = await status(f"Basic {HTTP_TOKEN}"), await status(HTTP_TOKEN)
        prefix = await status(f"Bearer {HTTP_TOKEN[:-1]}")
    assert lower == upper == 200
    assert basic == bare == prefix == 401


async def test_sdk_client_with_the_bearer_token_works(fake):
    async with http_served(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as app:
        http, client = sdk_client(app, headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
        async with http, client:
            result = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert not result.is_error


async def test_two_server_instances_answer_the_same_calls_alike(fake):
    """Statelessness shown: a handshake on one instance, calls on either, identical answers."""
    env = fake_env(fake)
    async with (
        http_served(env) as first_app,
        http_served(env) as second_app,
        raw_client(first_app, **HEADERS) as first,
        raw_client(second_app, **HEADERS) as second,
    ):
        assert (await first.post("/mcp", json=INIT)).status_code == 200
        answers = []
        for http in (first, second, first, second):
            listed = await in_memory_rpc(http, "tools/list", {})
            read = await in_memory_rpc(
                http, "tools/call", {"name": "get_oauth_client", "arguments": {"oauth_client_id": CLIENT}}
            )
            assert listed.status_code == 200 and read.status_code == 200, read.text
            answers.append((listed.json()["result"], read.json()["result"]["structuredContent"]["client"]))
    assert all(answer == answers[0] for answer in answers)
    assert "mcp-session-id" not in {k.lower() for k in listed.headers}


async def test_promotion_consent_over_stateless_http_with_a_2026_07_28_client(fake):
    from mcp.types import ElicitResult

    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    asked = []

    async def approve(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"make_public": True})

    async with http_served(fake_env(fake)) as app:
        http, client = sdk_client(app, elicitation_callback=approve)
        async with http, client:
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
            version = client.protocol_version
    assert version == "2026-07-28" and len(asked) == 1
    assert not result.is_error, result.content[0].text
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]


async def test_a_handshake_era_client_over_stateless_http_gets_the_refusal_not_a_hang(fake):
    """Stateless HTTP keeps no session, so a 2025-11-25 client cannot be asked mid-call: refused, nothing written."""
    from mcp.types import ElicitResult

    fake.emulator.mark_verified(ACCOUNT, CLIENT)

    async def approve(context, params):
        return ElicitResult(action="accept", content={"make_public": True})

    async with http_served(fake_env(fake)) as app:
        http, client = sdk_client(app, mode="legacy", elicitation_callback=approve)
        async with http, client:
            with anyio.fail_after(60):  # a hang, not a slow machine
                result = await client.call_tool(
                    "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"}
                )
    text = result.content[0].text  # the limit named is the protocol over stateless HTTP, not the client
    assert result.is_error and "no person can approve it here" in text and "protocol 2025-11-25" in text, text
    assert fake.writes() == []
