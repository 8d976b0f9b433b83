"""Unit tests of the value rules in checks.py: each refusal comes from the rule that names the problem."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.checks import (
    ACCOUNT_ID_PATTERN,
    CLIENT_ID_PATTERN,
    HOST_RULE,
    MAX_HOST_LENGTH,
    MAX_LABEL_LENGTH,
    MAX_URI_LENGTH,
    check_host,
    check_identifier,
    check_origin,
    check_redirect_uri,
    check_scope,
    check_web_url,
    is_identity_scope,
    is_loopback,
)


def refusal(check, value: str) -> str:
    with pytest.raises(ValueError) as caught:
        check(value)
    return str(caught.value)


# --- identifiers ----------------------------------------------------------------------------------


def test_an_account_id_of_32_hex_characters_is_accepted_and_a_short_one_is_refused_with_its_shape():
    check_identifier("a1B2" * 8, ACCOUNT_ID_PATTERN, "account_id")
    text = refusal(lambda v: check_identifier(v, ACCOUNT_ID_PATTERN, "account_id"), "a1b2")
    assert text.startswith("account_id must be 32 hexadecimal characters")


def test_a_client_id_refusal_names_the_wider_client_id_shape():
    check_identifier("client_id-1", CLIENT_ID_PATTERN, "oauth_client_id")
    text = refusal(lambda v: check_identifier(v, CLIENT_ID_PATTERN, "oauth_client_id"), "../x")
    assert text.startswith("oauth_client_id must be 1 to 128 letters, digits")
    assert "'/'" in text


# --- what every URI must meet ---------------------------------------------------------------------


@pytest.mark.parametrize("check", [check_web_url, check_redirect_uri])
def test_a_uri_of_exactly_the_limit_is_accepted_and_one_character_more_is_refused_for_its_length(check):
    at_limit = "https://a.example.com/"
    at_limit += "a" * (MAX_URI_LENGTH - len(at_limit))
    assert len(at_limit) == MAX_URI_LENGTH == 2048
    check(at_limit)
    assert f"longer than {MAX_URI_LENGTH} characters" in refusal(check, at_limit + "a")


def test_an_origin_one_character_over_the_uri_limit_is_refused_for_its_length_before_its_host():
    # An origin has no path, so only its host could make it this long, and DNS forbids such a host anyway.
    too_long = "https://" + "a" * (MAX_URI_LENGTH + 1 - len("https://.com")) + ".com"
    assert f"longer than {MAX_URI_LENGTH} characters" in refusal(check_origin, too_long)


# --- hosts obey DNS limits before anything is sent or looked up -----------------------------------


def host_of_length(length: int, label: int = 63) -> str:
    """A host of exactly `length` characters made of labels of at most `label` characters."""
    labels = []
    while sum(map(len, labels)) + len(labels) < length:
        left = length - sum(map(len, labels)) - len(labels)  # what the next label (after its dot) may take
        labels.append("a" * min(label, left))
    host = ".".join(labels)
    assert len(host) == length and max(map(len, labels)) <= label
    return host


@pytest.mark.parametrize("check", [check_web_url, check_redirect_uri, check_origin])
def test_a_host_of_253_characters_is_accepted_and_254_is_refused_with_the_dns_rule(check):
    check(f"https://{host_of_length(MAX_HOST_LENGTH)}")
    assert refusal(check, f"https://{host_of_length(MAX_HOST_LENGTH + 1)}") == HOST_RULE
    assert "at most 253 characters, and 1 to 63 between dots" in HOST_RULE


@pytest.mark.parametrize("check", [check_web_url, check_redirect_uri, check_origin])
def test_a_label_of_63_characters_is_accepted_and_64_is_refused_with_the_dns_rule(check):
    check(f"https://{'a' * MAX_LABEL_LENGTH}.example.com")
    assert refusal(check, f"https://{'a' * (MAX_LABEL_LENGTH + 1)}.example.com") == HOST_RULE


def test_a_final_dot_is_the_root_and_is_not_counted_but_an_empty_label_is_refused():
    check_host(host_of_length(MAX_HOST_LENGTH) + ".")
    check_host("example.com.")
    for host in ("a..example.com", ".example.com", "example.com..", "."):
        assert refusal(check_host, host) == HOST_RULE


def test_a_host_of_many_one_letter_labels_is_measured_with_its_dots():
    check_host("a." * 126 + "a")  # 127 labels, 253 characters
    assert refusal(check_host, "a." * 127 + "a") == HOST_RULE  # 128 labels, 255 characters


def test_a_non_ascii_label_is_measured_in_the_xn_form_dns_carries():
    fits, too_wide = "a" * 55 + "\u00fc", "a" * 56 + "\u00fc"  # 56 and 57 characters here
    assert len("xn--" + fits.encode("punycode").decode()) == 63  # xn--aaa...aaa-(two more): the prefix counts
    check_host(f"{fits}.example")
    assert refusal(check_host, f"{too_wide}.example") == HOST_RULE
    check_host("b\u00fccher.example")


def test_a_private_use_redirect_without_a_host_is_not_held_to_host_rules():
    check_redirect_uri("com.example.app:/oauth2redirect")


@pytest.mark.parametrize("char", [" ", "\u00a0", "\u3000", "<", ">", '"', "\\", "^", "`", "{", "|", "}"])
def test_whitespace_and_unencoded_characters_are_refused_by_the_character_rule(char):
    assert "percent-encoded" in refusal(check_redirect_uri, f"https://app.example.com/c{char}b")


@pytest.mark.parametrize("char", ["\t", "\n", "\x00", "\x1f", "\x7f", "\u202e", "\u200b"])
def test_control_bidi_and_invisible_characters_are_refused_by_the_hidden_character_rule(char):
    assert "control, bidi or invisible characters" in refusal(check_redirect_uri, f"https://app.example.com/c{char}b")


def test_a_malformed_port_is_refused_as_an_invalid_url():
    text = refusal(check_web_url, "https://example.com:99999/")
    assert text.startswith("is not a valid URL (") and text.endswith(")")


# --- client_uri, logo_uri, policy_uri, tos_uri ----------------------------------------------------


@pytest.mark.parametrize("value", ["ftp://example.com/", "https:///page", "example.com/page"])
def test_a_web_url_must_be_absolute_http_with_a_host(value):
    assert "absolute http:// or https:// URL with a host" in refusal(check_web_url, value)


@pytest.mark.parametrize(
    "value", ["https://user@example.com/", "https://:pw@example.com/", "https://u:pw@example.com/"]
)
def test_a_web_url_with_a_user_name_or_password_is_refused_for_its_credentials(value):
    assert "user name or password" in refusal(check_web_url, value)


# --- loopback -------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "::1", "[::1]", "127.255.0.9"])
def test_localhost_and_every_loopback_address_are_loopback_with_or_without_brackets(host):
    assert is_loopback(host) is True


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "10.0.0.1",
        "::2",
        "[::2]",
        "localhost.example.com",
        "[127.0.0.1",
        "[::1x",
        "x::1]",
        "[[::1]]",
        "[localhost]",
    ],
)
def test_other_hosts_are_not_loopback(host):
    assert is_loopback(host) is False


# --- redirect URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["https://app.example.com/cb", "http://127.0.0.1:8976/cb", "http://127.0.0.2/cb", "http://[::1]:1/cb",
     "http://localhost:3000/cb", "com.example.app:/cb"],
)  # fmt: skip
def test_https_loopback_http_and_reversed_domain_schemes_are_accepted_redirect_uris(value):
    check_redirect_uri(value)


@pytest.mark.parametrize("value", ["app.example.com/cb", "/cb", "1app:/cb"])
def test_a_redirect_uri_without_a_scheme_is_refused_as_not_absolute(value):
    assert "must be an absolute URI" in refusal(check_redirect_uri, value)


@pytest.mark.parametrize("value", ["https://app.example.com/cb#x", "https://app.example.com/cb#"])
def test_a_redirect_uri_with_a_fragment_or_a_bare_hash_is_refused_for_the_fragment(value):
    assert "must not contain a fragment" in refusal(check_redirect_uri, value)


@pytest.mark.parametrize("value", ["https://user@app.example.com/cb", "https://:pw@app.example.com/cb"])
def test_a_redirect_uri_with_a_user_name_or_password_alone_is_refused_for_its_credentials(value):
    assert "user name or password" in refusal(check_redirect_uri, value)


def test_an_https_redirect_uri_without_a_host_is_refused_for_the_missing_host():
    assert "https URI needs a host" in refusal(check_redirect_uri, "https:///cb")


@pytest.mark.parametrize("value", ["http://example.com/cb", "http:///cb", "HTTP://example.com/cb"])
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_by_the_loopback_rule(value):
    text = refusal(check_redirect_uri, value)
    assert text.startswith("plain http only on loopback") and "use https://" in text


@pytest.mark.parametrize(
    "scheme", ["javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ftp", "ws", "wss"]
)
def test_each_forbidden_scheme_is_refused_by_name(scheme):
    assert f"the {scheme}: scheme can never be a redirect target" in refusal(check_redirect_uri, f"{scheme}:x/y")


def test_a_private_use_scheme_without_a_dot_is_refused_as_not_a_reversed_domain():
    assert "reversed domain name" in refusal(check_redirect_uri, "myapp:/cb")


# --- CORS origins ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["https://app.example.com", "http://localhost:3000", "HTTPS://a.example.com:8443"])
def test_scheme_host_and_port_make_an_accepted_origin(value):
    check_origin(value)


def test_the_wildcard_origin_is_refused_as_a_wildcard():
    assert "wildcard origins are not accepted" in refusal(check_origin, "*")


@pytest.mark.parametrize("value", ["ftp://a.example.com", "app.example.com", "https://"])
def test_an_origin_must_be_http_or_https_with_a_host(value):
    assert "must be an origin like" in refusal(check_origin, value)


@pytest.mark.parametrize("value", ["https://user@a.example.com", "https://:pw@a.example.com"])
def test_an_origin_with_a_user_name_or_password_is_refused_for_its_credentials(value):
    assert "user name or password" in refusal(check_origin, value)


@pytest.mark.parametrize(
    "value",
    ["https://a.example.com/", "https://a.example.com/x", "https://a.example.com?x=1", "https://a.example.com?",
     "https://a.example.com#f", "https://a.example.com#"],
)  # fmt: skip
def test_an_origin_with_a_path_query_or_fragment_is_refused_with_the_bare_origin_to_use(value):
    text = refusal(check_origin, value)
    assert "origin only" in text and text.endswith("use https://a.example.com")


# --- scopes ---------------------------------------------------------------------------------------


def test_an_empty_scope_is_refused_as_empty():
    assert refusal(check_scope, "") == "must not be empty"


@pytest.mark.parametrize("value", ["a b", "a\tb", "a\nb", "a\u00a0b", "a\u3000b"])
def test_a_scope_with_blanks_is_refused_saying_one_scope_per_entry(value):
    assert "own list entry" in refusal(check_scope, value)


@pytest.mark.parametrize(
    ("value", "shown"), [("a\x00b", "\\u0000"), ("a\x7fb", "\\u007f"), ("account.read\u200b", "\\u200b")]
)
def test_a_scope_with_a_control_or_invisible_character_is_refused_showing_it(value, shown):
    text = refusal(check_scope, value)
    assert "invisible characters" in text and shown in text


def test_a_colon_delimited_scope_is_refused_with_the_dotted_spelling():
    assert refusal(check_scope, "account:read").endswith("dot-delimited (perhaps 'account.read')")


def test_a_dotted_scope_is_accepted():
    check_scope("account.read")


def test_identity_scopes_are_the_ones_without_a_dot():
    assert is_identity_scope("profile") is True
    assert is_identity_scope("account.read") is False


# --- hidden characters ----------------------------------------------------------------------------


@pytest.mark.parametrize("check", [check_web_url, check_redirect_uri, check_origin], ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "hidden", ["\u202e", "\u200b", "\u2028", "\x7f"], ids=["bidi", "zero-width", "line-sep", "del"]
)
def test_a_uri_hiding_a_character_is_refused_by_the_hidden_character_rule_showing_it_escaped(check, hidden):
    text = refusal(check, f"https://app{hidden}.example.com")
    assert "invisible characters" in text and f"\\u{ord(hidden):04x}" in text


def test_a_name_with_a_bidi_override_is_refused_showing_the_character_escaped():
    from mcp_oauth_clients.checks import check_visible

    check_visible("Acme Portal ä")  # ordinary letters, accents and spaces pass
    assert "\\u202e" in refusal(check_visible, "Acme\u202eltrop")


def test_at_most_five_distinct_hidden_characters_are_shown_in_order():
    from mcp_oauth_clients.checks import check_visible

    text = refusal(check_visible, "a\u200fb\u200ec\u200dd\u200ce\u200bf\u202eg\u200b")
    assert "(\\u200b, \\u200c, \\u200d, \\u200e, \\u200f)" in text and "\\u202e" not in text
    assert text.endswith("type the text without them")  # the next step: what to do about them


def test_a_scope_with_a_backslash_is_refused_by_its_own_rule():
    assert "backslash" in refusal(check_scope, "account\\read")
