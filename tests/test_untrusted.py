"""Unit tests of untrusted.quoted(): outside text in a sentence is quoted, escaped and clipped at its limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_oauth_clients.untrusted import escape, quoted


@pytest.mark.parametrize("limit", [1, 10, 200])
def test_a_value_of_exactly_the_limit_is_shown_whole(limit):
    value = "v" * limit
    assert quoted(value, limit) == f'"{value}"'


@pytest.mark.parametrize("limit", [1, 10, 200])
def test_a_value_one_character_over_the_limit_is_clipped_to_the_limit_saying_so(limit):
    shown = quoted("v" * (limit + 1), limit)
    assert shown == '"' + "v" * (limit - 1) + '…"'
    assert len(shown) == limit + 2  # the limit, and the two quotes


def test_the_default_limit_is_200_characters():
    assert quoted("v" * 200) == '"' + "v" * 200 + '"'
    assert quoted("v" * 201) == '"' + "v" * 199 + '…"'


def test_the_limit_counts_the_escaped_text_so_hidden_characters_cannot_make_it_longer():
    shown = quoted("\u202e" * 10, 20)
    assert shown == '"' + "\\u202e" * 3 + '…"'  # 18 escaped characters: a fourth escape would pass the limit


@pytest.mark.parametrize("limit", range(1, 40))
def test_a_clip_falls_before_an_escape_never_inside_one(limit):
    raw = "ab\u202e\U000e0041c" * 5  # escapes of 6 and 10 characters between plain ones
    text = quoted(raw, limit)[1:-1]
    assert len(text) <= limit and text.endswith("…")
    kept = text.removesuffix("…")
    assert any(kept == escape(raw[:i]) for i in range(len(raw))), text  # whole characters and whole escapes


# clean() and redact() skip the walk when one JSON dump shows it would change nothing. Whatever the value
# and the secrets, the answer must be the walk's: hidden characters, quotes, backslashes and C0 controls in
# values, keys and secrets alike, and secrets echoed whole or in part.
_SECRET_ALPHABET = 'ab"\\\x00\x1b\u202e\u2028é%@:/'
_texts = st.text(
    alphabet=st.sampled_from([*_SECRET_ALPHABET, "x", " ", "\n", "\u200b", "\ud800", "c", "d"]), max_size=12
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    value=_values,
    secrets=st.lists(st.text(alphabet=st.sampled_from(list(_SECRET_ALPHABET)), max_size=8), max_size=3),
    echo=st.booleans(),
)
def test_clean_and_redact_give_the_walks_answer_whether_or_not_they_skip_it(value, secrets, echo):
    from mcp_oauth_clients.untrusted import _redact_text, _walk, clean, redact, secret_forms

    if echo and secrets:  # a secret echoed in a value and in a key
        value = {f"k{secrets[0]}": [value, f"echo {secrets[0]} echo"]}
    forms = secret_forms(secrets)
    assert clean(value, secrets) == _walk(value, lambda text: _redact_text(escape(text), forms))
    assert redact(value, secrets) == (_walk(value, lambda text: _redact_text(text, forms)) if forms else value)


@settings(max_examples=100, deadline=None)
@given(
    value=_values, secrets=st.lists(st.text(alphabet=st.sampled_from(list(_SECRET_ALPHABET)), max_size=8), max_size=3)
)
def test_redacted_json_is_the_dump_of_the_redacted_value(value, secrets):
    import json

    from mcp_oauth_clients.untrusted import redact, redacted_json

    value = {"v": value, "echo": [f"x{s}y" for s in secrets]}
    assert json.loads(redacted_json(value, secrets)) == json.loads(
        json.dumps(redact(value, secrets), ensure_ascii=False, default=str)
    )


def test_a_secret_in_the_text_of_a_value_that_is_not_json_is_redacted_too():
    from mcp_oauth_clients.untrusted import redacted_json

    class Echo:
        def __str__(self) -> str:
            return "token tok-123456"

    assert "tok-123456" not in redacted_json({"odd": Echo()}, ["tok-123456"])


# The same promise against what a hostile JSON answer (or a caller of ours) can hold beyond strings: every
# category clean() escapes and the near misses it must not (Zs spaces, U+00AD is Cf), noncharacters, unassigned
# and tag code points, non-string keys (JSON writes them as text), floats, NaN, tuples, and secrets whose
# percent-encoded forms differ. Dumps are compared: the walk turns a tuple into a list, the skip keeps it.
_HOSTILE = [
    *'ab"\\\x00\x1b\x7f\x85\xa0\xad',
    *"\u200b\u202e\u2028\u2029\u3000\u0378\ufffe\uffff\ue000\ud800\udfff",
    "\U000e0001",
    "\U0010ffff",
    *"é%@:/+&=~ ",
]
_hostile_texts = st.text(alphabet=st.sampled_from(_HOSTILE), max_size=10)
_hostile_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _hostile_texts,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            _hostile_texts | st.integers(-2, 2) | st.booleans() | st.none() | st.floats(allow_nan=True),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_hostile_secrets = st.lists(
    st.text(alphabet=st.sampled_from([c for c in _HOSTILE if not 0xD800 <= ord(c) <= 0xDFFF]), max_size=8),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(value=_hostile_values, secrets=_hostile_secrets, echo=st.booleans())
def test_clean_redact_and_redacted_json_give_the_walks_answer_for_any_json_and_any_secret(value, secrets, echo):
    import json

    from mcp_oauth_clients.untrusted import _redact_text, _walk, clean, redact, redacted_json, secret_forms

    if echo and secrets:
        value = {f"k{secrets[0]}": [value, f"e{secrets[0]}e"], 7: (secrets[0],)}
    forms = secret_forms(secrets)

    def dump(data: object) -> str:
        return json.dumps(data, ensure_ascii=False, default=str)

    walked = _walk(value, lambda text: _redact_text(text, forms)) if forms else value
    assert dump(clean(value, secrets)) == dump(_walk(value, lambda text: _redact_text(escape(text), forms)))
    assert dump(redact(value, secrets)) == dump(walked)
    assert redacted_json(value, secrets) == dump(walked)


def strings_of(value: object) -> list[str]:
    """Every string in `value`, dict keys included, as they are (no repr or JSON escaping in the way)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*strings_of(key), *strings_of(item))]
    if isinstance(value, list | tuple):
        return [text for item in value for text in strings_of(item)]
    return []


