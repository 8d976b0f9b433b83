"""In-memory MCP tests: `mcp.Client(server)` against the emulator behind `httpx.MockTransport`."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from mcp_oauth_clients.config import Credentials
from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio


def server_with(emulator: CloudflareEmulator | None = None, **settings):
    emulator = emulator or CloudflareEmulator(tokens={TOKEN})
    server = build_server(
        settings_for("https://api.example.test/client/v4", **settings), transport=mock_transport(emulator)
    )
    return server, emulator


async def call(server, name: str, arguments: dict):
    async with Client(server) as client:
        return await client.call_tool(name, arguments)


async def test_tools_list_serves_the_model_schema_and_annotations():
    server, _ = server_with()
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    update = tools["update_oauth_client"]
    props = update.input_schema["properties"]
    assert len(props) == 21 and update.input_schema["required"] == ["oauth_client_id"]
    assert all(p.get("description") for p in props.values())
    assert "$ref" not in json.dumps(update.input_schema) and "$defs" not in update.input_schema
    assert set(props["add"]["propertyNames"]["enum"]) == {
        "allowed_cors_origins",
        "grant_types",
        "optional_scopes",
        "post_logout_redirect_uris",
        "redirect_uris",
        "response_types",
        "scopes",
    }
    assert "properties" not in props["add"] and "properties" not in props["remove"]  # no described copy per field
    assert props["grant_types"]["items"]["enum"] == ["authorization_code", "refresh_token"]
    a = update.annotations
    assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == (False, True, True, True)
    assert a.title
    assert (
        "replaces the whole stored list" in update.description and "irreversibly" in props["visibility"]["description"]
    )
    assert update.output_schema["properties"]["verification"]
    assert tools["get_oauth_client"].annotations.read_only_hint is True


async def test_update_sends_exactly_the_given_fields_and_returns_structured_result():
    server, emulator = server_with()
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Renamed"})
    assert not result.is_error, result.content
    read, request = emulator.requests  # one read before every write
    assert (read.method, request.method) == ("GET", "PATCH")
    assert request.path == f"/client/v4/accounts/{ACCOUNT}/oauth_clients/{CLIENT}"
    assert request.body == {"client_name": "Renamed"}
    data = result.structured_content
    assert data["client"]["client_name"] == "Renamed"
    assert data["sent"] == {"client_name": "Renamed"}
    assert data["verification"]["status"] == "pending"
    assert data["verification"]["dns_record"]["type"] == "TXT"
    text = result.content[0].text
    assert 'client_name: "Demo OAuth App" -> "Renamed"' in text  # a rename names what it replaced
    assert "type TXT" not in text and "Client URI host" not in text  # a rename leaves verification alone


async def test_unknown_extra_fields_in_the_answer_are_tolerated():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["brand_new_field"] = {"x": 1}
    server, _ = server_with(emulator)
    result = await call(server, "get_oauth_client", {"oauth_client_id": CLIENT})
    assert not result.is_error
    assert result.structured_content["client"]["brand_new_field"] == {"x": 1}


async def test_verified_host_result_has_no_dns_instructions():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.mark_verified(ACCOUNT, CLIENT)
    server, _ = server_with(emulator)
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "tos_uri": "https://x.example/t"})
    assert result.structured_content["verification"]["dns_record"] is None
    assert "TXT" not in result.content[0].text


@pytest.mark.parametrize(
    "arguments,field",
    [
        ({"oauth_client_id": "../../etc"}, "oauth_client_id"),
        ({"oauth_client_id": CLIENT}, "nothing to change"),
        ({"oauth_client_id": CLIENT, "grant_types": ["refresh_token"]}, "grant_types"),
        ({"oauth_client_id": CLIENT, "scopes": ["account:read"]}, "scopes[0]"),
        ({"oauth_client_id": CLIENT, "redirect_uris": "https://a.example.com/cb"}, "redirect_uris"),
        ({"oauth_client_id": CLIENT, "redirect_uris": ["http://a.example.com/cb"]}, "redirect_uris[0]"),
        ({"oauth_client_id": CLIENT, "allowed_cors_origins": ["https://a.example.com/x"]}, "allowed_cors_origins[0]"),
        ({"oauth_client_id": CLIENT, "logo_uri": "logo.png"}, "logo_uri"),
        ({"oauth_client_id": CLIENT, "optional_scopes": ["openid"]}, "optional_scopes"),
        ({"oauth_client_id": CLIENT, "visibility": "private"}, "visibility"),
        ({"oauth_client_id": CLIENT, "redirect_uri": ["https://a.example.com/cb"]}, "did you mean 'redirect_uris'"),
        ({"oauth_client_id": CLIENT, "account_id": "nope", "client_name": "x"}, "account_id"),
    ],
)
async def test_refused_arguments_name_the_field_and_send_nothing(arguments, field):
    server, emulator = server_with()
    result = await call(server, "update_oauth_client", arguments)
    assert result.is_error
    assert field in result.content[0].text
    assert "nothing was sent" in result.content[0].text
    assert emulator.requests == []


async def test_missing_token_is_a_clear_error_and_sends_nothing():
    server, emulator = server_with(credentials=Credentials())
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    assert result.is_error and "CLOUDFLARE_API_TOKEN" in result.content[0].text
    assert emulator.requests == []


async def test_missing_account_is_a_clear_error():
    server, emulator = server_with(account_id=None)
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    assert result.is_error and "CLOUDFLARE_ACCOUNT_ID" in result.content[0].text
    assert emulator.requests == []


async def test_wrong_token_gets_the_permissions_advice():
    server, _ = server_with(credentials=Credentials(api_token="wrong"))
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    assert result.is_error
    text = result.content[0].text
    assert "10000" in text and "OAuth Client Write" in text and "wrong" not in text


async def test_unknown_client_is_not_found_with_advice():
    server, _ = server_with()
    result = await call(server, "get_oauth_client", {"oauth_client_id": "f" * 32})
    assert result.is_error and "check account_id and oauth_client_id" in result.content[0].text


async def test_cloudflare_field_error_is_relayed_with_its_pointer():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.mark_verified(ACCOUNT, CLIENT)
    server, _ = server_with(emulator)
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_uri": "https://new.example"})
    assert result.is_error and "(field: client_uri)" in result.content[0].text


async def test_server_keeps_serving_after_a_failure():
    server, _ = server_with()
    async with Client(server) as client:
        bad = await client.call_tool("update_oauth_client", {"oauth_client_id": "f" * 32, "client_name": "x"})
        good = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert bad.is_error and not good.is_error


async def test_sandbox_serves_every_path_without_credentials():
    server = build_server(
        settings_for("https://unused.invalid", credentials=Credentials(), account_id=None, sandbox=True)
    )
    async with Client(server) as client:
        read = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
        changed = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_uri": "https://other.example.org"}
        )
    assert read.content[0].text.startswith("[SANDBOX]") and read.structured_content["sandbox"] is True
    async with Client(server) as client:
        refused = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT})
    assert refused.is_error and refused.content[0].text.startswith("[SANDBOX]")
    assert changed.structured_content["verification"]["host"] == "other.example.org"
    assert changed.structured_content["verification"]["status"] == "pending"


async def test_results_are_json_serialisable_and_hold_no_token():
    server, _ = server_with()
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    assert TOKEN not in json.dumps(result.structured_content) + result.content[0].text


async def test_a_bug_of_ours_becomes_a_safe_error_and_the_server_keeps_serving(monkeypatch):
    from mcp_oauth_clients import operations

    async def broken(*args, **kwargs):
        raise KeyError("internal detail with " + TOKEN)

    server, _ = server_with()
    monkeypatch.setattr(operations, "update_client", broken)
    async with Client(server) as client:
        crashed = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
        after = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    text = crashed.content[0].text
    assert crashed.is_error and "Internal error in mcp-oauth-clients (KeyError)" in text and "read the client" in text
    assert TOKEN not in text and "internal detail" not in text and "Traceback" not in text
    assert not after.is_error


async def test_a_client_stored_without_a_client_id_is_shown_as_missing_not_as_none():
    emulator = CloudflareEmulator(tokens={TOKEN})
    del emulator.clients[(ACCOUNT, CLIENT)]["client_id"]
    server, _ = server_with(emulator)
    result = await call(server, "get_oauth_client", {"oauth_client_id": CLIENT})
    text = result.content[0].text
    assert not result.is_error, text
    assert "Read OAuth client (Cloudflare returned no client_id) in account" in text and '"None"' not in text
    assert result.structured_content["client"]["client_id"] is None


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


async def test_a_300_deep_unknown_field_in_a_read_is_left_out_of_structured_content_and_said():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["deep_thing"] = nested(300)
    server, _ = server_with(emulator)
    result = await call(server, "get_oauth_client", {"oauth_client_id": CLIENT})
    text = result.content[0].text
    assert not result.is_error, text
    assert 'left out of structuredContent: "client.deep_thing"' in text
    assert "deep_thing" not in result.structured_content["client"]
    assert result.structured_content["client"]["client_name"] == "Demo OAuth App"


async def test_an_applied_update_whose_answer_holds_a_300_deep_field_still_reports_the_write(tmp_path):
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["deep_thing"] = nested(300)
    log = tmp_path / "audit.jsonl"
    server, _ = server_with(emulator, audit_log=str(log))
    result = await call(server, "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Deep"})
    text = result.content[0].text
    assert not result.is_error, text
    assert text.startswith("Updated OAuth client") and 'client_name: "Demo OAuth App" -> "Deep"' in text
    assert result.structured_content["client"]["client_name"] == "Deep"
    assert "Error executing tool" not in text
