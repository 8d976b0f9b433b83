"""The lifecycle tools in memory (`mcp.Client(server)` on the emulator): create, rotate, delete the rotated
secret, delete. Each test names the promise of issue 18 it holds."""

from __future__ import annotations

import json
import logging
import os
import stat
import typing
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.types import ElicitResult

from mcp_oauth_clients import lifecycle_models, models
from mcp_oauth_clients.emulator import PUBLIC_CLIENT_ID, CloudflareEmulator, mock_transport
from mcp_oauth_clients.lifecycle_secrets import SECRETS_DIR_VARIABLE
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio
BASE = "https://api.example.test/client/v4"
OTHER_ACCOUNT = "f" * 32
NEW = {"client_name": "New App", "redirect_uris": ["https://new.example.com/cb"], "scopes": ["account.read"]}
LIFECYCLE = (
    "create_oauth_client",
    "rotate_oauth_client_secret",
    "delete_rotated_oauth_client_secret",
    "delete_oauth_client",
)
REQUIRED = {"client_name", "grant_types", "redirect_uris", "response_types", "scopes", "token_endpoint_auth_method"}


@pytest.fixture
def secrets_dir(tmp_path) -> Path:
    return tmp_path / "secrets"


def setup(emulator=None, transport=None, **settings):
    emulator = emulator or CloudflareEmulator(tokens={TOKEN})
    server = build_server(settings_for(BASE, **settings), transport=transport or mock_transport(emulator))
    return server, emulator


def writes(emulator: CloudflareEmulator) -> list:
    return [r for r in emulator.requests if r.method != "GET"]


def answering(content: dict | None, action: str = "accept"):
    asked: list[str] = []

    async def callback(context, params):
        asked.append(params.message)
        return ElicitResult(action=action, content=content)

    return callback, asked


def with_rotated_secret(emulator: CloudflareEmulator, client_id: str = CLIENT) -> None:
    emulator.clients[(ACCOUNT, client_id)]["has_rotated_secret"] = True


def everything_said(result, audit: Path | None = None, caplog=None) -> str:
    said = result.content[0].text + json.dumps(result.structured_content)
    if audit is not None and audit.exists():
        said += audit.read_text()
    if caplog is not None:
        said += caplog.text
    return said


def secret_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.secret")) if folder.exists() else []


# --- the tools as listed --------------------------------------------------------------------------------------


async def test_the_four_tools_are_listed_with_honest_annotations():
    server, _ = setup()
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    hints = {
        name: (
            tools[name].annotations.read_only_hint,
            tools[name].annotations.destructive_hint,
            tools[name].annotations.idempotent_hint,
        )
        for name in LIFECYCLE
    }
    assert hints == {
        "create_oauth_client": (False, False, False),
        "rotate_oauth_client_secret": (False, False, False),
        "delete_rotated_oauth_client_secret": (False, True, True),
        "delete_oauth_client": (False, True, True),
    }
    for name in LIFECYCLE:
        schema = tools[name].input_schema
        assert "dry_run" in schema["properties"] and "account_id" not in schema.get("required", [])


async def test_the_create_description_states_the_three_defaults_it_sends():
    server, _ = setup()
    async with Client(server) as client:
        create = next(t for t in (await client.list_tools()).tools if t.name == "create_oauth_client")
    for default in ("grant_types [authorization_code, refresh_token]", "response_types [code]", "client_secret_basic"):
        assert default in create.description


def test_create_takes_each_setting_from_the_same_definition_as_update():
    create_hints = typing.get_type_hints(lifecycle_models.OAuthClientCreate, include_extras=True)
    update_hints = typing.get_type_hints(models.OAuthClientUpdate, include_extras=True)
    for name in lifecycle_models.CREATABLE_FIELDS:
        assert create_hints[name] in (update_hints[name], typing.get_args(update_hints[name])[0]), name


# --- create ---------------------------------------------------------------------------------------------------


