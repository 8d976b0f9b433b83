"""Unit tests of the Cloudflare client through `httpx.MockTransport`: requests, retries, envelope, errors."""

from __future__ import annotations

import email.utils
import json
import re
import time
from pathlib import Path

import anyio
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
    UnreadableAnswer,
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


async def test_a_cookie_an_answer_sets_is_never_sent_back():
    script = Script(ok(**{"set-cookie": "__cf_bm=tracked; Path=/; Domain=api.example.test"}), ok())
    client, _ = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert "cookie" not in script.requests[1].headers


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
    with pytest.raises(NotConfigured, match="CLOUDFLARE_API_TOKEN") as caught:
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
    assert script.requests == []
    assert "a person must add the token" in caught.value.next_step and "--sandbox" in caught.value.next_step


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


async def test_garbage_200_on_a_read_is_an_unreadable_answer_not_a_refusal():
    client, _ = make(Script(httpx.Response(200, text="not json", headers={"cf-ray": "r-7"})))
    with pytest.raises(UnreadableAnswer) as caught:
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert caught.value.request_id == "r-7"
    assert caught.value.message == (
        'Cloudflare answered HTTP 200 but the answer could not be read (text/plain body: "not json").'
    )
    assert "refused" not in str(caught.value) and "problem with" not in str(caught.value)


@pytest.mark.parametrize("payload", [[], "x", {"result": {}}, {"success": True, "result": None}, 42])
async def test_malformed_envelopes_never_crash(payload):
    client, _ = make(Script(httpx.Response(200, json=payload)))
    with pytest.raises(UnreadableAnswer):
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


# --- issue 12: retries, the outcome of a write, and the advice each error gives ----------------------


async def failure_of(script: Script, write: bool = False, **settings) -> Exception:
    client, _ = make(script, **settings)
    with pytest.raises(Exception) as caught:
        if write:
            await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
        else:
            await client.get_oauth_client(ACCOUNT, CLIENT)
    return caught.value


@pytest.mark.parametrize("status", [408, 409, 500, 504, 599])
async def test_408_409_and_every_5xx_are_retried_after_a_backoff(status):
    script = Script(fail(status, {"code": 1000, "message": "x"}), ok())
    client, waits = make(script)
    assert (await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})).attempts == 2
    assert waits == [0.5]


@pytest.mark.parametrize("status", [400, 404, 499, 600])
async def test_other_statuses_are_answered_at_once(status):
    script = Script(fail(status, {"code": 1000, "message": "x"}))
    await failure_of(script)
    assert len(script.requests) == 1


async def test_the_scope_catalogue_is_asked_for_once_even_on_a_retryable_answer():
    script = Script(fail(503, {"code": 1000, "message": "x"}), ok([]))
    client, waits = make(script)
    with pytest.raises(CloudflareAPIError):
        await client.list_scopes()
    assert len(script.requests) == 1 and waits == []
    [request] = script.requests
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/oauth/scopes")


async def test_an_update_sent_without_retry_is_sent_once():
    script = Script(httpx.ReadTimeout("slow"), ok())
    client, waits = make(script)
    with pytest.raises(UnknownOutcome):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"}, retry=False)
    assert len(script.requests) == 1 and waits == []


async def test_backoff_doubles_and_is_capped_at_eight_seconds():
    script = Script(fail(500, {"code": 1000, "message": "x"}))
    client, waits = make(script, retry_backoff=3.0, max_retries=3)
    with pytest.raises(CloudflareAPIError):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [3.0, 6.0, 8.0] and len(script.requests) == 4


async def test_retry_after_zero_falls_back_to_the_backoff():
    script = Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "0"}), ok())
    client, waits = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [0.5]


async def test_a_retry_after_of_exactly_the_longest_wait_is_waited_out():
    script = Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "5"}), ok())
    client, waits = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [5.0]


async def test_a_long_retry_after_on_an_answer_that_is_not_retried_is_reported_as_the_answer():
    script = Script(fail(400, {"code": 1002, "message": "bad"}, **{"retry-after": "300"}))
    error = await failure_of(script)
    assert type(error) is CloudflareAPIError and '[1002] "bad"' in str(error)


async def test_x_should_retry_true_retries_an_answer_that_is_otherwise_final():
    script = Script(fail(400, {"code": 1002, "message": "bad"}, **{"x-should-retry": "TRUE"}), ok())
    client, waits = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(script.requests) == 2 and waits == [0.5]


async def test_connection_failures_are_retried_after_growing_waits_and_name_the_failure():
    script = Script(httpx.ConnectError("refused"))
    client, waits = make(script)
    with pytest.raises(TransportFailure) as caught:
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [0.5, 1.0]
    text = str(caught.value)
    assert f"Could not reach Cloudflare at {BASE} after 3 attempts (connection failed)" in text
    assert "Next step:" in text and "HTTPS_PROXY" in text


