"""Unit tests of the Cloudflare client through `httpx.MockTransport`: requests, retries, envelope, errors."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest

from mcp_oauth_clients import __version__
from mcp_oauth_clients.cloudflare_client import CloudflareClient, retry_after_seconds
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.errors import (
    CloudflareAPIError,
    NotConfigured,
    RateLimited,
    TransportFailure,
    UnknownOutcome,
)
from tests.conftest import ACCOUNT, CLIENT

pytestmark = pytest.mark.anyio
BASE = "https://api.example.test/client/v4"
CLIENT_JSON = {"client_id": CLIENT, "visibility": "private", "client_name": "App"}


def ok(result=CLIENT_JSON, status=200, **headers):
    return httpx.Response(
        status, json={"success": True, "errors": [], "messages": [], "result": result}, headers=headers
    )


def fail(status, *errors, **headers):
    return httpx.Response(
        status, json={"success": False, "errors": list(errors), "messages": [], "result": None}, headers=headers
    )


class Script:
    """A MockTransport handler that answers from a list and records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(script: Script, credentials=None, **settings):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    config = Settings(credentials=credentials or Credentials(api_token="tok-secret-123"), base_url=BASE, **settings)
    client = CloudflareClient(config, transport=httpx.MockTransport(script), sleep=sleep, jitter=lambda: 0.0)
    return client, waits


async def test_patch_goes_to_the_documented_path_with_headers_and_exact_body():
    script = Script(ok())
    client, _ = make(script)
    await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "App"})
    [request] = script.requests
    assert request.method == "PATCH"
    assert str(request.url) == f"{BASE}/accounts/{ACCOUNT}/oauth_clients/{CLIENT}"
    assert request.headers["authorization"] == "Bearer tok-secret-123"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith(f"mcp-oauth-clients/{__version__}")
    assert json.loads(request.content) == {"client_name": "App"}


async def test_key_and_email_auth_uses_legacy_headers():
    script = Script(ok())
    client, _ = make(script, Credentials(api_key="key-secret", email="me@example.com"))
    await client.get_oauth_client(ACCOUNT, CLIENT)
    headers = script.requests[0].headers
    assert headers["x-auth-key"] == "key-secret" and headers["x-auth-email"] == "me@example.com"
    assert "authorization" not in headers


async def test_missing_credentials_send_nothing():
    script = Script(ok())
    client, _ = make(script, Credentials())
    with pytest.raises(NotConfigured, match="CLOUDFLARE_API_TOKEN"):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert script.requests == []


async def test_authentication_error_10000_names_the_permissions():
    client, _ = make(Script(fail(403, {"code": 10000, "message": "Authentication error"})))
    with pytest.raises(CloudflareAPIError) as caught:
        await client.get_oauth_client(ACCOUNT, CLIENT)
    text = str(caught.value)
    assert '[10000] "Authentication error"' in text
    assert '"OAuth Client Read" and "OAuth Client Write"' in text
    assert caught.value.codes == [10000]


async def test_not_found_says_to_check_the_ids():
    client, _ = make(Script(fail(404, {"code": 7003, "message": "Could not route"})))
    with pytest.raises(CloudflareAPIError, match="check account_id and oauth_client_id"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_field_pointer_and_documentation_url_are_reported():
    error = {
        "code": 1007,
        "message": "Unknown scope",
        "source": {"pointer": "/scopes/0"},
        "documentation_url": "https://developers.cloudflare.com/x",
    }
    client, _ = make(Script(fail(400, error)))
    with pytest.raises(CloudflareAPIError) as caught:
        await client.update_oauth_client(ACCOUNT, CLIENT, {"scopes": ["zz.top"]})
    text = str(caught.value)
    assert '[1007] "Unknown scope" (field: scopes[0])' in text
    assert 'docs: "https://developers.cloudflare.com/x"' in text


async def test_success_false_on_200_is_an_error():
    client, _ = make(Script(fail(200, {"code": 1000, "message": "nope"})))
    with pytest.raises(CloudflareAPIError, match=r"\[1000\] \"nope\""):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


async def test_429_with_short_retry_after_is_waited_out_and_retried():
    script = Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "1"}), ok())
    client, waits = make(script)
    result = await client.get_oauth_client(ACCOUNT, CLIENT)
    assert result.result["client_id"] == CLIENT
    assert waits == [1.0] and len(script.requests) == 2


async def test_429_with_long_retry_after_answers_at_once_saying_when():
    script = Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "300"}))
    client, waits = make(script)
    with pytest.raises(RateLimited) as caught:
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert waits == [] and len(script.requests) == 1
    assert caught.value.retry_after == 300
    assert "wait until" in str(caught.value) and "Nothing was written" in str(caught.value)


