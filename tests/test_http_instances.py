"""The 2026-07-28 consent round trip across two HTTP instances (issue 9, point 8).

The SDK carries the round trip's state through the client, sealed with AES-GCM: by default under a key
each server draws when it is built (one per process), so only the instance that sealed it can open it. With
MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY shared by the instances, the answer may land on any of them. The two
instances are two servers in this process, each its own HTTP app, behind a round-robin transport.
"""

from __future__ import annotations

import itertools

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from tests.conftest import ACCOUNT, CLIENT, http_served
from tests.stdio_client import fake_env
from tests.test_http import BASE

pytestmark = pytest.mark.anyio
SHARED_KEY = "request-state-key-for-tests-9f3Kq2LmZ0pX7vB4nT1wYc"


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next instance in turn, as a load balancer without sticky routing does."""

    def __init__(self, *apps: object) -> None:
        self.instances = [httpx2.ASGITransport(app=app) for app in apps]
        self.targets = itertools.cycle(range(len(apps)))
        self.sent_to: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = next(self.targets)
        self.sent_to.append(target)
        return await self.instances[target].handle_async_request(request)


async def promote_across(first_env: dict, second_env: dict, fake) -> tuple[object, RoundRobin, list[str]]:
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    asked: list[str] = []

    async def approve(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"make_public": True})

    async with http_served(first_env) as first, http_served(second_env) as second:
        balancer = RoundRobin(first, second)
        async with httpx2.AsyncClient(transport=balancer) as http:
            transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
            async with Client(transport, elicitation_callback=approve) as client:
                assert client.protocol_version == "2026-07-28"
                balancer.sent_to.clear()
                with anyio.fail_after(60):  # a hang, not a slow machine
                    try:
                        result = await client.call_tool(
                            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"}
                        )
                    except Exception as exc:  # noqa: BLE001 - the refusal without a shared key is an MCP error
                        result = exc
    return result, balancer, asked


async def test_with_a_shared_key_the_consent_answer_may_land_on_another_instance(fake):
    env = fake_env(fake, MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY=SHARED_KEY)
    result, balancer, asked = await promote_across(env, env, fake)
    assert len(set(balancer.sent_to)) == 2, "the round trip did not cross instances"
    assert len(asked) == 1
    assert not result.is_error, result.content[0].text
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]


async def test_without_a_shared_key_an_answer_on_another_instance_is_refused_and_nothing_is_written(fake):
    result, balancer, asked = await promote_across(fake_env(fake), fake_env(fake), fake)
    assert len(set(balancer.sent_to)) == 2 and len(asked) == 1
    assert isinstance(result, Exception) and "Invalid or expired requestState" in str(result)
    assert fake.writes() == []
