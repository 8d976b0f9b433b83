"""Concurrency and cancellation: 50 calls at once give 50 right answers; a cancelled call leaves nothing behind."""

from __future__ import annotations

import asyncio

import anyio
import httpx
import pytest
from mcp import Client

from mcp_oauth_clients.emulator import demo_client
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import Fault
from tests.stdio_client import fake_env
from tests.test_http import HEADERS, INIT, http_server

pytestmark = pytest.mark.anyio
CALLS = 50


def seed_clients(fake) -> list[str]:
    ids = [f"{i:032x}" for i in range(1, CALLS + 1)]
    for client_id in ids:
        fake.emulator.clients[(ACCOUNT, client_id)] = demo_client(client_id, host=f"app{client_id[-3:]}.example.com")
    return ids


async def test_fifty_concurrent_calls_in_memory_give_fifty_uncrossed_results(fake):
    ids = seed_clients(fake)
    results: dict[str, object] = {}
    async with Client(build_server(settings_for(fake.base_url))) as client:

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
    assert fake.connections <= 10, f"{fake.connections} connections for {CALLS} calls"


@pytest.mark.e2e
async def test_fifty_concurrent_calls_over_streamable_http(fake):
    ids = seed_clients(fake)
    with http_server(fake_env(fake)) as base:
        async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as http:
            assert (await http.post("/mcp", json=INIT)).status_code == 200
            answers: dict[str, dict] = {}

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
    assert fake.connections <= 10, f"{fake.connections} connections for {CALLS} calls"


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
