"""Requests per call, counted by the loopback fake (counts are not noisy, so they are asserted)."""

from __future__ import annotations

import os

import anyio
import pytest
from mcp import Client
from mcp.types import ElicitResult

from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import FakeCloudflare

# One read before every write (the before of each change, the stale check, the audit's before values).
LIMITS = {
    "rename": 2,
    "list replacement": 2,
    "add one redirect URI": 2,
    "scopes replacement (catalogue cached)": 2,
    "promotion, 2025-11-25 client": 3,
    "promotion, 2026-07-28 client": 3,
}


async def _accept(context, params):
    return ElicitResult(action="accept", content={"make_public": True})


async def measure_counts() -> dict[str, int]:
    """Run each kind of call once against a fresh loopback fake; return the requests each one cost."""
    counts: dict[str, int] = {}
    with FakeCloudflare() as fake:
        server = build_server(settings_for(fake.base_url, audit_log=os.devnull))

        async def cost(label: str, arguments: dict, client: Client) -> None:
            before = len(fake.requests)
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, **arguments})
            assert not result.is_error, result.content[0].text
            counts[label] = len(fake.requests) - before

        async with Client(server) as client:
            await cost("rename", {"client_name": "Counted"}, client)
            await cost("list replacement", {"redirect_uris": ["https://app.example.com/callback"]}, client)
            await cost("add one redirect URI", {"add": {"redirect_uris": ["https://b.example.com/cb"]}}, client)
            await cost(
                "scopes replacement (first: catalogue fetched)", {"scopes": ["account.read", "zone.read"]}, client
            )
            await cost("scopes replacement (catalogue cached)", {"scopes": ["account.read"]}, client)
        for mode, label in (("legacy", "promotion, 2025-11-25 client"), ("auto", "promotion, 2026-07-28 client")):
            stored = fake.emulator.clients[(ACCOUNT, CLIENT)]
            stored["visibility"] = "private"
            fake.emulator.mark_verified(ACCOUNT, CLIENT)
            async with Client(server, mode=mode, elicitation_callback=_accept) as client:
                await cost(label, {"visibility": "public"}, client)
    return counts


@pytest.mark.anyio
async def test_requests_per_call_stay_within_their_budget():
    counts = await measure_counts()
    assert counts["rename"] == 2  # read, write
    for label, limit in LIMITS.items():
        assert counts[label] <= limit, (label, counts[label])
    assert counts["scopes replacement (first: catalogue fetched)"] == 3  # read, catalogue, write


if __name__ == "__main__":
    print(anyio.run(measure_counts))
