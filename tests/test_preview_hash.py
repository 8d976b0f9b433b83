"""A preview's hash binds its change; a read's hash guards a later write. In memory, against the emulator."""

from __future__ import annotations

import re

import pytest
from mcp import Client

from mcp_oauth_clients.checks import STATE_HASH_PATTERN
from mcp_oauth_clients.emulator import CloudflareEmulator, demo_client, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio
OTHER_CLIENT = "b" * 32


class Fake:
    """The emulator behind an in-memory server, with the loopback fake's `writes()` view."""

    def __init__(self) -> None:
        self.emulator = CloudflareEmulator(tokens={TOKEN})
        self.server = build_server(
            settings_for("https://api.example.test/client/v4"), transport=mock_transport(self.emulator)
        )

    def writes(self) -> list:
        return [r for r in self.emulator.requests if r.method != "GET"]


class InMemory:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def text(self, name: str, arguments: dict) -> tuple[bool, str, dict]:
        result = await self.client.call_tool(name, arguments)
        return bool(result.is_error), result.content[0].text, result.structured_content or {}


async def test_a_dry_runs_hash_applies_only_the_change_it_previewed_to_the_client_it_read():
    fake = Fake()
    fake.emulator.clients[(ACCOUNT, OTHER_CLIENT)] = demo_client(OTHER_CLIENT, host="other.example.com")
    planned = {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://staging.example.com/cb"]}}
    async with Client(fake.server) as session:
        client = InMemory(session)
        _, _, preview = await client.text("update_oauth_client", {**planned, "dry_run": True})
        plan = preview["state_hash"]
        attempts = {
            "different change": {**planned, "add": {"redirect_uris": ["https://evil.example.com/cb"]}},
            "extra field": {**planned, "client_name": "Sneaked in"},
            "other client": {**planned, "oauth_client_id": OTHER_CLIENT},
        }
        refusals = {
            why: await client.text("update_oauth_client", {**arguments, "expected_state_hash": plan})
            for why, arguments in attempts.items()
        }
        writes_after_refusals = len(fake.writes())
        applied = await client.text("update_oauth_client", {**planned, "expected_state_hash": plan})
    assert re.fullmatch(STATE_HASH_PATTERN, plan) and plan.count(".") == 2
    for why in ("different change", "extra field"):
        error, text, _ = refusals[why]
        assert error and "this is not the change that was previewed" in text and "Nothing was written" in text, why
    error, text, _ = refusals["other client"]
    assert error and "made for another client or account" in text
    assert writes_after_refusals == 0
    error, text, _ = applied
    assert not error, text
    assert [w.body["redirect_uris"][-1] for w in fake.writes()] == ["https://staging.example.com/cb"]


async def test_a_reads_hash_protects_a_later_write_against_a_stale_read():
    fake = Fake()
    async with Client(fake.server) as session:
        client = InMemory(session)
        _, _, read = await client.text("get_oauth_client", {"oauth_client_id": CLIENT})
        fake.emulator.clients[(ACCOUNT, CLIENT)]["tos_uri"] = "https://changed.example.com/tos"  # someone else edits
        stale = await client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", **_hash(read)})
        writes_after_stale = len(fake.writes())
        _, _, fresh = await client.text("get_oauth_client", {"oauth_client_id": CLIENT})
        applied = await client.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", **_hash(fresh)}
        )
    assert re.fullmatch(STATE_HASH_PATTERN, read["state_hash"]) and read["state_hash"].count(".") == 1
    error, text, _ = stale
    assert error and "the client changed since the dry run (or read)" in text and writes_after_stale == 0
    assert not applied[0], applied[1]
    assert [w.body for w in fake.writes()] == [{"client_name": "x"}]


def _hash(result: dict) -> dict:
    return {"expected_state_hash": result["state_hash"]}
