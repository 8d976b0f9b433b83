"""Unit tests of errors.py: the text each failure gives the model and the person, and the kind the audit records."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.errors import (
    CloudflareAPIError,
    CloudflareMessage,
    InvalidInput,
    NotConfigured,
    RateLimited,
    Refused,
    ToolFailure,
    TransportFailure,
    UnknownOutcome,
)


def test_a_failure_without_a_next_step_is_just_its_message():
    assert str(ToolFailure("it broke")) == "it broke"


def test_a_failure_with_a_next_step_says_it_on_its_own_line():
    failure = ToolFailure("it broke", next_step="try again")
    assert (failure.message, failure.next_step) == ("it broke", "try again")
    assert str(failure) == "it broke\nNext step: try again"


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ToolFailure("x"), "failure"),
        (InvalidInput("x"), "invalid_input"),
        (NotConfigured("x"), "not_configured"),
        (Refused("x"), "refused"),
        (CloudflareAPIError(400), "cloudflare_error"),
        (RateLimited(429), "rate_limited"),
        (TransportFailure("x"), "transport_failure"),
        (UnknownOutcome("x"), "unknown_outcome"),
    ],
)
def test_each_failure_carries_the_kind_the_audit_line_records_as_its_reason(failure, kind):
    assert failure.kind == kind


@pytest.mark.parametrize(
    ("pointer", "field"),
    [
        ("/scopes/0", "scopes[0]"),
        ("/client_name", "client_name"),
        ("/client_uri_verification/status", "client_uri_verification.status"),
        ("//redirect_uris/12/", "redirect_uris[12]"),
        ("/add/redirect_uris/0", "add.redirect_uris[0]"),
        ("/", None),
        ("scopes/0", None),
        ("", None),
        (None, None),
    ],
)
def test_a_json_pointer_becomes_the_request_field_it_names(pointer, field):
    assert CloudflareMessage(code=1, message="m", pointer=pointer).field == field


def test_a_cloudflare_message_renders_code_message_field_and_documentation():
    message = CloudflareMessage(
        code=6003, message="Invalid request", pointer="/scopes/0", documentation_url="https://d"
    )
    assert message.render() == '[6003] "Invalid request" (field: scopes[0]) (docs: "https://d")'


def test_a_cloudflare_message_without_a_code_field_or_documentation_is_its_message():
    assert CloudflareMessage(code=None, message="Invalid request").render() == '"Invalid request"'


def test_a_cloudflare_error_lists_status_summary_each_error_the_request_id_and_the_next_step():
    error = CloudflareAPIError(
        403,
        [CloudflareMessage(code=10000, message="Authentication error"), CloudflareMessage(code=None, message="also")],
        summary="Not allowed.",
        hint="give the token the OAuth clients Edit permission",
        request_id="8c1f2a3b4d5e6f70-LHR",
    )
    assert str(error).splitlines() == [
        "Cloudflare refused the request (HTTP 403). Not allowed.",
        '- [10000] "Authentication error"',
        '- "also"',
        "Cloudflare request id: 8c1f2a3b4d5e6f70-LHR",
        "Next step: give the token the OAuth clients Edit permission",
    ]
    assert error.codes == [10000]
    assert (error.status, error.summary, error.request_id) == (403, "Not allowed.", "8c1f2a3b4d5e6f70-LHR")


def test_a_bare_cloudflare_error_is_one_line_and_its_message_names_the_status():
    error = CloudflareAPIError(500)
    assert str(error) == "Cloudflare refused the request (HTTP 500)."
    assert error.message == "Cloudflare answered HTTP 500"
    assert (error.errors, error.codes, error.next_step) == ([], [], None)


def test_a_rate_limit_keeps_the_wait_and_everything_a_cloudflare_error_says():
    error = RateLimited(429, retry_after=120.0, summary="Wait.", hint="wait two minutes", request_id="r1")
    assert error.retry_after == 120.0
    assert str(error).splitlines() == [
        "Cloudflare refused the request (HTTP 429). Wait.",
        "Cloudflare request id: r1",
        "Next step: wait two minutes",
    ]


def test_an_unknown_outcome_says_the_update_may_have_been_applied_and_to_read_back_first():
    text = str(UnknownOutcome("The connection dropped."))
    first, step = text.split("\nNext step: ")
    assert first == "Outcome unknown: the update may or may not have been applied. The connection dropped."
    assert "get_oauth_client" in step and "do not assume it failed" in step


def test_a_long_message_field_path_and_documentation_link_are_each_clipped_to_their_own_length():
    message = CloudflareMessage(code=None, message="m" * 301, pointer="/" + "f" * 121, documentation_url="d" * 201)
    assert message.render() == f'"{"m" * 299}…" (field: "{"f" * 119}…") (docs: "{"d" * 199}…")'


def test_a_field_path_of_120_characters_reads_as_is():
    assert CloudflareMessage(code=None, message="m", pointer="/" + "f" * 120).render() == f'"m" (field: {"f" * 120})'