async def test_a_read_timeout_is_retried_after_growing_waits():
    script = Script(httpx.ReadTimeout("slow"))
    client, waits = make(script)
    with pytest.raises(TransportFailure, match="no answer within the timeout"):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert waits == [0.5, 1.0] and len(script.requests) == 3


async def test_a_write_whose_answer_is_lost_says_which_attempt_was_sent_and_how_the_last_ended():
    error = await failure_of(Script(httpx.ReadTimeout("slow"), httpx.ConnectError("x")), write=True)
    assert type(error) is UnknownOutcome and error.cause is None
    assert error.detail == (
        "Attempt 1 got no answer (no answer within the timeout); "
        "attempt 3, the last, got no answer (connection failed)."
    )


async def test_a_single_attempt_whose_answer_is_lost_names_it_once():
    error = await failure_of(Script(httpx.ReadTimeout("slow")), write=True, max_retries=0)
    assert error.detail == "Attempt 1 got no answer (no answer within the timeout)."


async def test_a_connection_that_never_opened_on_a_write_says_nothing_was_written():
    error = await failure_of(Script(httpx.ConnectTimeout("slow")), write=True)
    assert type(error) is TransportFailure and "(connection timed out). Nothing was written." in str(error)


async def test_a_long_retry_after_after_a_lost_write_answer_is_an_unknown_outcome():
    script = Script(httpx.ReadTimeout("slow"), fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "300"}))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and type(error.cause) is RateLimited
    assert error.detail == "Attempt 1 got no answer (no answer within the timeout); attempt 2, the last, was answered:"


async def test_an_error_answer_after_a_lost_write_answer_is_an_unknown_outcome():
    script = Script(httpx.ReadTimeout("slow"), fail(400, {"code": 1002, "message": "bad"}))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and type(error.cause) is CloudflareAPIError and error.cause.codes == [1002]
    assert '[1002] "bad"' in str(error)


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_answer_to_a_write_is_an_unknown_outcome(status):
    error = await failure_of(Script(fail(status, {"code": 1000, "message": "x"})), write=True)
    assert type(error) is UnknownOutcome and "Cloudflare answered with a server error" in str(error)


@pytest.mark.parametrize("status", [200, 400, 499])
async def test_a_refusal_answer_to_a_write_is_the_cloudflare_error(status):
    error = await failure_of(Script(fail(status, {"code": 1000, "message": "nope"})), write=True)
    assert type(error) is CloudflareAPIError


async def test_an_other_http_failure_says_nothing_was_written():
    error = await failure_of(Script(httpx.UnsupportedProtocol("odd")), write=True)
    assert type(error) is TransportFailure
    assert (error.problem, error.attempts) == ("UnsupportedProtocol", 1)
    assert str(error).splitlines()[0] == "The request to Cloudflare failed: UnsupportedProtocol. Nothing was written."


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (httpx.PoolTimeout("x"), "no free connection"),
        (httpx.WriteTimeout("x"), "sending timed out"),
        (httpx.RemoteProtocolError("x"), "the connection closed mid-answer"),
        (httpx.ReadError("x"), "the connection broke while reading"),
        (httpx.WriteError("x"), "the connection broke while sending"),
    ],
)
async def test_each_transport_failure_is_named_in_words(failure, words):
    assert f"({words})" in str(await failure_of(Script(failure)))


async def test_the_cloudflare_request_id_appears_in_the_error():
    error = await failure_of(Script(fail(400, {"code": 1002, "message": "bad"}, **{"cf-ray": "8f00abc-LHR"})))
    assert "Cloudflare request id: 8f00abc-LHR" in str(error)


async def test_a_too_long_wait_keeps_the_request_id_and_the_errors_and_says_when_to_call_again():
    answer = fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "300", "cf-ray": "r-1"})
    error = await failure_of(Script(answer))
    assert type(error) is RateLimited and error.request_id == "r-1" and error.codes == [971]
    assert error.status == 429 and "wait 300 s" in str(error) and "1,200 requests per 5 minutes" in str(error)


PERMISSIONS = '"OAuth Client Read" and "OAuth Client Write"'
CHECK_IDS = "check account_id and oauth_client_id"


@pytest.mark.parametrize(
    ("status", "code", "advice"),
    [
        (401, 1, PERMISSIONS),
        (403, 1, PERMISSIONS),
        (400, 10000, PERMISSIONS),
        (400, 9106, PERMISSIONS),
        (400, 6003, PERMISSIONS),
        (400, 6102, PERMISSIONS),
        (400, 6103, PERMISSIONS),
        (400, 6111, PERMISSIONS),
        (400, 9109, "refused from this location (IP filter)"),
        (404, 1, CHECK_IDS),
        (400, 7003, CHECK_IDS),
        (400, 7000, CHECK_IDS),
        (429, 971, "wait a few minutes"),
        (500, 1, "Cloudflare had a problem; try again in a minute"),
        (599, 1, "Cloudflare had a problem; try again in a minute"),
        (400, 1002, "read the messages above, correct the request"),
        (499, 1002, "read the messages above, correct the request"),
    ],
)
async def test_each_status_and_code_gets_its_next_step(status, code, advice):
    error = await failure_of(Script(fail(status, {"code": code, "message": "m"})), max_retries=0)
    assert error.next_step.startswith(advice) or advice in error.next_step


