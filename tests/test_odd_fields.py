"""Bad stored data is data: a client whose stored fields Cloudflare returns malformed is still shown, with each
odd field named in the text and in structuredContent, and every later step (preview, hash, promotion) copes."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client

from mcp_oauth_clients.emulator import CloudflareEmulator, demo_client, mock_transport
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, MemoryClient, settings_for
from tests.fake_cloudflare import TOKEN, FakeCloudflare, Fault
from tests.stdio_client import fake_env

MALFORMED = {
    "client_uri": "http://[::1",
    "client_name": 42,
    "redirect_uris": [1, {"a": 1}],
    "grant_types": "authorization_code",
    "logo_uri": {"href": "x"},
    "has_rotated_secret": "yes",
    "client_uri_verification": {"status": 7, "text": ["a"]},
}
ODD = {
    "client_uri",
    "client_name",
    "redirect_uris",
    "grant_types",
    "logo_uri",
    "has_rotated_secret",
    "client_uri_verification.status",
    "client_uri_verification.text",
}


def malformed_client(**extra) -> dict:
    return {**demo_client(CLIENT), **MALFORMED, **extra}


def test_a_client_with_malformed_stored_fields_is_shown_with_each_named():
    stored = malformed_client()
    del stored["client_id"]
    envelope = {"success": True, "errors": [], "messages": [], "result": stored}
    with FakeCloudflare() as fake:
        client = MemoryClient(fake_env(fake))
        try:
            fake.script(Fault(200, envelope))
            read = client.text("get_oauth_client", {"oauth_client_id": CLIENT})
            fake.script(Fault(200, envelope))
            preview = client.text(
                "update_oauth_client",
                {"oauth_client_id": CLIENT, "client_uri": "https://a.example.com", "dry_run": True},
            )
        finally:
            client.close()
    for is_error, text, structured in (read, preview):
        assert not is_error and "Internal error" not in text, text
        odd = {o["field"]: o for o in structured["client"]["odd_fields"]}
        assert set(odd) == ODD | {"client_id"}
        assert all(name in text for name in odd)
        assert odd["client_name"]["value"] == 42 and odd["client_name"]["problem"] == "expected a string, got a number"
        assert odd["client_uri"]["problem"] == "not a URL that can be parsed"
        assert structured["client"]["client_uri"] == "http://[::1" and structured["client"]["client_name"] is None
        assert "not a URL that can be parsed" in structured["verification"]["next_steps"][0]
    assert preview[2]["state_hash"].startswith("sha256:")
    assert preview[2]["changes"][0]["field"] == "client_uri"


def server_for(stored: dict):
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)] = stored
    server = build_server(settings_for("https://api.example.test/client/v4"), transport=mock_transport(emulator))
    return server, emulator


@pytest.mark.anyio
async def test_add_or_remove_on_a_malformed_stored_list_is_refused_by_name_and_nothing_is_sent():
    server, emulator = server_for(malformed_client())
    async with Client(server) as client:
        result = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://b.example.com/cb"]}}
        )
    assert (
        result.is_error and "redirect_uris" in result.content[0].text and "Nothing was sent" in result.content[0].text
    )
    assert [r.method for r in emulator.requests] == ["GET"]


@pytest.mark.anyio
async def test_promotion_of_a_client_with_malformed_fields_is_refused_naming_them():
    stored = demo_client(CLIENT)
    stored["client_uri_verification"]["status"] = "verified"
    stored["post_logout_redirect_uris"] = [7]
    server, emulator = server_for(stored)
    async with Client(server) as client:
        result = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True}
        )
    assert result.is_error and "post_logout_redirect_uris" in result.content[0].text
    assert [r.method for r in emulator.requests if r.method != "GET"] == []


@pytest.mark.anyio
async def test_a_write_whose_answer_holds_malformed_fields_is_shown_applied():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": malformed_client()})

    transport = httpx.MockTransport(answer)
    server = build_server(settings_for("https://api.example.test/client/v4"), transport=transport)
    async with Client(server) as client:
        result = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "tos_uri": "https://a.example.com/t"}
        )
    assert not result.is_error, result.content[0].text
    assert result.content[0].text.startswith("Updated")
    assert {o["field"] for o in result.structured_content["client"]["odd_fields"]} == ODD


def test_a_field_named_odd_fields_from_cloudflare_is_itself_reported_not_trusted():
    client = OAuthClient.model_validate({**demo_client(CLIENT), "odd_fields": [{"field": "x", "problem": "fake"}]})
    assert [o.field for o in client.odd_fields] == ["odd_fields"]
    assert client.odd_fields[0].value == [{"field": "x", "problem": "fake"}]


def test_a_change_from_one_malformed_value_to_another_makes_a_read_hash_stale():
    with FakeCloudflare() as fake:
        fake.emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = 42
        client = MemoryClient(fake_env(fake))
        try:
            read_hash = client.text("get_oauth_client", {"oauth_client_id": CLIENT})[2]["state_hash"]
            fake.emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = 43  # still malformed, but not the same
            stale = client.text(
                "update_oauth_client",
                {
                    "oauth_client_id": CLIENT,
                    "logo_uri": "https://app.example.com/l.png",
                    "expected_state_hash": read_hash,
                },
            )
        finally:
            client.close()
    assert stale[0] and "the client changed since" in stale[1], stale[1]
    assert fake.writes() == []
