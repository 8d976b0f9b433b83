"""Tests written for mutants that survived scripts/mutation_test.py: each pins a behaviour no other test held.

Each test names what it proves; the mutant it was written for is said in a comment beside it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.diff import stored_changes
from mcp_oauth_clients.errors import Refused
from mcp_oauth_clients.guards import NO_PERSON, UNATTENDED, Approval, check_approved, promotion_requirements
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.verification import guidance_for


def _client(uri: str) -> OAuthClient:
    return OAuthClient.model_validate(
        {
            "client_id": "c1",
            "visibility": "private",
            "client_name": "App",
            "client_uri": uri,
            "client_uri_verification": {"status": "pending", "text": "cloudflare_oauth_client_publisher=abc"},
        }
    )


# verification.py guidance_for: quoted(host, 80) -> 79 / 81, and the words "The client URI host" dropped.
def test_a_host_dns_cannot_hold_is_named_in_the_next_step_as_the_client_uri_host_clipped_to_80_characters():
    host = "a." * 1017 + "com"
    [step] = guidance_for(_client(f"https://{host}/")).next_steps
    assert step.startswith(f'The client URI host "{host[:79]}…" is not a name DNS can hold (')


def test_a_host_of_exactly_80_characters_is_named_whole():
    host = "x" * 64 + "." + "y" * 11 + ".com"  # a 64-character label: no name DNS can hold
    assert len(host) == 80
    [step] = guidance_for(_client(f"https://{host}/")).next_steps
    assert step.startswith(f'The client URI host "{host}" is not a name DNS can hold (')


# diff.py stored_changes: " ".join(explained) -> "".join(explained).
def test_every_side_effect_cloudflare_had_on_scopes_is_given_as_its_own_sentence_in_the_stored_change():
    before = OAuthClient.model_validate({"client_id": "c1", "scopes": ["email"]})
    after = OAuthClient.model_validate({"client_id": "c1", "scopes": ["email", "profile", "openid", "offline_access"]})
    effects = ["id_token brought openid.", "refresh_token brought offline_access."]
    [change] = stored_changes(before, after, {"scopes": ["email", "profile"]}, effects)
    assert change.field == "scopes" and change.added == ["profile", "openid", "offline_access"]
    assert change.reason == "id_token brought openid. refresh_token brought offline_access."


def _cloudflare(monkeypatch: pytest.MonkeyPatch) -> tuple[CloudflareClient, list[httpx.Request], list[httpx.Limits]]:
    """A client whose every request is recorded, and the pool limits it gives httpx, as it gives them."""
    requests: list[httpx.Request] = []
    limits_seen: list[httpx.Limits] = []

    class Recorded(httpx.AsyncClient):
        def __init__(self, *args: Any, limits: httpx.Limits, **kwargs: Any) -> None:
            limits_seen.append(limits)
            super().__init__(*args, limits=limits, **kwargs)

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        result = {"client_id": "c" * 32, "visibility": "private", "client_name": "App"}
        return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": result})

    monkeypatch.setattr(httpx, "AsyncClient", Recorded)
    settings = Settings(credentials=Credentials(api_token="tok"), base_url="https://api.example.test/client/v4")
    return CloudflareClient(settings, transport=httpx.MockTransport(answer)), requests, limits_seen


# cloudflare_client.py USER_AGENT: the contact URL dropped.
@pytest.mark.anyio
async def test_every_request_names_the_project_and_where_to_reach_it_in_the_user_agent(monkeypatch):
    client, requests, _ = _cloudflare(monkeypatch)
    await client.get_oauth_client("a" * 32, "c" * 32)
    [request] = requests
    agent = request.headers["user-agent"]
    assert agent.startswith("mcp-oauth-clients/")
    assert agent.endswith(" (+https://github.com/mcp-oauth-clients/mcp-oauth-clients)")


# cloudflare_client.py CloudflareClient._http: max_connections / max_keepalive_connections 10 -> 9 / 11.
@pytest.mark.anyio
async def test_the_connection_pool_holds_the_ten_connections_docs_security_promises_all_kept_alive(monkeypatch):
    client, _, limits_seen = _cloudflare(monkeypatch)
    await client.get_oauth_client("a" * 32, "c" * 32)
    [limits] = limits_seen
    assert (limits.max_connections, limits.max_keepalive_connections) == (10, 10)


# guards.py Approval: confirm_irreversible defaults to True.
def test_an_approval_says_nothing_about_confirm_irreversible_unless_told_so_the_operator_flag_alone_refuses():
    with pytest.raises(Refused):
        check_approved(Settings(allow_unattended_promotion=True), Approval(), "the promotion")


# guards.py check_approved: "Nothing was written." dropped; Asking.next_step's default emptied.
def test_without_a_person_the_refusal_says_nothing_was_written_and_to_use_a_client_that_can_ask():
    with pytest.raises(Refused) as caught:
        check_approved(Settings(), Approval(), "the promotion")
    assert caught.value.message == (
        f"The promotion cannot be undone, and no person can approve it here: {NO_PERSON.why_not}. Nothing was written."
    )
    assert caught.value.next_step.startswith(
        "ask the person to use an MCP client that supports elicitation, or to do it themselves in the Cloudflare"
    )


# guards.py Asking.sentence: the ": " between why no person can be asked and the rule dropped.
def test_a_preview_says_why_no_person_can_be_asked_then_the_unattended_rule_as_one_sentence():
    assert (
        NO_PERSON.sentence() == f"This MCP client cannot ask a person (it declares no form elicitation): {UNATTENDED}"
    )


# guards.py promotion_requirements: quoted(record.value, 2000) -> 2001.
def test_the_txt_value_in_an_unmet_requirement_is_bounded_to_2000_characters_after_its_hidden_characters_are_escaped():
    text = "x" * 1995 + "\u200b"  # 1996 characters, 2001 once the zero-width space is written as \u200b
    client = OAuthClient.model_validate(
        {
            "client_id": "c1",
            "visibility": "private",
            "client_name": "App",
            "logo_uri": "https://app.example.com/logo.png",
            "scopes": ["account.read"],
            "client_uri": "https://app.example.com/",
            "client_uri_verification": {"status": "pending", "text": text},
        }
    )
    [unmet] = promotion_requirements(client)
    # clipped before the escape (quoted() never cuts one in half); the 2001 mutant would show it whole
    assert f'with the value "{"x" * 1995}…" (the whole value' in unmet


def test_a_parsed_host_is_remembered_only_for_a_url_of_usual_length():
    from mcp_oauth_clients.oauth_client import _cached_host, uri_host

    _cached_host.cache_clear()
    assert uri_host("https://app.example.com/x") == uri_host("https://app.example.com/x") == "app.example.com"
    assert _cached_host.cache_info().hits == 1
    long = "https://" + "a" * 2100 + ".example.com/"
    assert uri_host(long) == "a" * 2100 + ".example.com"
    assert uri_host("https://[::1") is uri_host("https://[::1")  # unparseable, the same marker each time
    assert _cached_host.cache_info().currsize == 2  # the long one was not kept
