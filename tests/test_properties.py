"""Property-based tests of the params model (hypothesis): what it accepts reaches the API intact and is
accepted by the fake; what it refuses is refused before any request, naming the field."""

from __future__ import annotations

import os
import re
import string
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_oauth_clients import checks
from mcp_oauth_clients.arguments import parse_arguments
from mcp_oauth_clients.audit import AuditLog
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.emulator import DEFAULT_SCOPES, CloudflareEmulator, mock_transport
from mcp_oauth_clients.errors import InvalidInput
from mcp_oauth_clients.models import OAuthClientUpdate
from mcp_oauth_clients.operations import Services, update_client
from mcp_oauth_clients.untrusted import HIDDEN_CATEGORIES
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.slow  # hypothesis: hundreds of generated inputs a test

EXAMPLES = {"valid": 0, "invalid": 0, "identifiers": 0}
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
host = st.lists(label, min_size=1, max_size=3).map(lambda parts: ".".join([*parts, "example"]))
path = st.lists(st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=8), max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
web_url = st.builds(
    lambda s, h, p, q: f"{s}://{h}{p}{q}", st.sampled_from(["http", "https"]), host, path, st.sampled_from(["", "?a=1"])
)
redirect_uri = st.one_of(
    st.builds(lambda h, pt, p: f"https://{h}{pt}{p}", host, port, path),
    st.builds(
        lambda lo, pt, p: f"http://{lo}{pt}{p}", st.sampled_from(["127.0.0.1", "[::1]", "localhost"]), port, path
    ),
    st.builds(lambda h, p: f"com.{h}.app:{p}", label, path),
)
origin = st.builds(lambda s, h, p: f"{s}://{h}{p}", st.sampled_from(["http", "https"]), host, port)
api_scopes = [s["id"] for s in DEFAULT_SCOPES]
# Any visible text: control, bidi and invisible characters (the hidden categories) are refused in a name.
name = st.text(st.characters(blacklist_categories=tuple(HIDDEN_CATEGORIES)), min_size=1, max_size=60).filter(str.strip)


@st.composite
def valid_update(draw) -> dict[str, Any]:
    """A random subset of the updatable fields, each with a value Cloudflare documents as acceptable."""
    fields: dict[str, Any] = {}
    scopes = draw(st.lists(st.sampled_from([*api_scopes, "profile", "email"]), unique=True, max_size=5))
    candidates = {
        "client_name": name,
        "client_uri": web_url,
        "logo_uri": web_url,
        "policy_uri": web_url,
        "tos_uri": web_url,
        "redirect_uris": st.lists(redirect_uri, unique=True, max_size=4),
        "post_logout_redirect_uris": st.lists(redirect_uri, unique=True, max_size=3),
        "allowed_cors_origins": st.lists(origin, unique=True, max_size=3),
        "grant_types": st.sampled_from(
            [["authorization_code"], ["authorization_code", "refresh_token"], ["refresh_token", "authorization_code"]]
        ),
        "response_types": st.lists(st.sampled_from(["token", "id_token", "code"]), unique=True, min_size=1),
        "token_endpoint_auth_method": st.sampled_from(["none", "client_secret_basic", "client_secret_post"]),
        "scopes": st.just(scopes),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(candidates)), unique=True, min_size=1))
    for field in chosen:
        fields[field] = draw(candidates[field])
    if "scopes" in fields and draw(st.booleans()):
        fields["optional_scopes"] = draw(st.lists(st.sampled_from(scopes), unique=True)) if scopes else []
    return fields


INVALID: dict[str, st.SearchStrategy] = {
    "client_uri": st.sampled_from(["example.com", "ftp://x.example", "/relative", "https://", "javascript:x"]),
    "logo_uri": st.sampled_from(["logo.png", "data:image/png;base64,xx", "https://a b.example"]),
    "redirect_uris": st.one_of(
        st.builds(lambda h: [f"http://{h}/cb"], host),
        st.builds(lambda h: [f"https://{h}/cb#frag"], host),
        st.sampled_from([["myapp:/cb"], ["javascript:alert(1)"], ["/cb"], "https://single.example/cb"]),
    ),
    "allowed_cors_origins": st.one_of(
        st.builds(lambda h, p: [f"https://{h}{p}x"], host, path), st.just(["*"]), st.just("https://a.example")
    ),
    "grant_types": st.sampled_from(
        [
            [],
            ["refresh_token"],
            ["authorization_code", "authorization_code"],
            ["authorization_code", "implicit"],
            "authorization_code",
        ]
    ),
    "response_types": st.sampled_from([[], ["device_code"], ["code", "code"]]),
    "scopes": st.one_of(st.builds(lambda a, b: [f"{a}:{b}"], label, label), st.just(["two words"]), st.just([""])),
    "optional_scopes": st.sampled_from([["openid"], ["offline"], ["offline_access"]]),
    "token_endpoint_auth_method": st.text(max_size=12).filter(
        lambda v: v not in ("none", "client_secret_basic", "client_secret_post")
    ),
    "visibility": st.sampled_from(["private", "PUBLIC", ""]),
    "client_name": st.sampled_from(["", "   ", 5, None, "\u200b", "Demo\u202eppA", "a\x1bb"]),
}


