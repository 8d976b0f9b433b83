"""Every bad field at once, nulls among them (issue 9, point 11); what a null means on each tool (issue 17, point 7)."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
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


# OpenAI Agents' strict mode makes every optional field required and nullable, so it sends null for each one
# it was not asked to fill (issue 17, point 7): on the read tools that null means "not given".
STRICT_MODE_CALLS = {
    "get_oauth_client": {"account_id": None, "oauth_client_id": CLIENT},
    "check_verification_record": {"account_id": None, "oauth_client_id": CLIENT},
    "list_oauth_clients": {"account_id": None, "name": None, "visibility": None, "offset": None},
    "list_oauth_scopes": {"search": None, "offset": None},
}


async def call(fake, dns, tool: str, arguments: dict) -> tuple[bool, str]:
    settings = settings_for(fake.base_url, dns_server=("127.0.0.1", int(dns.address.rsplit(":", 1)[1])))
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool, arguments)
    return bool(result.is_error), result.content[0].text


@pytest.mark.anyio
@pytest.mark.parametrize("tool", sorted(STRICT_MODE_CALLS))
async def test_a_read_tool_takes_an_explicit_null_as_a_field_not_given(fake, dns, tool):
    error, text = await call(fake, dns, tool, STRICT_MODE_CALLS[tool])
    assert not error, text
    assert "null" not in text
    assert [r.method for r in fake.requests] and all(r.method == "GET" for r in fake.requests)
    if "account_id" in STRICT_MODE_CALLS[tool]:  # the null account is the configured default one
        assert all(f"/accounts/{ACCOUNT}/" in r.path for r in fake.requests)


@pytest.mark.anyio
async def test_a_read_tool_still_needs_its_required_client_id_when_it_comes_as_null(fake, dns):
    error, text = await call(fake, dns, "get_oauth_client", {"oauth_client_id": None})
    assert error and "- oauth_client_id: Field required" in text and "null is not accepted" not in text
    assert fake.requests == []


@pytest.mark.anyio
async def test_update_refuses_a_null_with_words_for_an_update_and_sends_nothing(fake, dns):
    error, text = await call(fake, dns, "update_oauth_client", {"account_id": None, "oauth_client_id": CLIENT})
    assert error and "- account_id: null is not accepted; omit the field to leave it unchanged" in text
    assert fake.requests == []
