"""Unit tests of untrusted.quoted(): outside text in a sentence is quoted, escaped and clipped at its limit."""

from __future__ import annotations

import pytest

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
