"""Guard rails end to end: the console script over stdio (protocol 2025-06-18) against the loopback fake."""

from __future__ import annotations

import json

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import ElicitResult

from tests.conftest import ACCOUNT, CLIENT
from tests.fake_cloudflare import TOKEN
from tests.stdio_client import SCRIPT, RawClient, fake_env

OTHER_ACCOUNT = "e" * 32


def test_guard_rails_over_stdio_with_a_client_that_can_ask(fake, tmp_path):
    audit = tmp_path / "audit.jsonl"
    answers = [{"action": "decline"}, {"action": "accept", "content": {"make_public": True}}]
    client = RawClient(
        fake_env(fake),
        args=("--audit-log", str(audit), "--allowed-accounts", ACCOUNT),
        on_elicit=lambda params: answers.pop(0),
    )
    stored = fake.emulator.clients[(ACCOUNT, CLIENT)]
    original_redirects = list(stored["redirect_uris"])
    try:
        client.initialize()
        # get writes nothing
        error, text, data = client.text("get_oauth_client", {"oauth_client_id": CLIENT})
        assert not error and fake.writes() == []

        # add keeps what is stored; remove drops only the named entry
        client.text(
            "update_oauth_client",
            {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://staging.example.com/cb"]}},
        )
        client.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "remove": {"redirect_uris": [original_redirects[0]]}}
        )
        assert [w.body for w in fake.writes()] == [
            {"redirect_uris": [*original_redirects, "https://staging.example.com/cb"]},
            {"redirect_uris": [original_redirects[1], "https://staging.example.com/cb"]},
        ]

        # a dry run writes nothing, names the URI it would drop, and returns a hash; a stale hash is refused
        before = len(fake.writes())
        error, text, data = client.text(
            "update_oauth_client",
            {"oauth_client_id": CLIENT, "redirect_uris": ["https://staging.example.com/cb"], "dry_run": True},
        )
        assert not error and "[PREVIEW]" in text and original_redirects[1] in text
        assert len(fake.writes()) == before
        stored["client_name"] = "Changed behind our back"
        error, text, _ = client.text(
            "update_oauth_client",
            {
                "oauth_client_id": CLIENT,
                "redirect_uris": ["https://staging.example.com/cb"],
                "expected_state_hash": data["state_hash"],
            },
        )
        assert error and "changed since the dry run" in text and len(fake.writes()) == before

        # a rename costs one read and one write
        count = len(fake.requests)
        error, _, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Renamed"})
        assert not error and len(fake.requests) == count + 2

        # promotion with unmet requirements lists them, with the TXT record; nothing written, nobody asked
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        assert error and stored["client_uri_verification"]["text"] in text and client.elicitations == []

        # once verified: a decline writes nothing, an accept writes {"visibility": "public"} only
        fake.emulator.mark_verified(ACCOUNT, CLIENT)
        before = len(fake.writes())
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        assert error and "declined" in text and len(fake.writes()) == before
        error, text, data = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        assert not error and fake.writes()[-1].body == {"visibility": "public"}
        assert len(client.elicitations) == 2 and "Renamed" in client.elicitations[0]["message"]

        # an unknown scope is refused with a suggestion
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["zone.raed"]})
        assert error and "zone.read" in text

        # a disallowed account gets no request
        count = len(fake.requests)
        error, text, _ = client.text("get_oauth_client", {"account_id": OTHER_ACCOUNT, "oauth_client_id": CLIENT})
        assert error and len(fake.requests) == count

        # bidi characters in a client name do not reach the text
        stored["client_name"] = "Good\u202e)sdrawkcab(\u2069 name"
        error, text, data = client.text("get_oauth_client", {"oauth_client_id": CLIENT})
        assert "\u202e" not in text and "\u2069" not in text
    finally:
        stderr = client.close()
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {line.get("outcome") for line in lines} >= {"applied", "refused"}
    assert {line["event"] for line in lines} == {"write_intent", "write_outcome"}
    assert all(line["account_id"] == ACCOUNT for line in lines)
    assert TOKEN not in audit.read_text() + stderr + "".join(client.stdout_lines)


def test_promotion_without_elicitation_needs_operator_flag_and_confirm(fake):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    plain = RawClient(fake_env(fake))
    try:
        plain.initialize()
        error, text, _ = plain.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True}
        )
    finally:
        plain.close()
    assert error and "--allow-unattended-promotion" in text and fake.writes() == []

    operator = RawClient(fake_env(fake), args=("--allow-unattended-promotion",))
    try:
        operator.initialize()
        refused, _, _ = operator.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        accepted, _, _ = operator.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True}
        )
    finally:
        operator.close()
    assert refused and not accepted
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]


def test_read_only_server_refuses_writes_and_serves_reads_and_dry_runs(fake):
    client = RawClient(fake_env(fake), args=("--read-only",))
    try:
        client.initialize()
        tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
        write_error, write_text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
        dry_error, _, _ = client.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", "dry_run": True}
        )
        read_error, _, _ = client.text("get_oauth_client", {"oauth_client_id": CLIENT})
    finally:
        client.close()
    assert tools["update_oauth_client"]["annotations"]["readOnlyHint"] is True
    assert write_error and "read-only" in write_text
    assert not dry_error and not read_error
    assert fake.writes() == []


@pytest.mark.anyio
async def test_sdk_default_client_over_stdio_approves_a_promotion_through_elicitation(fake):
    """The 2026-07-28 era (the SDK's default client) asks through input_required rounds, over real stdio."""
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    asked = []

    async def approve(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"make_public": True})

    params = StdioServerParameters(command=SCRIPT, env=fake_env(fake))
    async with Client(params, elicitation_callback=approve) as client:
        result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        version = client.protocol_version
    assert not result.is_error, result.content[0].text
    assert version == "2026-07-28" and len(asked) == 1
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]
