"""No repr shows a secret: a repr reaches logs, tracebacks and debuggers, which are not where a secret may go.

Each value here really holds the secret (asserted first, so the test cannot pass on an empty value), then its
repr, and the reprs of what holds it, must not show it. Several of these classes had their generated repr
dropped to save start-up time; a generated one would print every field, secrets included.
"""

from __future__ import annotations

import httpx
import pytest

from mcp_oauth_clients import envelope
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.secret_links import LinkDelivery, SecretLinks
from mcp_oauth_clients.write_path import Target, WriteAttempt

TOKEN = "cf-token-Zq9XkR2mW7vB4nT1-repr"
KEY = "cf-global-key-7f3e9a1c5b-repr"
EMAIL = "owner-repr@example.com"
HTTP_TOKEN = "http-bearer-Pq8LmN3vX6-repr"
STATE_KEY = "state-key-Hj4Ks9Wd2Qx7-repr"
ISSUED = "issued-client-secret-Vb5Rt8Yu1Io3-repr"
ACCOUNT = "a" * 32
CREATED = {"client_id": "c" * 32, "client_name": "App", "visibility": "private", "client_secret": ISSUED}


def _envelope(result: dict) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": result}


def _shows_none_of(value: object, *secrets: str) -> None:
    shown = repr(value)
    for secret in secrets:
        assert secret not in shown, f"{type(value).__name__}'s repr shows a secret: {shown}"


def test_an_envelope_answer_that_issued_a_secret_shows_neither_it_nor_the_configured_token_in_its_repr():
    request = httpx.Request("POST", f"https://api.example.test/accounts/{ACCOUNT}/oauth_clients")
    response = httpx.Response(200, json=_envelope(CREATED), headers={"cf-ray": "ray-1"}, request=request)
    answer = envelope.read(response, [TOKEN])
    assert answer.readable and answer.payload["result"]["client_secret"] == ISSUED
    assert TOKEN in answer.secrets and ISSUED in answer.secrets
    _shows_none_of(answer, TOKEN, ISSUED)


@pytest.mark.anyio
async def test_a_created_clients_api_result_holding_its_client_secret_does_not_show_it_in_its_repr():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_envelope(CREATED))

    settings = Settings(credentials=Credentials(api_token=TOKEN), base_url="https://api.example.test/client/v4")
    client = CloudflareClient(settings, transport=httpx.MockTransport(answer))
    try:
        result = await client.request("POST", f"/accounts/{ACCOUNT}/oauth_clients", json={}, retry=False)
    finally:
        await client.aclose()
    assert result.result["client_secret"] == ISSUED
    _shows_none_of(result, ISSUED, TOKEN)
    # and a write's record of it, which carries the answer until the secret is taken out
    attempt = WriteAttempt("a1", Target("create_oauth_client", ACCOUNT, None), "applied", answer=result)
    _shows_none_of(attempt, ISSUED, TOKEN)


def test_credentials_and_settings_holding_a_token_a_key_or_an_email_show_none_of_them_in_their_repr():
    by_token = Credentials(api_token=TOKEN)
    by_key = Credentials(api_key=KEY, email=EMAIL)
    assert by_token.secrets() == [TOKEN] and by_key.secrets() == [KEY, EMAIL]
    _shows_none_of(by_token, TOKEN)
    _shows_none_of(by_key, KEY, EMAIL)
    settings = Settings(
        credentials=by_token, account_id=ACCOUNT, http_token=HTTP_TOKEN, request_state_keys=(STATE_KEY,)
    )
    assert settings.http_token == HTTP_TOKEN and settings.request_state_keys == (STATE_KEY,)
    _shows_none_of(settings, TOKEN, HTTP_TOKEN, STATE_KEY)
    _shows_none_of(Settings(credentials=by_key), KEY, EMAIL)
    assert ACCOUNT in repr(settings)  # what is not secret is still shown, so the repr is still of use


def test_a_link_delivery_holding_a_filled_link_shows_neither_the_secret_nor_the_links_token_in_its_repr():
    links = SecretLinks()
    slot = links.offer()
    assert slot is not None
    reservation = links.claim(slot.elicitation_id)
    assert reservation is not None and reservation.write(ISSUED) is not None
    assert slot.secret == ISSUED
    delivery = LinkDelivery(reservation, "accepted")
    for value in (delivery, reservation, links):
        _shows_none_of(value, ISSUED, slot.token)
    assert repr(delivery) == "LinkDelivery(answer='accepted')"