async def test_a_403_without_codes_is_about_permissions_not_the_ip_filter():
    error = await failure_of(Script(fail(403)))
    assert "IP filter" not in error.next_step and PERMISSIONS in error.next_step


async def test_an_error_naming_a_field_says_to_correct_that_field():
    error = await failure_of(Script(fail(400, {"code": 1002, "message": "m", "source": {"pointer": "/scopes/0"}})))
    assert error.next_step.startswith("correct the field(s) named above and call again")


async def test_malformed_error_entries_are_skipped_or_kept_without_their_bad_parts():
    entries = [
        "not an object",
        {"code": True, "message": "flag", "source": {"pointer": 7}, "documentation_url": ""},
        {"code": 1002, "message": "x" * 400, "source": "nope"},
        {"code": 1003, "message": "y" * 300},
        {"code": 1004},
    ]
    error = await failure_of(Script(fail(400, *entries)))
    flag, long, exact, bare = error.errors
    assert exact.message == "y" * 300 and bare.message == ""
    assert (flag.code, flag.message, flag.pointer, flag.documentation_url) == (None, "flag", None, None)
    assert (long.code, long.pointer, len(long.message)) == (1002, None, 300) and long.message.endswith("…")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([1, 2], "JSON list instead of an object"),
        ({"result": {}}, "JSON object without the success/errors/result envelope"),
        ({"success": True, "result": None}, "success without a result object"),
        ({"success": True, "result": "x"}, "success without a result object"),
    ],
)
async def test_a_malformed_success_envelope_is_described(payload, problem):
    error = await failure_of(Script(httpx.Response(200, json=payload)))
    assert error.message == f"Cloudflare answered HTTP 200 but the answer could not be read ({problem})."


async def test_an_error_status_whose_body_is_not_an_envelope_is_the_error_saying_its_body_could_not_be_read():
    error = await failure_of(Script(httpx.Response(400, json=[1])))
    assert type(error) is CloudflareAPIError
    assert error.summary == "The answer could not be read (JSON list instead of an object)."


async def test_a_success_envelope_on_an_error_status_is_not_called_a_success():
    answer = httpx.Response(500, json={"success": True, "errors": [], "result": None})
    error = await failure_of(Script(answer), max_retries=0)
    assert error.summary == "" and "reported success" not in str(error)


async def test_a_write_answered_with_success_but_no_result_is_an_unknown_outcome_saying_so():
    error = await failure_of(Script(httpx.Response(200, json={"success": True, "result": None})), write=True)
    assert type(error) is UnknownOutcome and type(error.cause) is UnreadableAnswer
    assert error.cause.message == (
        "Cloudflare answered HTTP 200 but the answer could not be read (success without a result object)."
    )


async def test_a_non_json_error_page_quotes_its_type_and_a_clipped_text_excerpt():
    page = "<html><script>var x = 1;</script><body>" + "word " * 100 + "</body></html>"
    answer = httpx.Response(400, text=page, headers={"content-type": "text/html; charset=utf-8"})
    text = str(await failure_of(Script(answer)))
    assert 'The answer could not be read (text/html body: "word word' in text and "var x" not in text
    excerpt = text.split('body: "', 1)[1].split('"', 1)[0]
    assert len(excerpt) == 160 and excerpt.endswith("…")


async def test_tags_in_an_error_page_separate_its_words():
    answer = httpx.Response(400, text="<p>Bad</p><p>Gateway</p>", headers={"content-type": "text/html"})
    assert 'body: "Bad Gateway"' in str(await failure_of(Script(answer)))


async def test_a_read_goes_to_the_documented_path():
    script = Script(ok())
    client, _ = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    [request] = script.requests
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/accounts/{ACCOUNT}/oauth_clients/{CLIENT}")


async def test_a_body_without_a_content_type_says_so():
    assert "unknown type body" in str(await failure_of(Script(httpx.Response(400, content=b"oops"))))


def test_retry_after_values_are_read_in_order_and_never_negative():
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "soon", "retry-after": "9"})) == 9
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "-5"})) == 0.0
    assert retry_after_seconds(httpx.Headers({"retry-after": "-5"})) == 0.0
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": past})) == 0.0
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 < retry_after_seconds(httpx.Headers({"retry-after": later})) <= 60


async def test_requests_ask_for_json_and_use_the_configured_timeouts():
    script = Script(ok())
    client, _ = make(script, timeout=7.0, connect_timeout=3.0)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert script.requests[0].headers["accept"] == "application/json"
    timeout = script.requests[0].extensions["timeout"]
    assert (timeout["read"], timeout["connect"]) == (7.0, 3.0)