async def test_create_sends_all_six_required_fields_once_and_the_secret_lands_in_one_0600_file_only(
    secrets_dir, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    audit = tmp_path / "audit.jsonl"
    server, emulator = setup(secrets_dir=str(secrets_dir), audit_log=str(audit))
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", {**NEW, "client_uri": "https://new.example.com"})
    assert not result.is_error, result.content
    (post,) = writes(emulator)
    assert post.method == "POST" and set(post.body) >= REQUIRED
    assert post.body["grant_types"] == ["authorization_code", "refresh_token"]
    assert post.body["response_types"] == ["code"] and post.body["token_endpoint_auth_method"] == "client_secret_basic"
    new_id = result.structured_content["client"]["client_id"]
    (secret,) = emulator.issued_secrets(ACCOUNT, new_id)
    (file,) = secret_files(secrets_dir)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600 and stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert f"client_secret: {secret}\n" in file.read_text()
    assert secret not in everything_said(result, audit, caplog)
    assert '"client_secret":' not in json.dumps(result.structured_content)  # not even redacted-but-present
    assert str(file) in result.content[0].text and result.structured_content["secret"]["file"]["path"] == str(file)
    text = result.content[0].text
    assert new_id in text and "type TXT" in text and "check_verification_record" in text and "private" in text


async def test_every_bad_field_of_a_create_is_named_at_once_and_nothing_is_sent(secrets_dir):
    server, emulator = setup(secrets_dir=str(secrets_dir))
    bad = {
        "client_name": " ",
        "redirect_uris": ["http://evil.example.com/cb"],
        "scopes": ["a:b"],
        "grant_types": ["refresh_token"],
    }
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", bad)
    text = result.content[0].text
    assert result.is_error
    for name in ("client_name", "redirect_uris[0]", "scopes[0]", "grant_types"):
        assert name in text, name
    assert emulator.requests == [] and secret_files(secrets_dir) == []


async def test_a_create_whose_secret_cannot_be_kept_is_refused_with_nothing_sent_and_audited(tmp_path):
    not_a_folder = tmp_path / "secrets"
    not_a_folder.write_text("a file where the folder should be")
    audit = tmp_path / "audit.jsonl"
    server, emulator = setup(audit_log=str(audit), secrets_dir=str(not_a_folder))
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", NEW)
    assert result.is_error and "Refused before sending anything" in result.content[0].text
    assert writes(emulator) == []
    outcome = json.loads(audit.read_text().splitlines()[-1])
    assert outcome["outcome"] == "refused" and outcome["reason"] == "secret_not_storable"


async def test_a_create_dry_run_sends_nothing_and_shows_the_body_and_where_the_secret_would_go(secrets_dir):
    server, emulator = setup(secrets_dir=str(secrets_dir))
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", {**NEW, "dry_run": True})
    assert not result.is_error and result.structured_content["preview"] is True
    assert set(result.structured_content["sent"]) >= REQUIRED
    assert writes(emulator) == [] and secret_files(secrets_dir) == []
    assert str(secrets_dir) in result.content[0].text


def gateway_error(emulator: CloudflareEmulator, *, lands: bool) -> httpx.MockTransport:
    """The create is answered 502; with `lands` the emulator made the client first (its answer was lost)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/oauth_clients"):
            if lands:
                emulator.handle(request.method, request.url.path, dict(request.headers), request.content)
            else:
                emulator.record(request.method, request.url.path, dict(request.headers), request.content)
            return httpx.Response(502, json={"success": False, "errors": [{"code": 502, "message": "Bad gateway"}]})
        answer = emulator.handle(request.method, request.url.path, dict(request.headers), request.content)
        return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("lands", [True, False])
async def test_a_create_answered_502_is_not_retried_and_says_whether_a_client_of_that_name_now_exists(
    secrets_dir, tmp_path, lands
):
    emulator = CloudflareEmulator(tokens={TOKEN})
    audit = tmp_path / "audit.jsonl"
    server, _ = setup(
        emulator, gateway_error(emulator, lands=lands), secrets_dir=str(secrets_dir), audit_log=str(audit)
    )
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", NEW)
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 1  # never retried: a retry could make a second client
    text = result.content[0].text
    assert result.is_error and "Outcome unknown" in text and "list_oauth_clients" in text
    if lands:
        (new_id,) = [cid for (account, cid), c in emulator.clients.items() if c["client_name"] == "New App"]
        assert "1 client(s) named" in text and new_id in text and "rotate_oauth_client_secret" in text
    else:
        assert "no client named" in text
    assert secret_files(secrets_dir) == []  # the reserved file no secret came for is removed
    assert json.loads(audit.read_text().splitlines()[-1])["outcome"] == "unknown"


async def test_a_create_answered_2xx_with_an_unreadable_body_never_quotes_that_body(secrets_dir):
    emulator = CloudflareEmulator(tokens={TOKEN})
    leaked = "sekret-in-a-broken-answer-0123456789"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            emulator.record(request.method, request.url.path, dict(request.headers), request.content)
            return httpx.Response(200, text=f'{{"success": true, "result": {{"client_secret": "{leaked}"')
        answer = emulator.handle(request.method, request.url.path, dict(request.headers), request.content)
        return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

    server, _ = setup(emulator, httpx.MockTransport(handler), secrets_dir=str(secrets_dir))
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", NEW)
    assert result.is_error and "list_oauth_clients" in result.content[0].text
    assert leaked not in result.content[0].text


async def test_a_secret_that_cannot_be_written_after_the_create_is_reported_lost_with_rotation_as_the_way_out(
    secrets_dir, monkeypatch
):
    from mcp_oauth_clients import secret_store

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(secret_store.os, "write", full_disk)
    server, emulator = setup(secrets_dir=str(secrets_dir))
    async with Client(server) as client:
        result = await client.call_tool("create_oauth_client", NEW)
    new_id = result.structured_content["client"]["client_id"]
    (secret,) = emulator.issued_secrets(ACCOUNT, new_id)
    text = result.content[0].text
    assert "the new secret is lost" in text and "rotate_oauth_client_secret" in text
    assert secret not in everything_said(result) and secret_files(secrets_dir) == []


async def test_over_http_without_an_operator_secrets_folder_a_create_is_refused_before_anything_is_sent():
    from mcp_oauth_clients import lifecycle
    from mcp_oauth_clients.errors import Refused
    from mcp_oauth_clients.lifecycle_models import OAuthClientCreate

    emulator = CloudflareEmulator(tokens={TOKEN})
    async with direct_services(emulator) as services:
        with pytest.raises(Refused, match=SECRETS_DIR_VARIABLE):
            await lifecycle.create_client(services, OAuthClientCreate(**NEW), over_http=True)
    assert writes(emulator) == []


class direct_services:
    """The services a server's lifespan would give, for calling an operation directly (as over HTTP)."""

    def __init__(self, emulator: CloudflareEmulator) -> None:
        from mcp_oauth_clients.audit import AuditLog
        from mcp_oauth_clients.cloudflare_client import CloudflareClient
        from mcp_oauth_clients.operations import Services

        settings = settings_for(BASE)
        self.services = Services(
            settings, CloudflareClient(settings, transport=mock_transport(emulator)), audit=AuditLog()
        )

    async def __aenter__(self):
        return self.services

    async def __aexit__(self, *exc) -> None:
        await self.services.cloudflare.aclose()


# --- rotate ---------------------------------------------------------------------------------------------------


async def test_rotation_keeps_the_new_secret_out_of_every_output_and_names_the_clean_up_step(
    secrets_dir, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    audit = tmp_path / "audit.jsonl"
    server, emulator = setup(secrets_dir=str(secrets_dir), audit_log=str(audit))
    async with Client(server) as client:
        result = await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": CLIENT})
    assert not result.is_error, result.content
    (secret,) = emulator.issued_secrets(ACCOUNT, CLIENT)
    (file,) = secret_files(secrets_dir)
    assert f"client_secret: {secret}\n" in file.read_text() and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert secret not in everything_said(result, audit, caplog)
    assert "delete_rotated_oauth_client_secret" in result.content[0].text
    assert [r.method for r in writes(emulator)] == ["POST"]


async def test_create_and_rotate_are_audited_intent_before_outcome_without_the_secret(secrets_dir, tmp_path):
    audit = tmp_path / "audit.jsonl"
    server, emulator = setup(secrets_dir=str(secrets_dir), audit_log=str(audit))
    async with Client(server) as client:
        created = await client.call_tool("create_oauth_client", NEW)
        await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": CLIENT})
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    actions = [(line["event"], line.get("action")) for line in lines if line["event"].startswith("write_")]
    assert actions == [
        ("write_intent", "create_oauth_client"),
        ("write_outcome", "create_oauth_client"),
        ("write_intent", "rotate_oauth_client_secret"),
        ("write_outcome", "rotate_oauth_client_secret"),
    ]
    new_id = created.structured_content["client"]["client_id"]
    issued = emulator.issued_secrets(ACCOUNT, new_id) + emulator.issued_secrets(ACCOUNT, CLIENT)
    assert len(issued) == 2 and not any(secret in audit.read_text() for secret in issued)
    created_outcome = next(
        line for line in lines if (line["event"], line["action"]) == ("write_outcome", "create_oauth_client")
    )
    assert created_outcome["oauth_client_id"] == new_id and created_outcome["outcome"] == "applied"


async def test_a_rotation_while_a_rotated_secret_is_pending_sends_nothing(secrets_dir):
    server, emulator = setup(secrets_dir=str(secrets_dir))
    with_rotated_secret(emulator)
    async with Client(server) as client:
        result = await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": CLIENT})
    assert result.is_error and "delete_rotated_oauth_client_secret" in result.content[0].text
    assert writes(emulator) == [] and secret_files(secrets_dir) == []


# --- the deletions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["delete_oauth_client", "delete_rotated_oauth_client_secret"])
@pytest.mark.parametrize("confirm", [False, True])
async def test_a_deletion_is_refused_without_a_person_even_with_the_models_own_flag(tool, confirm):
    server, emulator = setup()
    with_rotated_secret(emulator)
    async with Client(server) as client:  # no elicitation callback: no person can be asked
        result = await client.call_tool(tool, {"oauth_client_id": CLIENT, "confirm_irreversible": confirm})
    assert result.is_error and "no person can approve it here" in result.content[0].text
    assert writes(emulator) == []


async def test_the_operators_unattended_flag_with_confirm_lets_a_deletion_go_without_a_person():
    server, emulator = setup(allow_unattended_promotion=True)
    async with Client(server) as client:
        result = await client.call_tool(
            "delete_oauth_client", {"oauth_client_id": CLIENT, "confirm_irreversible": True}
        )
    assert not result.is_error, result.content
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in writes(emulator)] == [("DELETE", CLIENT)]


async def test_a_declined_delete_sends_nothing():
    server, emulator = setup()
    callback, asked = answering(None, action="decline")
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_oauth_client", {"oauth_client_id": CLIENT})
    assert result.is_error and "declined" in result.content[0].text and len(asked) >= 1
    assert writes(emulator) == [] and (ACCOUNT, CLIENT) in emulator.clients


async def test_a_delete_with_the_wrong_name_typed_sends_nothing():
    server, emulator = setup()
    callback, _ = answering({"confirm": "Some Other App"})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_oauth_client", {"oauth_client_id": CLIENT})
    assert result.is_error and writes(emulator) == []


async def test_an_accepted_delete_deletes_and_its_question_names_account_client_and_id_and_what_is_lost():
    server, emulator = setup()
    callback, asked = answering({"confirm": "Demo OAuth App"})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_oauth_client", {"oauth_client_id": CLIENT})
    assert not result.is_error, result.content
    assert (ACCOUNT, CLIENT) not in emulator.clients
    question = asked[0]
    assert ACCOUNT in question and CLIENT in question and '"Demo OAuth App"' in question
    assert "every user's authorization" in question and "type its name as shown above, without quotes" in question


async def test_deleting_a_public_client_names_every_installation_as_lost():
    server, emulator = setup()
    callback, asked = answering({"confirm": "Partner Dashboard"})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_oauth_client", {"oauth_client_id": PUBLIC_CLIENT_ID})
    assert not result.is_error and "every installation" in asked[0]


async def test_a_delete_dry_run_names_what_is_lost_and_sends_nothing():
    server, emulator = setup()
    async with Client(server) as client:
        result = await client.call_tool("delete_oauth_client", {"oauth_client_id": CLIENT, "dry_run": True})
    assert not result.is_error and result.structured_content["preview"] is True
    text = result.content[0].text
    assert "every user's authorization" in text and "every secret" in text and "Would delete" in text
    assert writes(emulator) == []


async def test_deleting_the_rotated_secret_asks_a_person_and_ends_only_the_previous_secret():
    server, emulator = setup()
    with_rotated_secret(emulator)
    callback, asked = answering({"delete_previous_secret": True})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_rotated_oauth_client_secret", {"oauth_client_id": CLIENT})
    assert not result.is_error, result.content
    assert CLIENT in asked[0] and ACCOUNT in asked[0] and "previous secret" in asked[0]
    assert [(r.method, r.path.endswith("/rotate_secret")) for r in writes(emulator)] == [("DELETE", True)]
    assert emulator.clients[(ACCOUNT, CLIENT)]["has_rotated_secret"] is False


async def test_deleting_the_rotated_secret_of_a_client_with_none_sends_nothing_and_says_so():
    server, emulator = setup()
    callback, asked = answering({"delete_previous_secret": True})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("delete_rotated_oauth_client_secret", {"oauth_client_id": CLIENT})
    assert not result.is_error and "Nothing was sent" in result.content[0].text
    assert result.structured_content["outcome"] == "nothing_to_change"
    assert writes(emulator) == [] and asked == []


# --- the guards apply to all four -----------------------------------------------------------------------------

CALLS = {
    "create_oauth_client": NEW,
    "rotate_oauth_client_secret": {"oauth_client_id": CLIENT},
    "delete_rotated_oauth_client_secret": {"oauth_client_id": CLIENT, "confirm_irreversible": True},
    "delete_oauth_client": {"oauth_client_id": CLIENT, "confirm_irreversible": True},
}


@pytest.mark.parametrize("tool", LIFECYCLE)
async def test_read_only_refuses_each_lifecycle_tool_before_any_request(tool, secrets_dir):
    server, emulator = setup(secrets_dir=str(secrets_dir), read_only=True, allow_unattended_promotion=True)
    with_rotated_secret(emulator)
    async with Client(server) as client:
        result = await client.call_tool(tool, CALLS[tool])
    assert result.is_error and "read-only" in result.content[0].text
    assert emulator.requests == [] and secret_files(secrets_dir) == []


@pytest.mark.parametrize("tool", LIFECYCLE)
async def test_an_account_outside_the_allow_list_is_refused_for_each_lifecycle_tool_before_any_request(
    tool, secrets_dir
):
    server, emulator = setup(
        secrets_dir=str(secrets_dir), allowed_accounts=frozenset({ACCOUNT}), allow_unattended_promotion=True
    )
    async with Client(server) as client:
        result = await client.call_tool(tool, {**CALLS[tool], "account_id": OTHER_ACCOUNT})
    assert result.is_error and "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS" in result.content[0].text
    assert emulator.requests == [] and secret_files(secrets_dir) == []


async def test_the_sandbox_serves_create_verify_rotate_and_delete(secrets_dir):
    from mcp_oauth_clients.config import Settings

    server = build_server(Settings(sandbox=True, allow_unattended_promotion=True, secrets_dir=str(secrets_dir)))
    async with Client(server) as client:
        created = await client.call_tool("create_oauth_client", {**NEW, "client_uri": "https://new.example.com"})
        new_id = created.structured_content["client"]["client_id"]
        checked = await client.call_tool("check_verification_record", {"oauth_client_id": new_id})
        rotated = await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": new_id})
        deleted = await client.call_tool(
            "delete_oauth_client", {"oauth_client_id": new_id, "confirm_irreversible": True}
        )
        gone = await client.call_tool("get_oauth_client", {"oauth_client_id": new_id})
    assert not any(r.is_error for r in (created, rotated, deleted)), [r.content for r in (created, rotated, deleted)]
    assert "SANDBOX" in created.content[0].text and checked.content[0].text
    assert gone.is_error and len(secret_files(secrets_dir)) == 2
    assert all(os.stat(f).st_mode & 0o077 == 0 for f in secret_files(secrets_dir))
