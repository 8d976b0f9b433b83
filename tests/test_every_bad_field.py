"""Every bad field at once, nulls among them, over stdio against the loopback fake (issue 9, point 11)."""

from __future__ import annotations

from tests.conftest import ACCOUNT, CLIENT
from tests.stdio_client import RawClient, fake_env


def test_one_refusal_names_every_bad_field_nulls_and_unknown_names_among_them_over_stdio(fake):
    arguments = {
        "oauth_client_id": CLIENT,
        "client_name": None,
        "redirect_uris": ["http://x"],
        "grant_types": [],
        "logo_uri": None,
        "redirect_uri": ["https://a.example.com/cb"],
    }
    client = RawClient(fake_env(fake))
    try:
        client.initialize()
        error, text, _ = client.text("update_oauth_client", arguments)
    finally:
        client.close()
    assert error
    for line in (
        "- client_name: null is not accepted",
        "- logo_uri: null is not accepted",
        "- redirect_uris[0]: plain http",
        "- grant_types: must not be empty",
        "- redirect_uri: unknown argument; did you mean 'redirect_uris'?",
    ):
        assert line in text, text
    assert "nothing to change" not in text and fake.requests == []


def test_get_explains_a_null_account_id_as_update_does_over_stdio(fake):
    client = RawClient(fake_env(fake))
    try:
        client.initialize()
        answers = [
            client.text(tool, {"account_id": None, "oauth_client_id": CLIENT, **extra})
            for tool, extra in (("get_oauth_client", {}), ("update_oauth_client", {"client_name": "x"}))
        ]
    finally:
        client.close()
    (get_error, get_text, _), (update_error, update_text, _) = answers
    null_line = "- account_id: null is not accepted; omit the field"
    assert get_error and update_error and null_line in get_text and null_line in update_text
    assert "valid string" not in get_text and fake.requests == []
    assert ACCOUNT not in get_text  # the configured default is not used silently in place of an explicit null