async def test_a_sandbox_without_credentials_still_sends():
    script = Script(ok())
    client, _ = make(script, Credentials(), sandbox=True)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    assert len(script.requests) == 1


async def test_a_proxy_from_the_environment_carries_the_requests_as_the_readme_promises(monkeypatch, fake):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: the request must fail
    waits = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    settings = Settings(credentials=Credentials(api_token="tok"), base_url=fake.base_url)
    client = CloudflareClient(settings, sleep=sleep)  # the real transport, as in production
    with pytest.raises(TransportFailure, match="connection failed"):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    await client.aclose()
    assert fake.requests == []


async def test_a_head_request_is_a_read_so_a_lost_answer_means_nothing_was_written():
    client, _ = make(Script(httpx.ReadTimeout("slow")))
    with pytest.raises(TransportFailure):
        await client.request("HEAD", f"/accounts/{ACCOUNT}/oauth_clients/{CLIENT}")


async def test_a_too_long_wait_names_the_time_of_day_to_call_again():
    error = await failure_of(Script(fail(429, {"code": 971, "message": "rate"}, **{"retry-after": "300"})))
    expected = time.time() + 300
    found = re.search(r"wait until (\d\d):(\d\d):(\d\d) UTC before calling again", str(error))
    hours, minutes, seconds = (int(part) for part in found.groups())
    said = hours * 3600 + minutes * 60 + seconds
    offset = (said - expected) % 86400  # seconds of the day: midnight may fall in between
    assert min(offset, 86400 - offset) <= 5  # five minutes from now


async def test_closing_before_any_request_is_harmless_and_closing_after_one_closes_the_connections():
    client, _ = make(Script(ok()))
    await client.aclose()
    await client.get_oauth_client(ACCOUNT, CLIENT)
    http = client._http
    await client.aclose()
    assert http.is_closed


async def test_listing_clients_reads_the_account_collection_and_keeps_its_counts():
    info = {"count": 1, "page": 1, "per_page": 20, "total_count": 1}
    answer = httpx.Response(
        200, json={"success": True, "errors": [], "messages": [], "result": [CLIENT_JSON], "result_info": info}
    )
    script = Script(answer)
    client, _ = make(script)
    result = await client.list_oauth_clients(ACCOUNT)
    [request] = script.requests
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/accounts/{ACCOUNT}/oauth_clients")
    assert result.result == [CLIENT_JSON] and result.result_info == info


async def test_a_token_echoed_in_an_error_page_is_redacted_from_the_excerpt():
    answer = httpx.Response(400, text="<p>bad token tok-secret-123</p>", headers={"content-type": "text/html"})
    text = str(await failure_of(Script(answer)))
    assert "tok-secret-123" not in text and "bad token" in text


async def test_a_token_echoed_in_the_content_type_is_redacted_too():
    answer = httpx.Response(400, content=b"x", headers={"content-type": "tok-secret-123/html"})
    text = str(await failure_of(Script(answer)))
    assert "tok-secret-123" not in text and "/html body" in text


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ({"retry-after": "86399"}, 86399),
        ({"retry-after": "86400"}, 86400),
        ({"retry-after": "86401"}, 86400),
        ({"retry-after": "nan"}, 86400),
        ({"retry-after-ms": "90000000"}, 86400),
    ],
)
def test_a_retry_after_longer_than_a_day_or_unreadable_as_a_number_is_read_as_one_day(header, wait):
    assert retry_after_seconds(httpx.Headers(header)) == wait


def answer_of_size(size: int) -> bytes:
    """A readable client answer padded inside a string to exactly `size` bytes, so a cut leaves it unreadable."""
    envelope = {"success": True, "errors": [], "messages": [], "result": CLIENT_JSON, "padding": ""}
    bare = len(json.dumps(envelope).encode())
    envelope["padding"] = "x" * (size - bare)
    return json.dumps(envelope).encode()


async def test_an_answer_of_exactly_8_mib_is_read_whole():
    from mcp_oauth_clients.cloudflare_client import MAX_ANSWER_BYTES

    assert MAX_ANSWER_BYTES == 8 * 1024 * 1024
    exact = answer_of_size(MAX_ANSWER_BYTES)
    assert len(exact) == MAX_ANSWER_BYTES
    client, _ = make(Script(httpx.Response(200, content=exact)))
    assert (await client.get_oauth_client(ACCOUNT, CLIENT)).result["client_name"] == "App"


async def test_an_answer_one_byte_over_8_mib_is_cut_and_is_an_error_for_a_read_and_an_unknown_outcome_for_a_write():
    too_long = answer_of_size(8 * 1024 * 1024 + 1)
    client, _ = make(Script(httpx.Response(200, content=too_long)))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)
    client, _ = make(Script(httpx.Response(200, content=too_long)))
    with pytest.raises(UnknownOutcome):
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


