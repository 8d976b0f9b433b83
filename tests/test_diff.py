"""Unit tests of diff.py: add/remove applied to stored lists, the field-by-field change, and the warnings."""

from __future__ import annotations

from mcp_oauth_clients.diff import apply_edits, changes, side_effects, stored_changes, warnings_for
from mcp_oauth_clients.oauth_client import OAuthClient

A, B, C = "https://a.example.com/cb", "https://b.example.com/cb", "https://c.example.com/cb"


def stored(**fields) -> OAuthClient:
    return OAuthClient.model_validate({"client_id": "c1", "visibility": "private", **fields})


# --- apply_edits ----------------------------------------------------------------------------------


def test_added_entries_go_after_the_stored_ones_and_removed_entries_leave():
    lists, notes = apply_edits(
        stored(redirect_uris=[A, B], scopes=["x.read"]),
        {"redirect_uris": [C]},
        {"redirect_uris": [A]},
    )
    assert lists == {"redirect_uris": [B, C]} and notes == []


def test_a_field_with_nothing_stored_starts_from_an_empty_list():
    lists, notes = apply_edits(stored(), {"scopes": ["x.read"]}, {"allowed_cors_origins": ["https://a.example.com"]})
    assert lists == {"allowed_cors_origins": [], "scopes": ["x.read"]}
    assert notes == ['allowed_cors_origins: "https://a.example.com" was not present; nothing to remove.']


def test_adding_a_present_entry_is_noted_and_it_is_not_added_twice():
    lists, notes = apply_edits(stored(redirect_uris=[A]), {"redirect_uris": [A]}, {})
    assert lists == {"redirect_uris": [A]}
    assert notes == [f'redirect_uris: "{A}" is already present; not added twice.']


def test_an_entry_both_added_and_removed_ends_up_absent():
    lists, notes = apply_edits(stored(redirect_uris=[A]), {"redirect_uris": [B]}, {"redirect_uris": [B]})
    assert lists == {"redirect_uris": [A]} and notes == []


# --- changes --------------------------------------------------------------------------------------


def test_only_fields_that_differ_from_what_is_stored_are_changes():
    diff = changes(stored(client_name="App", redirect_uris=[A]), {"client_name": "App", "redirect_uris": [A, B]})
    assert [(c.field, c.before, c.after, c.added, c.removed) for c in diff] == [("redirect_uris", [A], [A, B], [B], [])]


def test_every_change_holds_the_stored_value_as_its_before():
    [change] = changes(stored(client_name="Old"), {"client_name": "New"})
    assert (change.before, change.after, change.reason) == ("Old", "New", None)


def test_a_list_change_names_what_appears_and_what_goes():
    [change] = changes(stored(scopes=["x.read", "y.read"]), {"scopes": ["y.read", "z.read"]})
    assert (change.added, change.removed) == (["z.read"], ["x.read"])


def test_a_list_with_nothing_stored_reports_every_entry_as_added():
    [change] = changes(stored(), {"scopes": ["x.read"]})
    assert (change.before, change.added, change.removed) == (None, ["x.read"], [])


# --- stored_changes: what an applied write changed, as Cloudflare stored it ------------------------------


def test_an_applied_change_shows_the_stored_value_and_no_reason_when_it_is_what_was_sent():
    before, after = stored(client_name="Old"), stored(client_name="New")
    [change] = stored_changes(before, after, {"client_name": "New"}, [])
    assert (change.field, change.before, change.after, change.reason) == ("client_name", "Old", "New", None)


def test_dropping_refresh_token_shows_offline_access_gone_from_scopes_with_cloudflares_side_effect_as_reason():
    before = stored(grant_types=["authorization_code", "refresh_token"], scopes=["account.read", "offline_access"])
    body = {"grant_types": ["authorization_code"]}
    after = stored(grant_types=["authorization_code"], scopes=["account.read"])
    effects = side_effects(before, body)
    grants, scopes = stored_changes(before, after, body, effects)
    assert (grants.field, grants.reason) == ("grant_types", None)
    assert (scopes.field, scopes.before, scopes.after, scopes.removed) == (
        "scopes",
        ["account.read", "offline_access"],
        ["account.read"],
        ["offline_access"],
    )
    assert scopes.reason == "Cloudflare drops offline_access from scopes (refresh_token is not in grant_types)."


def test_a_stored_value_other_than_the_one_sent_says_cloudflare_stored_it_so():
    [change] = stored_changes(
        stored(tos_uri=None), stored(tos_uri="https://x.example/T"), {"tos_uri": "https://x.example/t"}, []
    )
    assert change.after == "https://x.example/T" and change.reason == "Cloudflare stored this value, not the one sent."


def test_a_field_sent_unchanged_is_no_change():
    assert stored_changes(stored(client_name="Same"), stored(client_name="Same"), {"client_name": "Same"}, []) == []