@pytest.mark.parametrize(
    "hidden",
    [
        "\x00",
        "\x7f",
        "\x85",
        "\xad",
        "\u200b",
        "\u2028",
        "\u2029",
        "\u0378",
        "\ufffe",
        "\ue000",
        "\ud800",
        "\U000e0041",
    ],
)
def test_one_hidden_character_anywhere_in_an_answer_is_escaped_in_keys_and_values_alike(hidden):
    from mcp_oauth_clients.untrusted import clean, escape_char

    answer = {"result": [{"client_name": f"a{hidden}b", f"odd{hidden}": 1.5, "n": float("nan")}], "count": 3}
    cleaned = clean(answer)
    assert not any(hidden in text for text in strings_of(cleaned))
    assert cleaned["result"][0]["client_name"] == f"a{escape_char(hidden)}b"
    assert f"odd{escape_char(hidden)}" in cleaned["result"][0]


@pytest.mark.parametrize(
    "secret", ['tok"1234', "tok\\1234", "tok\x001234", "tök 12/34+%", "tok@12:34", "tok\u20281234"]
)
def test_a_secret_of_any_characters_is_redacted_in_every_form_from_answers_and_outputs(secret):
    import json
    from urllib.parse import quote

    from mcp_oauth_clients.untrusted import REDACTED, clean, redact, redacted_json

    forms = (secret, quote(secret, safe=""), quote(secret, safe="@:"))
    echoed = {f"key {secret}": [f"x{form}y" for form in forms], "t": (f"x{secret}y",)}
    redacted = redact(echoed, [secret])
    assert all(REDACTED in text for text in strings_of(redacted) if text != "t")
    assert not any(form in text for form in forms for text in strings_of(redacted))
    assert not any(form in text for form in forms for text in strings_of(json.loads(redacted_json(echoed, [secret]))))
    if secret.isprintable():  # clean() escapes a hidden character first, so only then is the echo still whole
        assert not any(form in text for form in forms for text in strings_of(clean(echoed, [secret])))


def test_redact_measured_weighs_a_clean_value_as_the_budget_does_and_walks_one_holding_a_secret():
    from mcp_oauth_clients.budget import size_of
    from mcp_oauth_clients.untrusted import redact_measured

    clean_value = {"client_name": "Café ✓", "redirect_uris": ["https://a.example/cb"], "n": [1, 2]}
    same, size = redact_measured(clean_value, ["tok-secret-123"])
    assert same is clean_value and size == size_of(clean_value)  # UTF-8 bytes, not characters
    echoed = {"client_name": "x tok-secret-123 y", "tok-secret-123": 1}
    redacted, size = redact_measured(echoed, iter(["tok-secret-123"]))  # any iterable of secrets, read once
    assert redacted == {"client_name": "x [REDACTED] y", "[REDACTED]": 1} and size is None
    quoted_secret = 'se"cret'  # a form JSON escapes cannot be found in a dump: the value is walked
    redacted, size = redact_measured({"a": 'x se"cret'}, [quoted_secret])
    assert redacted == {"a": "x [REDACTED]"} and size is None
