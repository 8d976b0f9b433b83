"""Guard rails as a desktop client meets them, against the loopback fake: the server in this process
(`MemoryClient`) with the settings the console script would read from its variables, spoken to by a
handshake-era client (asked mid-call, as over stdio) and by the SDK's default 2026-07-28 client. stderr is
what the script would write there: logging configured as `cli.main` configures it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitResult

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, MemoryClient, server_stderr
from tests.fake_cloudflare import TOKEN
from tests.stdio_client import fake_env

OTHER_ACCOUNT = "e" * 32


class Recorded(MemoryClient):
    """`MemoryClient` keeping every answer, to scan them all for the token."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.answers: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        self.answers.append(result := super().call(name, arguments))
        return result


def asker(answers: list[dict], asked: list[dict]):
    """An elicitation callback giving the next of `answers`, recording each question as sent."""

    async def answer(context, params) -> ElicitResult:
        asked.append(params.model_dump(by_alias=True, exclude_none=True, mode="json"))
        return ElicitResult(**answers.pop(0))

    return answer


def test_guard_rails_with_a_handshake_era_client_that_can_ask(fake, tmp_path):
    audit = tmp_path / "audit.jsonl"
    answers = [{"action": "decline"}, {"action": "accept", "content": {"make_public": True}}]
    asked: list[dict] = []
    env = fake_env(fake, MCP_OAUTH_CLIENTS_AUDIT_LOG=str(audit), MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS=ACCOUNT)
    with server_stderr(Settings.load(env)) as stderr:
        client = Recorded(env, asker(answers, asked), mode="legacy")
        stored = fake.emulator.clients[(ACCOUNT, CLIENT)]
        original_redirects = list(stored["redirect_uris"])
        try:
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
            assert error and stored["client_uri_verification"]["text"] in text and asked == []

            # once verified: a decline writes nothing, an accept writes {"visibility": "public"} only
            fake.emulator.mark_verified(ACCOUNT, CLIENT)
            before = len(fake.writes())
            error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
            assert error and "declined" in text and len(fake.writes()) == before
            error, text, data = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
            assert not error and fake.writes()[-1].body == {"visibility": "public"}
            assert len(asked) == 2 and "Renamed" in asked[0]["message"]

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
            client.close()
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {line.get("outcome") for line in lines} >= {"applied", "refused"}
    assert {line["event"] for line in lines} == {"write_intent", "write_outcome"}
    assert all(line["account_id"] == ACCOUNT for line in lines)
    assert "DEBUG" in stderr.getvalue()  # the log was captured, at the level the variables set
    assert TOKEN not in audit.read_text() + stderr.getvalue() + json.dumps(client.answers)


def test_promotion_without_elicitation_needs_operator_flag_and_confirm(fake):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    plain = MemoryClient(fake_env(fake), mode="legacy")  # declares no elicitation
    try:
        error, text, _ = plain.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True}
        )
    finally:
        plain.close()
    assert error and "--allow-unattended-promotion" in text and fake.writes() == []

    operator = MemoryClient(fake_env(fake, MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION="1"), mode="legacy")
    try:
        refused, _, _ = operator.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        accepted, _, _ = operator.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True}
        )
    finally:
        operator.close()
    assert refused and not accepted
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]


def test_read_only_server_refuses_writes_and_serves_reads_and_dry_runs(fake):
    client = MemoryClient(fake_env(fake, MCP_OAUTH_CLIENTS_READ_ONLY="1"), mode="legacy")
    try:
        listed = client.portal.call(client.client.list_tools)
        tools = {t["name"]: t for t in listed.model_dump(by_alias=True, exclude_none=True, mode="json")["tools"]}
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
async def test_sdk_default_client_approves_a_promotion_through_elicitation(fake):
    """The 2026-07-28 era (the SDK's default client) asks through input_required rounds."""
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    asked = []

    async def approve(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"make_public": True})

    async with Client(build_server(Settings.load(fake_env(fake))), elicitation_callback=approve) as client:
        result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
        version = client.protocol_version
    assert not result.is_error, result.content[0].text
    assert version == "2026-07-28" and len(asked) == 1
    assert [w.body for w in fake.writes()] == [{"visibility": "public"}]
