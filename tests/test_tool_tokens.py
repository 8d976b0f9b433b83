"""The tool definitions stay lean: cl100k tokens of name + description + inputSchema, as a model receives them."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.tool_tokens import BUDGET_TOTAL, BUDGET_UPDATE, served_tools, tokens_per_tool


@pytest.mark.anyio
async def test_all_tools_fit_the_budget_and_update_fits_its_own():
    counts = tokens_per_tool(await served_tools())
    assert sum(counts.values()) <= BUDGET_TOTAL, counts
    assert counts["update_oauth_client"] <= BUDGET_UPDATE, counts


def test_the_tokenizer_is_cl100k_offline():
    import bpe_openai

    assert bpe_openai.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


@pytest.mark.anyio
async def test_no_tool_says_a_sentence_twice_and_none_carries_an_implementation_note():
    for tool in await served_tools():
        schema = json.dumps(tool["inputSchema"])
        texts = [tool["description"], *re.findall(r'"description": "((?:[^"\\]|\\.)*)"', schema)]
        sentences = [s.strip() for text in texts for s in re.split(r"(?<=[.;:])\s", text) if len(s.strip()) > 25]
        assert len(sentences) == len(set(sentences)), tool["name"]
        assert "pydantic" not in schema and "Replaces the whole stored list" not in schema
