"""The scope catalogue: only a readable answer is cached, and only for ten minutes (issue 9, point 10)."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.guards import ScopeCatalogue
from tests.conftest import CLIENT, MemoryClient, settings_for
from tests.fake_cloudflare import TOKEN, Fault
from tests.stdio_client import fake_env

WRONG_SHAPES = [
    {"not": "a list"},
    [],
    [{"name": "no id"}],
    [{"id": "account.read"}, {"id": 7}],
    ["account.read"],
]


def envelope(result) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": result}


@pytest.mark.parametrize("result", WRONG_SHAPES, ids=[repr(r) for r in WRONG_SHAPES])
def test_a_catalogue_of_the_wrong_shape_is_not_cached_and_the_scopes_go_to_cloudflare(fake, result):
    fake.script(Fault(200, envelope(result), path_suffix="/oauth/scopes"))  # the first catalogue read only
    client = MemoryClient(fake_env(fake))
    try:
        first = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["account.read", "zone.read"]})
        second = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["account.raed"]})
    finally:
        client.close()
    error, _, data = first
    assert not error and any("Cloudflare will check them itself" in n for n in data["notes"])
    error, text, _ = second  # the catalogue was asked again, read this time, and used
    assert error and '"account.raed" is not a Cloudflare OAuth scope' in text
    assert [r.path for r in fake.requests].count("/client/v4/oauth/scopes") == 2


@pytest.mark.anyio
async def test_the_catalogue_is_read_again_after_ten_minutes_so_a_new_scope_works_without_a_restart():
    emulator = CloudflareEmulator(tokens={TOKEN})
    cloudflare = CloudflareClient(
        settings_for("https://api.cloudflare.com/client/v4"), transport=mock_transport(emulator)
    )
    now = [1000.0]
    catalogue = ScopeCatalogue(clock=lambda: now[0])
    assert "brand.new" not in await catalogue.ids(cloudflare)
    emulator.scopes.append({"id": "brand.new", "description": "added by Cloudflare"})
    now[0] += ScopeCatalogue.TTL - 1
    assert "brand.new" not in await catalogue.ids(cloudflare)  # still cached
    now[0] += 2
    assert "brand.new" in await catalogue.ids(cloudflare)
    assert [r.path for r in emulator.requests].count("/client/v4/oauth/scopes") == 2