class Endless(httpx.AsyncByteStream):
    """A body that never ends; reading it past 12 MiB fails the test (the limit is 8 MiB)."""

    async def __aiter__(self):
        chunk = b'{"success": true, "result": {"client_name": "' + b"A" * (1024 * 1024)
        for _ in range(12):
            yield chunk
        raise AssertionError("read on past the limit")


@pytest.mark.parametrize(
    "headers",
    [
        {"content-length": "10", "transfer-encoding": "chunked"},  # chunked framing overrides the length
        {"content-length": "10", "content-encoding": "br"},  # the length is of the encoded body
        {"content-length": "9000000"},  # over 8 MiB
        {"content-length": "9" * 5000},  # too long to be read as a number at all
        [(b"content-length", b"\xb2")],  # "²": a digit to str.isdigit(), not to int()
        {},
    ],
)
async def test_a_body_that_never_ends_is_cut_at_the_limit_whatever_its_headers_announce(headers):
    client, _ = make(Script(httpx.Response(200, headers=headers, stream=Endless())))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_a_body_longer_than_its_announced_length_is_still_cut_at_the_limit():
    # HTTP/1.1 reads no more than Content-Length; a transport that does is cut all the same
    too_long = answer_of_size(8 * 1024 * 1024 + 1)
    client, _ = make(Script(httpx.Response(200, headers={"content-length": "10"}, stream=httpx.ByteStream(too_long))))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_an_answer_nested_a_million_deep_is_an_unreadable_answer_not_a_crash():
    client, _ = make(Script(httpx.Response(200, content=b"[" * 1_000_000)))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_an_answer_that_never_completes_within_the_timeout_says_so():
    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return ok()

    config = Settings(credentials=Credentials(api_token="tok-secret-123"), base_url=BASE, timeout=0.05)
    client = CloudflareClient(
        config, transport=httpx.MockTransport(hang), sleep=lambda s: anyio.sleep(0), jitter=lambda: 0.0
    )
    with pytest.raises(TransportFailure, match="no complete answer within the timeout"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_only_the_first_8_kib_of_an_error_page_is_read_for_its_excerpt():
    page = " " * 8190 + "ABCDEFG"
    client, _ = make(Script(httpx.Response(400, text=page, headers={"content-type": "text/html"})))
    with pytest.raises(CloudflareAPIError) as caught:
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert "AB" in str(caught.value) and "ABC" not in str(caught.value)


# --- issue 15: one outcome per call, decided once; one next step per answer --------------------------


def rate(seconds: str = "300", **headers):
    return fail(429, {"code": 971, "message": "rate"}, **{"retry-after": seconds, **headers})


async def test_a_write_answered_502_then_asked_to_wait_too_long_is_an_unknown_outcome_not_nothing_written():
    error = await failure_of(Script(fail(502, {"code": 1000, "message": "x"}), rate(**{"cf-ray": "r-2"})), write=True)
    assert type(error) is UnknownOutcome and error.audit_outcome == "unknown"
    assert type(error.cause) is RateLimited and error.cause.retry_after == 300 and error.request_id == "r-2"
    text = str(error)
    assert "Nothing was written" not in text and f"until about {error.cause.retry_at}" in text
    assert error.detail == ("Attempt 1 was answered with a server error (HTTP 502); attempt 2, the last, was answered:")


@pytest.mark.parametrize("status", [400, 404])
async def test_a_write_answered_502_then_refused_is_an_unknown_outcome_carrying_the_refusal_as_its_cause(status):
    script = Script(fail(502, {"code": 1000, "message": "x"}), fail(status, {"code": 1002, "message": "bad"}))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and error.audit_outcome == "unknown"
    assert type(error.cause) is CloudflareAPIError and error.cause.status == status and error.cause.codes == [1002]
    assert f"Cloudflare refused the request (HTTP {status})." in str(error).splitlines()


async def test_a_write_answered_502_then_never_reached_again_is_an_unknown_outcome():
    script = Script(fail(502, {"code": 1000, "message": "x"}), httpx.ConnectError("refused"))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and error.cause is None and len(script.requests) == 3
    assert error.detail == (
        "Attempt 1 was answered with a server error (HTTP 502); attempt 3, the last, got no answer (connection failed)."
    )


async def test_a_write_answered_502_then_an_unreadable_success_is_an_unknown_outcome_showing_the_answer():
    script = Script(fail(502, {"code": 1000, "message": "x"}), httpx.Response(200, json=[1]))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and type(error.cause) is UnreadableAnswer


async def test_a_write_answered_502_then_refused_by_httpx_itself_is_an_unknown_outcome():
    script = Script(fail(502, {"code": 1000, "message": "x"}), httpx.UnsupportedProtocol("odd"))
    error = await failure_of(script, write=True)
    assert type(error) is UnknownOutcome and "attempt 2, the last, got no answer (UnsupportedProtocol)" in error.detail


async def test_a_read_answered_502_then_refused_is_the_refusal():
    script = Script(fail(502, {"code": 1000, "message": "x"}), fail(404, {"code": 7003, "message": "no"}))
    error = await failure_of(script)
    assert type(error) is CloudflareAPIError and error.status == 404


async def test_a_write_answered_502_then_applied_is_a_success():
    script = Script(fail(502, {"code": 1000, "message": "x"}), ok())
    client, _ = make(script)
    assert (await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})).attempts == 2


