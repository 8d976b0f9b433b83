"""Tests written for mutants that survived scripts/mutation_test.py: each pins a behaviour no other test held.

Each test names what it proves; the mutant it was written for is said in a comment beside it.
"""

from __future__ import annotations

from mcp_oauth_clients.diff import stored_changes
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