async def test_retry_after_as_http_date_is_honoured():
    when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
    script = Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": when}), ok())
    client, waits = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(waits) == 1 and 0 < waits[0] <= 2.0


def test_retry_after_parsing():
    assert retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


async def test_html_503_is_retried_then_succeeds():
    html = httpx.Response(
        503, text="<html><body><h1>503 Service Unavailable</h1></body></html>", headers={"content-type": "text/html"}
    )
    script = Script(html, ok())
    client, waits = make(script)
    await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert len(script.requests) == 2 and waits == [0.5]


async def test_html_502_page_becomes_an_error_quoting_status_and_excerpt():
    html = httpx.Response(
        502,
        text="<html><head><style>x{}</style></head><body><h1>502 Bad Gateway</h1></body></html>",
        headers={"content-type": "text/html"},
    )
    client, _ = make(Script(html))
    with pytest.raises(CloudflareAPIError) as caught:
        await client.get_oauth_client(ACCOUNT, CLIENT)
    text = str(caught.value)
    assert "HTTP 502" in text and "502 Bad Gateway" in text and "<h1>" not in text


async def test_persistent_500_gives_up_within_the_retry_budget():
    script = Script(fail(500, {"code": 1000, "message": "internal"}))
    client, waits = make(script)
    with pytest.raises(CloudflareAPIError, match="HTTP 500"):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(script.requests) == 3  # 1 + 2 retries
    assert waits == [0.5, 1.0]  # exponential backoff, jitter pinned to 0


async def test_backoff_jitter_takes_off_at_most_a_quarter():
    script = Script(fail(500, {"code": 1000, "message": "internal"}))
    client, waits = make(script)
    client._jitter = lambda: 1.0
    with pytest.raises(CloudflareAPIError):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [0.375, 0.75]


async def test_x_should_retry_false_overrides_a_retryable_status():
    script = Script(fail(503, {"code": 1000, "message": "x"}, **{"x-should-retry": "false"}))
    client, _ = make(script)
    with pytest.raises(CloudflareAPIError):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(script.requests) == 1


async def test_4xx_is_not_retried():
    script = Script(fail(400, {"code": 1002, "message": "bad"}))
    client, _ = make(script)
    with pytest.raises(CloudflareAPIError):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert len(script.requests) == 1


async def test_garbage_200_on_a_write_is_an_unknown_outcome():
    client, _ = make(Script(httpx.Response(200, text="<<garbage>>")))
    with pytest.raises(UnknownOutcome, match="HTTP 200"):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


async def test_garbage_200_on_a_read_is_an_error():
    client, _ = make(Script(httpx.Response(200, text="not json")))
    with pytest.raises(CloudflareAPIError, match="not a Cloudflare API envelope"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


@pytest.mark.parametrize("payload", [[], "x", {"result": {}}, {"success": True, "result": None}, 42])
async def test_malformed_envelopes_never_crash(payload):
    client, _ = make(Script(httpx.Response(200, json=payload)))
    with pytest.raises(CloudflareAPIError):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_connection_refused_is_retried_then_reported_as_nothing_written():
    script = Script(httpx.ConnectError("refused"))
    client, waits = make(script)
    with pytest.raises(TransportFailure, match="Nothing was written"):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert len(script.requests) == 3


async def test_read_timeout_on_a_write_is_an_unknown_outcome():
    script = Script(httpx.ReadTimeout("slow"))
    client, _ = make(script)
    with pytest.raises(UnknownOutcome, match="may or may not have been applied"):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


async def test_read_timeout_then_success_is_success():
    script = Script(httpx.ReadTimeout("slow"), ok())
    client, _ = make(script)
    result = await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert result.attempts == 2


async def test_read_timeout_on_a_read_is_a_transport_failure():
    client, _ = make(Script(httpx.ReadTimeout("slow")))
    with pytest.raises(TransportFailure):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_redirect_is_not_followed():
    script = Script(httpx.Response(302, headers={"location": "https://evil.example/steal"}))
    client, _ = make(script)
    with pytest.raises(CloudflareAPIError, match="HTTP 302"):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(script.requests) == 1


async def test_cf_ray_is_kept_as_request_id():
    client, _ = make(Script(ok(**{"cf-ray": "8f00abc-LHR"})))
    assert (await client.get_oauth_client(ACCOUNT, CLIENT)).request_id == "8f00abc-LHR"


async def test_no_secret_in_any_error_text():
    answers = [
        fail(403, {"code": 10000, "message": "Authentication error"}),
        httpx.Response(502, text="<h1>x</h1>"),
        httpx.ConnectError("x"),
        httpx.ReadTimeout("x"),
    ]
    for answer in answers:
        client, _ = make(Script(answer), Credentials(api_token="tok-secret-123"))
        with pytest.raises(Exception) as caught:
            await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
        assert "tok-secret-123" not in str(caught.value)
