"""Streamable HTTP, end to end: the console script with --transport streamable-http on loopback."""

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

from tests.conftest import CLIENT
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


def rpc(base: str, method: str, params: dict, *, headers: dict | None = None, request_id: int = 2) -> httpx.Response:
    return httpx.post(
        f"{base}/mcp",
        json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        headers={**HEADERS, **(headers or {})},
        timeout=10,
    )


@pytest.mark.anyio
async def test_sdk_client_lists_and_calls_over_http(fake):
    with http_server(fake_env(fake)) as base:
        async with Client(f"{base}/mcp") as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "HTTP"})
        health = httpx.get(f"{base}/healthz").json()
    assert [t.name for t in tools] == [
        "update_oauth_client",
        "get_oauth_client",
        "list_oauth_clients",
        "list_oauth_scopes",
        "check_verification_record",
    ]
    assert not result.is_error and result.structured_content["client"]["client_name"] == "HTTP"
    assert health["status"] == "ok"


def test_foreign_host_header_is_refused(fake):
    with http_server(fake_env(fake)) as base:
        foreign = httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Host": "evil.example"})
        foreign_origin = httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Origin": "https://evil.example"})
        local = httpx.post(f"{base}/mcp", json=INIT, headers=HEADERS)
    assert foreign.status_code == 421
    assert foreign_origin.status_code == 403
    assert local.status_code == 200


def test_non_loopback_bind_without_token_refuses_to_start():
    done = subprocess.run(
        [SCRIPT, "--sandbox", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "MCP_OAUTH_CLIENTS_HTTP_TOKEN" in done.stderr and "refusing to listen" in done.stderr


def test_bearer_token_is_required_when_configured(fake):
    with http_server(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as base:
        missing = httpx.post(f"{base}/mcp", json=INIT, headers=HEADERS)
        wrong = httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
        right = httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {HTTP_TOKEN}"})
        health = httpx.get(f"{base}/healthz")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == 200 and right.json()["result"]["serverInfo"]["name"] == "mcp-oauth-clients"
    assert health.status_code == 200  # the health check stays open for load balancers
    assert HTTP_TOKEN not in missing.text + wrong.text


def test_the_bearer_scheme_is_case_insensitive_but_no_other_scheme_or_a_bare_token_passes(fake):
    with http_server(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as base:

        def status(authorization: str) -> int:
            return httpx.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": authorization}).status_code

        lower, upper = status(f"bearer {HTTP_TOKEN}"), status(f"BEARER {HTTP_TOKEN}")
        basic, bare, prefix = status(f"Basic {HTTP_TOKEN}"), status(HTTP_TOKEN), status(f"Bearer {HTTP_TOKEN[:-1]}")
    assert lower == upper == 200
    assert basic == bare == prefix == 401


@pytest.mark.anyio
async def test_sdk_client_with_the_bearer_token_works(fake):
    with http_server(fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)) as base:
        http_client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
        async with http_client, Client(streamable_http_client(f"{base}/mcp", http_client=http_client)) as client:
            result = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert not result.is_error


def test_two_server_processes_answer_the_same_calls_alike(fake):
    """Statelessness shown: a handshake on one process, calls on either, identical answers."""
    env = fake_env(fake)
    with http_server(env) as first, http_server(env) as second:
        assert httpx.post(f"{first}/mcp", json=INIT, headers=HEADERS).status_code == 200
        answers = []
        for base in (first, second, first, second):
            listed = rpc(base, "tools/list", {})
            read = rpc(base, "tools/call", {"name": "get_oauth_client", "arguments": {"oauth_client_id": CLIENT}})
            assert listed.status_code == 200 and read.status_code == 200, read.text
            answers.append((listed.json()["result"], read.json()["result"]["structuredContent"]["client"]))
    assert all(answer == answers[0] for answer in answers)
    assert "mcp-session-id" not in {k.lower() for k in listed.headers}


@pytest.mark.anyio
async def test_promotion_consent_over_stateless_http_with_a_2026_07_28_client(fake):
    from mcp.types import ElicitResult

    from tests.conftest import ACCOUNT

    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    asked = []

    async def approve(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"make_public": True})

    with http_server(fake_env(fake)) as base:
        async with Client(f"{base}/mcp", elicitation_callback=approve) as client:
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
            version = client.protocol_version
    assert version == "2026-07-28" and len(asked) == 1
    assert not result.is_error, result.content[0].text
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]


@pytest.mark.anyio
async def test_a_handshake_era_client_over_stateless_http_gets_the_refusal_not_a_hang(fake):
    """Stateless HTTP keeps no session, so a 2025-11-25 client cannot be asked mid-call: refused, nothing written."""
    from mcp.types import ElicitResult

    from tests.conftest import ACCOUNT

    fake.emulator.mark_verified(ACCOUNT, CLIENT)

    async def approve(context, params):
        return ElicitResult(action="accept", content={"make_public": True})

    with http_server(fake_env(fake)) as base:
        async with Client(f"{base}/mcp", mode="legacy", elicitation_callback=approve) as client:
            with anyio.fail_after(20):
                result = await client.call_tool(
                    "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"}
                )
    assert result.is_error and "cannot ask a person" in result.content[0].text
    assert fake.writes() == []