# --- warnings -------------------------------------------------------------------------------------


def warnings(before: OAuthClient | None, body: dict) -> list[str]:
    return warnings_for(before, body, changes(before, body))


def test_removing_the_last_redirect_uri_warns_that_nobody_can_sign_in():
    [warning] = warnings(stored(redirect_uris=[A]), {"redirect_uris": []})
    assert "removes the last redirect URI" in warning and "no user can complete sign-in" in warning


def test_an_empty_redirect_list_sent_without_a_read_warns_that_nobody_can_sign_in():
    [warning] = warnings(None, {"redirect_uris": []})
    assert "removes the last redirect URI" in warning


def test_an_empty_redirect_list_where_none_was_stored_gives_no_warning():
    assert warnings(stored(), {"redirect_uris": []}) == []


def test_removing_some_redirect_uris_names_them():
    [warning] = warnings(stored(redirect_uris=[A, B]), {"redirect_uris": [B]})
    assert f'Redirect URIs removed: "{A}".' in warning and "will fail to sign in" in warning


def test_adding_a_redirect_uri_gives_no_warning():
    assert warnings(stored(redirect_uris=[A]), {"redirect_uris": [A, B]}) == []


def test_a_client_uri_host_change_on_an_unverified_host_says_the_new_host_needs_its_own_txt_record():
    before = stored(client_uri="https://old.example.com/", client_uri_verification={"status": "pending"})
    [warning] = warnings(before, {"client_uri": "https://new.example.com/"})
    assert 'from "old.example.com" to "new.example.com"' in warning
    assert "the new host needs its own DNS TXT verification" in warning


def test_a_client_uri_host_change_on_a_verified_host_says_cloudflare_does_not_allow_it():
    before = stored(client_uri="https://old.example.com/", client_uri_verification={"status": "verified"})
    [warning] = warnings(before, {"client_uri": "https://new.example.com/"})
    assert 'from "old.example.com" to "new.example.com"' in warning
    assert "Cloudflare does not let a verified host change" in warning


def test_a_client_uri_host_change_without_a_verification_record_says_the_new_host_needs_verification():
    [warning] = warnings(stored(client_uri="https://old.example.com/"), {"client_uri": "https://new.example.com/"})
    assert "needs its own DNS TXT verification" in warning


def test_a_client_uri_change_on_the_same_host_gives_no_warning():
    before = stored(client_uri="https://app.example.com/a", client_uri_verification={"status": "verified"})
    assert warnings(before, {"client_uri": "https://app.example.com/b"}) == []


def test_a_first_client_uri_or_one_sent_without_a_read_gives_no_host_change_warning():
    assert warnings(stored(), {"client_uri": "https://new.example.com/"}) == []
    assert warnings(None, {"client_uri": "https://new.example.com/"}) == []


def test_promotion_to_public_warns_that_it_cannot_be_undone():
    [warning] = warnings(stored(), {"visibility": "public"})
    assert "cannot be undone" in warning and "returning a client to private" in warning


# --- what Cloudflare changes on its own -------------------------------------------------------------


def test_adding_refresh_token_says_cloudflare_adds_offline_access():
    before = stored(grant_types=["authorization_code"], scopes=["account.read"])
    assert side_effects(before, {"grant_types": ["authorization_code", "refresh_token"]}) == [
        "Cloudflare adds offline_access to scopes (refresh_token is in grant_types)."
    ]


def test_dropping_refresh_token_says_cloudflare_drops_offline_access():
    before = stored(grant_types=["authorization_code", "refresh_token"], scopes=["offline_access", "account.read"])
    assert side_effects(before, {"grant_types": ["authorization_code"]}) == [
        "Cloudflare drops offline_access from scopes (refresh_token is not in grant_types)."
    ]


def test_scopes_sent_without_openid_while_id_token_is_stored_say_cloudflare_adds_openid():
    before = stored(response_types=["code", "id_token"], scopes=["openid"])
    assert side_effects(before, {"scopes": ["account.read"]}) == [
        "Cloudflare adds openid to scopes (id_token is in response_types)."
    ]


def test_scopes_that_already_follow_the_other_lists_have_no_side_effect():
    before = stored(grant_types=["authorization_code", "refresh_token"], response_types=["code"])
    assert side_effects(before, {"scopes": ["offline_access", "account.read"]}) == []


def test_a_change_to_neither_list_nor_scopes_has_no_side_effect():
    before = stored(grant_types=["authorization_code", "refresh_token"], scopes=[])
    assert side_effects(before, {"client_name": "App"}) == []


def test_without_a_read_only_what_was_sent_is_judged():
    assert side_effects(None, {"scopes": ["account.read"]}) == []
    assert side_effects(None, {"response_types": ["id_token"]}) == [
        "Cloudflare adds openid to scopes (id_token is in response_types)."
    ]