async def test_a_server_error_to_a_write_that_is_not_retried_is_an_unknown_outcome_showing_the_answer():
    script = Script(fail(500, {"code": 1000, "message": "x"}, **{"cf-ray": "r-5"}), ok())
    client, _ = make(script)
    with pytest.raises(UnknownOutcome) as caught:
        await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"}, retry=False)
    assert len(script.requests) == 1 and caught.value.detail == "" and caught.value.request_id == "r-5"
    assert type(caught.value.cause) is CloudflareAPIError and caught.value.cause.status == 500


async def test_a_500_to_a_patch_gives_one_next_step_read_back_not_try_again():
    error = await failure_of(Script(fail(500, {"code": 1000, "message": "x"})), write=True)
    steps = [line for line in str(error).splitlines() if line.startswith("Next step:")]
    assert len(steps) == 1 and "read the client back" in steps[0] and "try again in a minute" not in str(error)


async def test_a_whole_answer_timeout_while_the_connection_is_still_opening_means_nothing_was_sent():
    class Opening(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await request.extensions["trace"]("connection.connect_tcp.started", {})
            await anyio.sleep(30)  # a connect the deadline ends first (a loaded machine runs timers late)
            raise AssertionError("the deadline ends this first")

    error = await failure_of_transport(Opening(), write=True)
    assert type(error) is TransportFailure and error.problem == "connection timed out" and error.attempts == 3


async def test_a_whole_answer_timeout_after_the_request_began_to_be_sent_leaves_a_write_unknown():
    class Sent(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            trace = request.extensions["trace"]
            await trace("connection.connect_tcp.started", {})
            await trace("connection.connect_tcp.complete", {})
            await trace("http11.send_request_headers.started", {})
            await anyio.sleep(30)
            raise AssertionError("the deadline ends this first")

    error = await failure_of_transport(Sent(), write=True)
    assert type(error) is UnknownOutcome
    assert error.detail.startswith("Attempt 1 got no answer (no complete answer within the timeout)")


async def failure_of_transport(transport: httpx.AsyncBaseTransport, write: bool) -> Exception:
    config = Settings(credentials=Credentials(api_token="tok-secret-123"), base_url=BASE, timeout=0.05)
    client = CloudflareClient(config, transport=transport, sleep=lambda s: anyio.sleep(0), jitter=lambda: 0.0)
    with pytest.raises(Exception) as caught:
        if write:
            await client.update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})
        else:
            await client.get_oauth_client(ACCOUNT, CLIENT)
    return caught.value


async def test_the_real_transport_reports_a_connect_in_progress_through_its_trace():
    from mcp_oauth_clients.cloudflare_client import _Progress

    progress = _Progress()
    await progress("connection.connect_tcp.started", {})
    assert progress.connecting
    await progress("connection.connect_tcp.complete", {})
    assert progress.connecting  # connected, but nothing sent yet
    await progress("http11.send_request_headers.started", {})
    assert not progress.connecting
    await progress("connection.start_tls.started", {})
    assert progress.connecting


EVERY_FAILURE = {
    "403 refusal": (lambda: Script(fail(403, {"code": 10000, "message": "auth"})), False),
    "400 with a field": (lambda: Script(fail(400, {"code": 1, "message": "m", "source": {"pointer": "/x"}})), True),
    "500 on a read": (lambda: Script(fail(500, {"code": 1000, "message": "x"})), False),
    "500 on a write": (lambda: Script(fail(500, {"code": 1000, "message": "x"})), True),
    "502 then 404 on a write": (lambda: Script(fail(502), fail(404, {"code": 7003, "message": "no"})), True),
    "429 too long on a read": (lambda: Script(rate()), False),
    "429 too long on a write": (lambda: Script(rate()), True),
    "502 then 429 too long on a write": (lambda: Script(fail(502), rate()), True),
    "lost answer then 429 too long": (lambda: Script(httpx.ReadTimeout("x"), rate()), True),
    "unreadable 200 on a read": (lambda: Script(httpx.Response(200, json=[1])), False),
    "unreadable 200 on a write": (lambda: Script(httpx.Response(200, json=[1])), True),
    "HTML 502 on a read": (lambda: Script(httpx.Response(502, text="<h1>x</h1>")), False),
    "connection refused": (lambda: Script(httpx.ConnectError("x")), True),
    "read timeout on a read": (lambda: Script(httpx.ReadTimeout("x")), False),
    "read timeout on a write": (lambda: Script(httpx.ReadTimeout("x")), True),
    "unsupported protocol": (lambda: Script(httpx.UnsupportedProtocol("x")), True),
}


