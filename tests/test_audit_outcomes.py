"""The audit line's outcome and reason for each way a write attempt ends, in memory (`mcp.Client(server)`)."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp import Client

from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
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


async def audited_lines(tmp_path, arguments: dict, *, lose_writes: bool = False, **settings) -> list[dict]:
    """Every audit line a single update_oauth_client call leaves, and what reached the emulator."""
    log = tmp_path / "audit.jsonl"
    emulator = CloudflareEmulator(tokens={TOKEN})
    transport = lost_writes(emulator) if lose_writes else mock_transport(emulator)
    server = build_server(
        settings_for("https://api.example.test/client/v4", audit_log=str(log), retry_backoff=0.0, **settings),
        transport=transport,
    )
    async with Client(server) as client:
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, **arguments})
    return [json.loads(text) for text in log.read_text().splitlines()] if log.exists() else []


async def audited(tmp_path, arguments: dict, **options) -> dict:
    """The outcome line of a single update_oauth_client call."""
    lines = await audited_lines(tmp_path, arguments, **options)
    [outcome] = [line for line in lines if line["event"] == "write_outcome"]
    return outcome


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


async def test_a_sent_write_leaves_an_intent_line_then_its_outcome_line_with_the_same_attempt_id(tmp_path):
    intent, outcome = await audited_lines(tmp_path, {"client_name": "x"}, lose_writes=True)
    assert (intent["event"], outcome["event"]) == ("write_intent", "write_outcome")
    assert intent["attempt"] == outcome["attempt"] and len(intent["attempt"]) == 16
    assert intent["body"] == {"client_name": "x"} and intent["before"] == {"client_name": "Demo OAuth App"}


@pytest.mark.parametrize(
    ("arguments", "settings", "reason"),
    [
        ({"account_id": "e" * 32, "client_name": "x"}, {"allowed_accounts": frozenset({"a" * 32})}, "refused"),
        ({"client_name": "x"}, {"account_id": None}, "invalid_input"),
        ({"client_name": "x", "bogus": 1}, {}, "invalid_input"),
        ({"client_name": "x", "expected_state_hash": "sha256:00000000." + "0" * 32}, {}, "refused"),
        ({"visibility": "public"}, {}, "refused"),  # no person could approve it
    ],
    ids=["allow-list", "no account", "bad input", "stale hash", "no approval"],
)
async def test_every_refusal_of_a_write_is_audited_with_nothing_sent(tmp_path, arguments, settings, reason):
    lines = await audited_lines(tmp_path, arguments, **settings)
    assert [(line["event"], line["outcome"], line["reason"]) for line in lines] == [
        ("write_outcome", "refused", reason)
    ]
    assert lines[0]["oauth_client_id"] == CLIENT


async def test_a_declined_promotion_is_audited_as_refused_with_nothing_sent(tmp_path):
    from mcp.types import ElicitResult

    log = tmp_path / "audit.jsonl"
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.mark_verified(ACCOUNT, CLIENT)

    async def decline(context, params):
        return ElicitResult(action="decline")

    server = build_server(
        settings_for("https://api.example.test/client/v4", audit_log=str(log)), transport=mock_transport(emulator)
    )
    async with Client(server, elicitation_callback=decline) as client:
        result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
    assert result.is_error and [r.method for r in emulator.requests if r.method != "GET"] == []
    [line] = [json.loads(text) for text in log.read_text().splitlines()]
    assert (line["event"], line["outcome"], line["reason"]) == ("write_outcome", "refused", "refused")


async def test_a_refused_dry_run_is_not_a_write_and_leaves_no_line(tmp_path):
    assert await audited_lines(tmp_path, {"client_name": "x", "bogus": 1, "dry_run": True}) == []
