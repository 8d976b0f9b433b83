"""The audit line's outcome and reason for each way a write attempt ends, in memory (`mcp.Client(server)`)."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp import Client

from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio


def lost_writes(emulator: CloudflareEmulator) -> httpx.MockTransport:
    """Reads reach the emulator; every write times out waiting for its answer."""
    serve = mock_transport(emulator)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            raise httpx.ReadTimeout("no answer", request=request)
        return await serve.handle_async_request(request)

    return httpx.MockTransport(handler)


async def audited(tmp_path, arguments: dict, *, lose_writes: bool = False, **settings) -> dict:
    """The one audit line a single update_oauth_client call leaves."""
    log = tmp_path / "audit.jsonl"
    emulator = CloudflareEmulator(tokens={TOKEN})
    transport = lost_writes(emulator) if lose_writes else mock_transport(emulator)
    server = build_server(
        settings_for("https://api.example.test/client/v4", audit_log=str(log), retry_backoff=0.0, **settings),
        transport=transport,
    )
    async with Client(server) as client:
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, **arguments})
    [line] = [json.loads(text) for text in log.read_text().splitlines()]
    return line


async def test_a_write_refused_by_read_only_mode_is_audited_as_refused(tmp_path):
    line = await audited(tmp_path, {"client_name": "x"}, read_only=True)
    assert (line["outcome"], line["reason"]) == ("refused", "refused")


async def test_an_unknown_scope_found_before_sending_is_audited_as_refused_invalid_input(tmp_path):
    line = await audited(tmp_path, {"scopes": ["zz.top"]})
    assert (line["outcome"], line["reason"]) == ("refused", "invalid_input")


async def test_a_cloudflare_error_is_audited_as_failed_with_its_kind(tmp_path):
    line = await audited(tmp_path, {"oauth_client_id": "f" * 32, "client_name": "x"})
    assert (line["outcome"], line["reason"]) == ("failed", "cloudflare_error")


async def test_a_write_whose_answer_was_lost_is_audited_as_unknown(tmp_path):
    line = await audited(tmp_path, {"client_name": "x"}, lose_writes=True)
    assert (line["outcome"], line["reason"]) == ("unknown", "unknown_outcome")


async def test_an_update_that_changes_nothing_is_audited_as_nothing_to_change(tmp_path):
    line = await audited(tmp_path, {"add": {"redirect_uris": ["https://app.example.com/callback"]}})
    assert line["outcome"] == "nothing_to_change" and "reason" not in line