@pytest.mark.parametrize("name", list(EVERY_FAILURE))
async def test_every_failure_the_client_raises_renders_exactly_one_next_step_as_its_last_line(name):
    script, write = EVERY_FAILURE[name]
    lines = str(await failure_of(script(), write=write)).splitlines()
    assert [line for line in lines if "Next step:" in line] == [lines[-1]] and lines[-1].startswith("Next step: ")


async def test_a_token_echoed_in_a_success_answer_is_redacted_where_the_answer_comes_in():
    answer = ok({**CLIENT_JSON, "client_name": "echo tok-secret-123"}, **{"cf-ray": "ray-tok-secret-123"})
    client, _ = make(Script(answer))
    result = await client.get_oauth_client(ACCOUNT, CLIENT)
    assert result.result["client_name"] == "echo [REDACTED]" and result.request_id == "ray-[REDACTED]"


async def test_a_token_echoed_in_an_error_envelope_is_redacted_where_the_answer_comes_in():
    error = await failure_of(Script(fail(400, {"code": 1, "message": "bad tok-secret-123"})))
    assert error.errors[0].message == "bad [REDACTED]"


async def test_an_error_page_in_a_charset_that_is_not_text_is_named_unreadable_not_a_crash():
    answer = httpx.Response(400, content=b"<p>x</p>", headers={"content-type": "text/html; charset=hex"})
    error = await failure_of(Script(answer))
    assert error.summary == 'The answer could not be read (text/html body: "<unreadable body>").'