def services_for(emulator: CloudflareEmulator) -> Services:
    settings_ = settings_for("https://api.example.test/client/v4")
    return Services(
        settings=settings_,
        cloudflare=CloudflareClient(settings_, transport=mock_transport(emulator)),
        audit=AuditLog(os.devnull),
    )


async def _send(arguments: dict[str, Any], emulator: CloudflareEmulator):
    services = services_for(emulator)
    try:
        return await update_client(services, parse_arguments(OAuthClientUpdate, arguments))
    finally:
        await services.cloudflare.aclose()


@PROFILE
@given(valid_update())
def _valid_property(fields):
    EXAMPLES["valid"] += 1
    emulator = CloudflareEmulator(tokens={TOKEN})
    result = anyio.run(_send, {"oauth_client_id": CLIENT, **fields}, emulator)
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].body == fields  # exactly the given fields, nothing invented
    assert result.sent == fields


@PROFILE
@given(valid_update(), st.sampled_from(sorted(INVALID)), st.data())
def _invalid_property(fields, field, data):
    EXAMPLES["invalid"] += 1
    bad = data.draw(INVALID[field])
    arguments = {"oauth_client_id": CLIENT, **fields, field: bad}
    if field == "optional_scopes":
        arguments["scopes"] = ["account.read", *bad]
    emulator = CloudflareEmulator(tokens={TOKEN})
    try:
        anyio.run(_send, arguments, emulator)
    except InvalidInput as refused:
        assert re.search(rf"(^|\n)- ({field}|arguments)\b", str(refused)), str(refused)
        assert field in str(refused)
    else:
        raise AssertionError(f"{field}={bad!r} was accepted")
    assert emulator.requests == []


unsafe_identifier = st.text(min_size=1, max_size=40).filter(lambda v: re.search(r"[^A-Za-z0-9_-]", v) is not None)


@PROFILE
@given(unsafe_identifier, st.sampled_from(["oauth_client_id", "account_id"]))
def _identifiers_property(identifier, which):
    EXAMPLES["identifiers"] += 1
    emulator = CloudflareEmulator(tokens={TOKEN})
    arguments = {"oauth_client_id": CLIENT, "account_id": ACCOUNT, "client_name": "x", which: identifier}
    try:
        anyio.run(_send, arguments, emulator)
    except InvalidInput as refused:
        assert which in str(refused)
    else:
        raise AssertionError(f"{which}={identifier!r} was accepted")
    assert emulator.requests == []


@given(st.from_regex(checks.CLIENT_ID_PATTERN, fullmatch=True))
@PROFILE
def test_accepted_client_ids_are_one_path_segment(identifier):
    params = parse_arguments(OAuthClientUpdate, {"oauth_client_id": identifier, "client_name": "x"})
    url = httpx.URL(f"https://api.example.test/client/v4/accounts/{ACCOUNT}/oauth_clients/{params.oauth_client_id}")
    assert url.path.split("/")[-1] == identifier and url.path.count("/") == 6


def _run_counted(key: str, prop) -> None:
    """Run a property and check that hypothesis really ran it many times (xdist-safe: one test, one count)."""
    EXAMPLES[key] = 0
    prop()
    print(f"hypothesis examples run ({key}): {EXAMPLES[key]}")
    assert EXAMPLES[key] >= 100, EXAMPLES


def test_valid_inputs_reach_the_fake_intact_and_are_accepted():
    _run_counted("valid", _valid_property)


def test_invalid_inputs_are_refused_before_any_request_naming_the_field():
    _run_counted("invalid", _invalid_property)


def test_identifiers_outside_the_accepted_shape_never_reach_a_url():
    _run_counted("identifiers", _identifiers_property)
