"""Concurrency and cancellation: 50 calls at once give 50 right answers over a bounded connection pool; a
cancelled call leaves nothing behind. In memory (`mcp.Client(server)`, and the HTTP app over
`httpx.ASGITransport`), against the loopback fake, so only the client's real pool stands between the calls
and the fake's sockets. Timeouts are generous: a loaded machine makes the calls slower, never different."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from mcp_oauth_clients.emulator import demo_client
from mcp_oauth_clients.http_transport import http_app
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, asgi_lifespan, settings_for
from tests.fake_cloudflare import Fault
from tests.test_http import HEADERS, INIT

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # fifty calls at once, twice
CALLS = 50
DEFAULT_LIMITS = httpx.Limits()  # what httpx uses when no limits are given
PATIENT = dict(timeout=60.0, connect_timeout=60.0)  # no attempt may time out and reconnect on a busy machine


def seed_clients(fake) -> list[str]:
    ids = [f"{i:032x}" for i in range(1, CALLS + 1)]
    for client_id in ids:
        fake.emulator.clients[(ACCOUNT, client_id)] = demo_client(client_id, host=f"app{client_id[-3:]}.example.com")
    return ids


@pytest.fixture
def pool_limits(monkeypatch) -> list[httpx.Limits]:
    """The limits the server's Cloudflare client gives its connection pool, as it passes them to httpx."""
    seen: list[httpx.Limits] = []

    class Recorded(httpx.AsyncClient):
        def __init__(self, *args: Any, limits: httpx.Limits = DEFAULT_LIMITS, **kwargs: Any) -> None:
            seen.append(limits)
            super().__init__(*args, limits=limits, **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", Recorded)
    return seen


def assert_within_the_pool(fake, pool_limits: list[httpx.Limits]) -> None:
    """Every request went over one of the pool's connections: never more sockets than its limit."""
    (limits,) = pool_limits
    assert limits.max_connections is not None and limits.max_connections < CALLS
    assert fake.hits >= CALLS  # every call reached the fake
    assert 1 <= fake.connections <= limits.max_connections, f"{fake.connections} connections for {CALLS} calls"


async def test_fifty_concurrent_calls_in_memory_give_fifty_uncrossed_results_over_the_bounded_pool(fake, pool_limits):
    ids = seed_clients(fake)
    results: dict[str, Any] = {}
    async with Client(build_server(settings_for(fake.base_url, **PATIENT))) as client:

        async def rename(client_id: str) -> None:
            results[client_id] = await client.call_tool(
                "update_oauth_client", {"oauth_client_id": client_id, "client_name": f"name-{client_id}"}
            )

        async with anyio.create_task_group() as group:
            for client_id in ids:
                group.start_soon(rename, client_id)
    assert len(results) == CALLS
    for client_id, result in results.items():
        assert not result.is_error, result.content
        assert result.structured_content["client"]["client_id"] == client_id
        assert result.structured_content["client"]["client_name"] == f"name-{client_id}"
    for client_id in ids:
        assert fake.emulator.clients[(ACCOUNT, client_id)]["client_name"] == f"name-{client_id}"
    assert_within_the_pool(fake, pool_limits)


async def test_fifty_concurrent_calls_over_streamable_http_give_fifty_uncrossed_answers(fake, pool_limits):
    ids = seed_clients(fake)
    settings = settings_for(fake.base_url, **PATIENT)
    app = http_app(build_server(settings), settings, "127.0.0.1")
    answers: dict[str, dict] = {}
    transport = httpx.ASGITransport(app=app)
    async with (
        asgi_lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", headers=HEADERS, timeout=60) as http,
    ):
        assert (await http.post("/mcp", json=INIT)).status_code == 200

        async def rename(n: int, client_id: str) -> None:
            response = await http.post(
                "/mcp",
                json={
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {
                        "name": "update_oauth_client",
                        "arguments": {"oauth_client_id": client_id, "client_name": f"http-{client_id}"},
                    },
                },
            )
            assert response.status_code == 200, response.text
            answers[client_id] = response.json()

        async with anyio.create_task_group() as group:
            for n, client_id in enumerate(ids, start=10):
                group.start_soon(rename, n, client_id)
    assert len(answers) == CALLS
    for n, client_id in enumerate(ids, start=10):
        answer = answers[client_id]
        assert answer["id"] == n
        assert answer["result"]["structuredContent"]["client"]["client_name"] == f"http-{client_id}"
    assert_within_the_pool(fake, pool_limits[1:])  # the first is the test's own client to the app


async def test_a_cancelled_call_leaves_no_task_running_and_the_next_call_works(fake):
    async with Client(build_server(settings_for(fake.base_url, timeout=5.0))) as client:
        await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
        await anyio.sleep(0.1)
        baseline = len(asyncio.all_tasks())
        fake.script(Fault(delay=2.0))
        with anyio.move_on_after(0.3) as scope:
            await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "slow"})
        assert scope.cancelled_caught
        await anyio.sleep(0.2)
        assert len(asyncio.all_tasks()) <= baseline, [t.get_coro() for t in asyncio.all_tasks()]
        with anyio.fail_after(2):
            after = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert not after.is_error