class BreaksAfter(httpx.AsyncByteStream):
    """A body that arrives whole, then the connection breaks before the answer is known to be complete."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self):
        yield self.body
        raise httpx.ReadError("connection reset")


async def test_exactly_8_mib_then_a_broken_connection_is_a_broken_answer_not_a_complete_one():
    from mcp_oauth_clients.cloudflare_client import MAX_ANSWER_BYTES

    body = answer_of_size(MAX_ANSWER_BYTES)
    script = Script(httpx.Response(200, stream=BreaksAfter(body)))
    error = await failure_of(script, max_retries=0)
    assert type(error) is TransportFailure and error.problem == "the connection broke while reading"


def test_the_ca_bundle_is_loaded_once_per_bundle_the_environment_names(monkeypatch, tmp_path):
    import certifi

    from mcp_oauth_clients.cloudflare_client import _tls

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = _tls()
    assert _tls() is default  # loaded once, shared by every client
    bundle = tmp_path / "one-ca.pem"
    end = b"-----END CERTIFICATE-----"
    bundle.write_bytes(Path(certifi.where()).read_bytes().split(end)[0] + end + b"\n")  # the first CA alone
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    named = _tls()
    assert named is not default and len(named.get_ca_certs()) == 1  # the operator's bundle, not certifi's
    assert len(default.get_ca_certs()) > 1
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))  # a folder of CAs, read when a peer is checked
    in_folder = _tls()
    assert in_folder is not default and in_folder is not named and in_folder.get_ca_certs() == []


@pytest.mark.parametrize("issued", ["sek-issued-1234567890", ""])
def test_a_secret_the_answer_issues_is_redacted_from_its_headers_and_kept_in_its_own_field(issued):
    from mcp_oauth_clients.envelope import read

    body = {"success": True, "errors": [], "messages": [], "result": {"client_id": "c" * 32, "client_secret": issued}}
    response = httpx.Response(200, json=body, headers={"cf-ray": f"ray-{issued or 'none'}"})
    answer = read(response, ["tok-configured-123456"])
    assert answer.payload["result"]["client_secret"] == issued  # the tool takes it to the person from here
    if issued:
        assert issued not in (answer.request_id or "") and "[REDACTED]" in (answer.request_id or "")
        assert answer.secrets == ["tok-configured-123456", issued]
    else:  # an empty secret is no secret: nothing more to redact
        assert answer.request_id == "ray-none" and answer.secrets == ["tok-configured-123456"]


def test_an_answer_is_read_up_to_the_depth_limit_and_unreadable_one_level_past_it():
    from mcp_oauth_clients.envelope import MAX_ANSWER_DEPTH, read

    def answer(levels: int) -> httpx.Response:
        inner = "[" * levels + "]" * levels  # the envelope and `result` are two levels more
        body = f'{{"success": true, "errors": [], "messages": [], "result": {{"deep": {inner}}}}}'
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})

    assert MAX_ANSWER_DEPTH == 320
    assert read(answer(MAX_ANSWER_DEPTH - 2), []).readable
    assert not read(answer(MAX_ANSWER_DEPTH - 1), []).readable
    flat = httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": {"a": [[1], {"b": []}]}})
    assert read(flat, []).payload["result"] == {"a": [[1], {"b": []}]}


async def received(answer: httpx.Response) -> httpx.Response:
    """The response the client hands on to be read for one answer, as `request` reads it."""
    from mcp_oauth_clients.cloudflare_client import _Progress

    client, _ = make(Script(answer))
    return await client._receive("GET", f"/accounts/{ACCOUNT}/oauth_clients/{CLIENT}", None, {}, _Progress())


# Nine digits each, with leading zeros (RFC 9110 allows them: 1*DIGIT): the copy made of any other answer drops
# Content-Length and httpx writes its own, without zeros, so the header as sent shows the answer was not copied.
@pytest.mark.parametrize(
    ("size", "length"), [(8, "000000008"), (8 * 1024 * 1024, "008388608")], ids=["small", "exactly-the-limit"]
)
async def test_an_answer_announcing_a_plain_length_within_the_limit_is_handed_on_as_httpx_gave_it(size, length):
    body = b"x" * size
    over_http_1_1 = {"http_version": b"HTTP/1.1"}  # whose reader stops at Content-Length (httpcore's does)
    answer = httpx.Response(200, headers={"content-length": length}, stream=httpx.ByteStream(body))
    answer.extensions.update(over_http_1_1)
    kept = await received(answer)
    assert kept.headers["content-length"] == length
    assert kept.content == body
    other = httpx.Response(200, headers={"content-length": length}, stream=httpx.ByteStream(body))
    assert (await received(other)).headers["content-length"] == str(size)  # another transport's is copied


async def test_an_answer_cut_at_the_limit_is_unreadable_even_when_its_first_8_mib_are_a_whole_envelope():
    from mcp_oauth_clients.cloudflare_client import MAX_ANSWER_BYTES

    whole = answer_of_size(MAX_ANSWER_BYTES) + b"GARBAGE"  # JSON up to the limit, then more
    for answer in (
        httpx.Response(200, stream=httpx.ByteStream(whole)),  # read in pieces
        httpx.Response(200, content=whole),  # handed over already read
    ):
        client, _ = make(Script(answer))
        with pytest.raises(UnreadableAnswer, match="could not be read"):
            await client.get_oauth_client(ACCOUNT, CLIENT)


@pytest.mark.parametrize("length", ["0000000010", "00000000010"])
async def test_a_length_written_with_ten_or_more_digits_is_not_taken_at_its_word_so_an_endless_body_is_cut(length):
    client, _ = make(Script(httpx.Response(200, headers={"content-length": length}, stream=Endless())))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_a_compressed_answer_sent_in_chunks_is_decoded_once_and_keeps_its_other_headers():
    import gzip

    body = json.dumps({"success": True, "errors": [], "messages": [], "result": CLIENT_JSON}).encode()
    headers = {"content-encoding": "gzip", "cf-ray": "8f00aa11bb22cc33-LHR", "content-type": "application/json"}
    client, _ = make(Script(httpx.Response(200, headers=headers, stream=httpx.ByteStream(gzip.compress(body)))))
    result = await client.get_oauth_client(ACCOUNT, CLIENT)
    assert result.result == CLIENT_JSON
    assert result.request_id == "8f00aa11bb22cc33-LHR"


# --- mutation survivors of the HTTP/1.1 fast path and the request headers ------------------------------


def over_http_1_1(headers, stream: httpx.AsyncByteStream) -> httpx.Response:
    """An answer as httpcore hands it on over HTTP/1.1 (the only one read at once), from a transport that,
    unlike httpcore, does not stop at Content-Length: what the client takes at its word shows."""
    answer = httpx.Response(200, headers=headers, stream=stream)
    answer.extensions["http_version"] = b"HTTP/1.1"
    return answer


@pytest.mark.parametrize(
    "headers",
    [
        {"content-length": "10", "transfer-encoding": "chunked"},  # chunked framing overrides the length
        {"content-length": "10", "content-encoding": "br"},  # the length is of the encoded body
        {"content-length": "0000000010"},  # ten digits: not taken at its word
        {"content-length": "9000000"},  # over 8 MiB
        {},  # no length at all
    ],
)
async def test_over_http_1_1_too_a_body_that_never_ends_is_cut_at_the_limit_unless_a_plain_length_bounds_it(headers):
    client, _ = make(Script(over_http_1_1(headers, Endless())))
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client.get_oauth_client(ACCOUNT, CLIENT)


async def test_a_request_carries_each_header_under_its_own_name_and_asks_only_for_encodings_we_decode():
    # A header without a name is refused by every HTTP/1.1 sender (h11), so no request would leave at all.
    script = Script(ok())
    client, _ = make(script)
    await client.get_oauth_client(ACCOUNT, CLIENT)
    names = [name.lower() for name, _ in script.requests[0].headers.raw]
    assert sorted(names) == sorted(
        [b"host", b"connection", b"user-agent", b"accept", b"accept-encoding", b"authorization"]
    )
    assert script.requests[0].headers["accept-encoding"] == "gzip, deflate"
