"""Guard rails, in memory: `mcp.Client(server)` against the emulator, counting what reaches it."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.types import ElicitResult

from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio
OTHER_ACCOUNT = "f" * 32


def setup(emulator: CloudflareEmulator | None = None, **settings):
    emulator = emulator or CloudflareEmulator(tokens={TOKEN})
    server = build_server(
        settings_for("https://api.example.test/client/v4", **settings), transport=mock_transport(emulator)
    )
    return server, emulator


async def update(server, arguments: dict, **client_options):
    """One update_oauth_client call on its own connection."""
    async with Client(server, **client_options) as client:
        return await client.call_tool("update_oauth_client", arguments)


def writes(emulator: CloudflareEmulator):
    return [r for r in emulator.requests if r.method != "GET"]


def promotable() -> CloudflareEmulator:
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.mark_verified(ACCOUNT, CLIENT)
    return emulator


def answering(action: str, make_public: bool = True):
    asked: list[str] = []

    async def callback(context, params):
        asked.append(params.message)
        return ElicitResult(action=action, content={"make_public": make_public} if action == "accept" else None)

    return callback, asked


async def test_get_oauth_client_writes_nothing():
    server, emulator = setup()
    async with Client(server) as client:
        result = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert not result.is_error
    assert [r.method for r in emulator.requests] == ["GET"]
    assert result.structured_content["state_hash"].startswith("sha256:")


async def test_add_keeps_existing_redirect_uris_and_remove_drops_only_the_named_one():
    server, emulator = setup()
    stored = list(emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"])
    async with Client(server) as client:
        added = await client.call_tool(
            "update_oauth_client",
            {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://staging.example.com/cb"]}},
        )
        removed = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "remove": {"redirect_uris": [stored[0]]}}
        )
    assert not added.is_error and not removed.is_error, (added.content, removed.content)
    first, second = writes(emulator)
    assert first.body == {"redirect_uris": [*stored, "https://staging.example.com/cb"]}
    assert second.body == {"redirect_uris": [stored[1], "https://staging.example.com/cb"]}
    change = removed.structured_content["changes"][0]
    assert change["removed"] == [stored[0]] and change["added"] == []
    assert stored[0] in removed.content[0].text


async def test_add_of_a_present_entry_and_remove_of_an_absent_one_are_reported_and_nothing_is_written():
    server, emulator = setup()
    stored = emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"]
    result = await update(
        server,
        {
            "oauth_client_id": CLIENT,
            "add": {"redirect_uris": [stored[0]]},
            "remove": {"redirect_uris": ["https://never.example.com/cb"]},
        },
    )
    assert not result.is_error
    notes = " ".join(result.structured_content["notes"])
    assert "already present" in notes and "was not present" in notes
    assert writes(emulator) == []


async def test_add_result_is_checked_like_any_other_list():
    server, emulator = setup()
    result = await update(
        server,
        {
            "oauth_client_id": CLIENT,
            "add": {"grant_types": ["refresh_token"]},
            "remove": {"grant_types": ["authorization_code"]},
        },
    )
    assert (
        result.is_error and "grant_types" in result.content[0].text and "authorization_code" in result.content[0].text
    )
    assert writes(emulator) == []


async def test_mixing_add_with_the_same_fields_full_list_is_refused():
    server, emulator = setup()
    result = await update(
        server,
        {
            "oauth_client_id": CLIENT,
            "redirect_uris": ["https://a.example.com/cb"],
            "add": {"redirect_uris": ["https://b.example.com/cb"]},
        },
    )
    assert result.is_error and "either the full list or add/remove" in result.content[0].text
    assert emulator.requests == []


async def test_dry_run_writes_nothing_names_a_removed_uri_and_returns_a_hash():
    server, emulator = setup()
    stored = emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"]
    result = await update(
        server, {"oauth_client_id": CLIENT, "redirect_uris": [stored[0]], "client_name": "Next", "dry_run": True}
    )
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["preview"] is True and data["state_hash"].startswith("sha256:")
    redirect_change = next(c for c in data["changes"] if c["field"] == "redirect_uris")
    assert redirect_change["removed"] == [stored[1]]
    name_change = next(c for c in data["changes"] if c["field"] == "client_name")
    assert (name_change["before"], name_change["after"]) == ("Demo OAuth App", "Next")
    assert any("Redirect URIs removed" in w for w in data["warnings"])
    text = result.content[0].text
    assert "[PREVIEW]" in text and stored[1] in text
    assert writes(emulator) == []


async def test_stale_expected_state_hash_is_refused_and_a_fresh_one_applies():
    server, emulator = setup()
    async with Client(server) as client:
        plan = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Planned", "dry_run": True}
        )
        state = plan.structured_content["state_hash"]
        emulator.clients[(ACCOUNT, CLIENT)]["tos_uri"] = "https://changed.example.com/tos"  # someone else edits
        stale = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Planned", "expected_state_hash": state}
        )
        fresh_plan = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Planned", "dry_run": True}
        )
        applied = await client.call_tool(
            "update_oauth_client",
            {
                "oauth_client_id": CLIENT,
                "client_name": "Planned",
                "expected_state_hash": fresh_plan.structured_content["state_hash"],
            },
        )
    assert stale.is_error and "changed since the dry run" in stale.content[0].text
    assert not applied.is_error
    assert [w.body for w in writes(emulator)] == [{"client_name": "Planned"}]


async def test_a_rename_costs_one_read_and_one_write():
    server, emulator = setup()
    async with Client(server) as client:
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Renamed"})
    assert [(r.method, r.body) for r in emulator.requests] == [("GET", None), ("PATCH", {"client_name": "Renamed"})]


async def test_promotion_with_unmet_requirements_lists_all_with_the_txt_record():
    emulator = CloudflareEmulator(tokens={TOKEN})
    stored = emulator.clients[(ACCOUNT, CLIENT)]
    stored.update(logo_uri=None, scopes=["openid", "profile"])
    server, _ = setup(emulator)
    callback, asked = answering("accept")
    result = await update(server, {"oauth_client_id": CLIENT, "visibility": "public"}, elicitation_callback=callback)
    assert result.is_error
    text = result.content[0].text
    assert "logo URI" in text and "non-identity scope" in text and "verified client URI host" in text
    assert stored["client_uri_verification"]["text"] in text and "TXT record" in text
    assert asked == [] and writes(emulator) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_elicitation_decline_or_cancel_writes_nothing(mode, action):
    server, emulator = setup(promotable())
    callback, asked = answering(action)
    result = await update(
        server, {"oauth_client_id": CLIENT, "visibility": "public"}, mode=mode, elicitation_callback=callback
    )
    assert result.is_error and "Nothing was written" in result.content[0].text
    assert len(asked) == 1 and "Demo OAuth App" in asked[0] and "cannot be undone" in asked[0]
    assert f"({CLIENT})" in asked[0] and f"account {ACCOUNT}" in asked[0]  # names the account, client and id
    assert writes(emulator) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_elicitation_accept_writes_visibility_public_only(mode):
    server, emulator = setup(promotable())
    callback, asked = answering("accept")
    result = await update(
        server, {"oauth_client_id": CLIENT, "visibility": "public"}, mode=mode, elicitation_callback=callback
    )
    assert not result.is_error, result.content
    assert [w.body for w in writes(emulator)] == [{"visibility": "public"}]
    assert result.structured_content["client"]["visibility"] == "public"
    assert len(emulator.requests) <= 3  # read(s) for pre-flight, then the one write


async def test_accepting_the_form_without_ticking_the_box_writes_nothing():
    server, emulator = setup(promotable())
    callback, _ = answering("accept", make_public=False)
    result = await update(server, {"oauth_client_id": CLIENT, "visibility": "public"}, elicitation_callback=callback)
    assert result.is_error and writes(emulator) == []


@pytest.mark.parametrize(
    "flag,confirm,allowed",
    [(False, False, False), (False, True, False), (True, False, False), (True, True, True)],
)
async def test_without_elicitation_promotion_needs_the_operator_flag_and_confirm(flag, confirm, allowed):
    server, emulator = setup(promotable(), allow_unattended_promotion=flag)
    arguments = {"oauth_client_id": CLIENT, "visibility": "public"}
    if confirm:
        arguments["confirm_irreversible"] = True
    result = await update(server, arguments)
    if allowed:
        assert not result.is_error and [w.body for w in writes(emulator)] == [{"visibility": "public"}]
    else:
        assert result.is_error and "cannot be undone" in result.content[0].text
        assert "--allow-unattended-promotion" in result.content[0].text
        assert writes(emulator) == []


async def test_promotion_mixed_with_other_fields_is_refused():
    server, emulator = setup(promotable(), allow_unattended_promotion=True)
    result = await update(
        server, {"oauth_client_id": CLIENT, "visibility": "public", "client_name": "x", "confirm_irreversible": True}
    )
    assert result.is_error and "sent alone" in result.content[0].text and writes(emulator) == []


async def test_promotion_is_never_retried():
    emulator = promotable()
    server, _ = setup(emulator, allow_unattended_promotion=True)
    original = emulator.handle
    calls = []

    def flaky(method, path, headers, body):
        calls.append(method)
        if method == "PATCH":
            from mcp_oauth_clients.emulator import Answer

            return Answer(503, b"<html>503</html>", {"content-type": "text/html"})
        return original(method, path, headers, body)

    emulator.handle = flaky
    result = await update(server, {"oauth_client_id": CLIENT, "visibility": "public", "confirm_irreversible": True})
    assert result.is_error and calls.count("PATCH") == 1


async def test_unknown_scope_is_refused_with_a_suggestion_and_the_catalogue_is_fetched_once():
    server, emulator = setup()
    async with Client(server) as client:
        bad = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["account.raed"]})
        good = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["account.read", "zone.read"]}
        )
    assert bad.is_error and '"account.raed"' in bad.content[0].text and 'closest: "account.read"' in bad.content[0].text
    assert not good.is_error
    assert [r.path for r in emulator.requests].count("/client/v4/oauth/scopes") == 1
    assert [w.body for w in writes(emulator)] == [{"scopes": ["account.read", "zone.read"]}]
    assert good.structured_content["side_effects"] == [
        "Cloudflare adds offline_access to scopes (refresh_token is in grant_types)."
    ]


async def test_scope_catalogue_failure_falls_back_to_cloudflares_own_check():
    emulator = CloudflareEmulator(tokens={TOKEN})
    original = emulator.handle

    def no_catalogue(method, path, headers, body):
        if path.endswith("/oauth/scopes"):
            from mcp_oauth_clients.emulator import Answer

            return Answer(500, b'{"success": false, "errors": [], "messages": [], "result": null}')
        return original(method, path, headers, body)

    emulator.handle = no_catalogue
    server, _ = setup(emulator)
    result = await update(server, {"oauth_client_id": CLIENT, "scopes": ["zone.read"]})
    assert not result.is_error
    assert any("Cloudflare will check them itself" in n for n in result.structured_content["notes"])


async def test_disallowed_account_gets_no_request():
    server, emulator = setup(allowed_accounts=frozenset({ACCOUNT}))
    async with Client(server) as client:
        write = await client.call_tool(
            "update_oauth_client", {"account_id": OTHER_ACCOUNT, "oauth_client_id": CLIENT, "client_name": "x"}
        )
        read = await client.call_tool("get_oauth_client", {"account_id": OTHER_ACCOUNT, "oauth_client_id": CLIENT})
        allowed = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    assert write.is_error and read.is_error and "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS" in write.content[0].text
    assert not allowed.is_error
    assert len(emulator.requests) == 1


async def test_read_only_refuses_writes_and_allows_reads_and_dry_runs():
    server, emulator = setup(read_only=True)
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        write = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
        dry = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", "dry_run": True}
        )
        read = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    update = tools["update_oauth_client"]
    assert update.annotations.read_only_hint is True and update.annotations.destructive_hint is False
    assert "READ-ONLY" in update.description
    assert write.is_error and "read-only" in write.content[0].text
    assert not dry.is_error and not read.is_error
    assert writes(emulator) == []


async def test_bidi_and_invisible_characters_in_a_client_name_reach_the_text_only_as_visible_escapes():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = "Evil\u202eppa\u200b\u2066 App\u0007"
    server, _ = setup(emulator)
    async with Client(server) as client:
        result = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    text = result.content[0].text
    for char in ("\u202e", "\u200b", "\u2066", "\u0007"):
        assert char not in text
    assert ': "Evil\\u202eppa\\u200b\\u2066 App\\u0007", visibility' in text


async def test_audit_line_is_written_for_every_write_attempt_and_holds_no_token(tmp_path):
    log = tmp_path / "audit.jsonl"
    server, _ = setup(audit_log=str(log))
    async with Client(server) as client:
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Audited"})
        await client.call_tool("update_oauth_client", {"oauth_client_id": "f" * 32, "client_name": "Missing"})
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", "dry_run": True})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["event"], line.get("outcome")) for line in lines] == [
        ("write_intent", None),
        ("write_outcome", "applied"),
        ("write_outcome", "failed"),  # the read found no such client: nothing was sent, no intent
    ]
    intent, applied = lines[0], lines[1]
    assert intent["attempt"] == applied["attempt"] and intent["account_id"] == ACCOUNT
    assert intent["oauth_client_id"] == CLIENT and "time" in intent
    assert intent["body"] == {"client_name": "Audited"} and intent["before"] == {"client_name": "Demo OAuth App"}
    assert intent["plan_hash"].startswith("sha256:") and intent["request"]["method"] == "PATCH"
    assert applied["after"] == {"client_name": "Audited"} and applied["request_id"] is None
    assert TOKEN not in log.read_text()


async def test_removing_the_last_redirect_uri_warns():
    server, emulator = setup()
    result = await update(server, {"oauth_client_id": CLIENT, "redirect_uris": [], "dry_run": True})
    assert any("last redirect URI" in w for w in result.structured_content["warnings"])


def audit_of(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


async def test_promoting_a_client_that_is_already_public_sends_nothing_asks_no_one_and_audits_nothing_to_change(
    tmp_path,
):
    emulator = promotable()
    emulator.clients[(ACCOUNT, CLIENT)]["visibility"] = "public"
    log = tmp_path / "audit.jsonl"
    server, _ = setup(emulator, audit_log=str(log))
    callback, asked = answering("accept")
    with_person = await update(
        server, {"oauth_client_id": CLIENT, "visibility": "public"}, elicitation_callback=callback
    )
    without_person = await update(server, {"oauth_client_id": CLIENT, "visibility": "public"})
    for result in (with_person, without_person):
        text = result.content[0].text
        assert not result.is_error, text
        assert "Nothing to change" in text and "already public" in text and "cannot be undone" not in text
        assert result.structured_content["outcome"] == "nothing_to_change"
    assert asked == [] and writes(emulator) == []
    assert [(line["event"], line["outcome"]) for line in audit_of(log)] == [("write_outcome", "nothing_to_change")] * 2


async def test_a_promotion_preview_says_a_person_will_be_asked_when_the_client_can_ask():
    server, emulator = setup(promotable())
    callback, asked = answering("accept")
    result = await update(
        server, {"oauth_client_id": CLIENT, "visibility": "public", "dry_run": True}, elicitation_callback=callback
    )
    assert "A person will be asked in your MCP client" in result.content[0].text
    assert asked == [] and writes(emulator) == []


async def test_a_promotion_preview_says_when_this_client_cannot_ask_a_person_and_what_happens_then():
    server, emulator = setup(promotable())
    result = await update(server, {"oauth_client_id": CLIENT, "visibility": "public", "dry_run": True})
    text = result.content[0].text
    assert "This MCP client cannot ask a person" in text and "--allow-unattended-promotion" in text
    assert writes(emulator) == []


async def test_an_applied_write_shows_the_stored_scopes_as_after_with_cloudflares_side_effect_as_the_reason():
    server, emulator = setup()
    result = await update(server, {"oauth_client_id": CLIENT, "grant_types": ["authorization_code"]})
    text = result.content[0].text
    assert not result.is_error, text
    scopes = next(c for c in result.structured_content["changes"] if c["field"] == "scopes")
    assert scopes["removed"] == ["offline_access"] and "offline_access" not in scopes["after"]
    assert scopes["reason"] == "Cloudflare drops offline_access from scopes (refresh_token is not in grant_types)."
    assert "because: Cloudflare drops offline_access" in text
    assert [w.body for w in writes(emulator)] == [{"grant_types": ["authorization_code"]}]
