"""Every answer is bounded: hostile Cloudflare answers (within its 8 MiB cap) stay under the text and
structuredContent budgets, bounded at the cause where possible and at the MCP edge for every tool.

Each case is served in memory (`mcp.Client(server)` over `httpx.MockTransport`); the SDK validates a
trimmed structuredContent against the tool's output model, so an answer that is not an error proves it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from mcp import Client

from mcp_oauth_clients import budget
from mcp_oauth_clients.budget import STRUCTURED_BUDGET, TEXT_BUDGET, fit_structured, fit_text, size_of
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.emulator import CloudflareEmulator, demo_client
from mcp_oauth_clients.listing import ENTRY_CHARS, ClientList
from mcp_oauth_clients.server import build_server
from mcp_oauth_clients.tools import tool_table
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio

LIST_PATH = f"/client/v4/accounts/{ACCOUNT}/oauth_clients"


def transport(emulator: CloudflareEmulator, answers: dict[str, Any] | None = None) -> httpx.MockTransport:
    """The emulator, except the GET paths in `answers`, which return that envelope as Cloudflare's answer."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and answers and request.url.path in answers:
            return httpx.Response(200, content=json.dumps(answers[request.url.path]).encode())
        answer = emulator.handle(request.method, request.url.path, dict(request.headers), request.content)
        return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

    return httpx.MockTransport(handler)


async def call(emulator: CloudflareEmulator, tool: str, arguments: dict[str, Any], answers=None):
    server = build_server(settings_for("https://api.example.test/client/v4"), transport=transport(emulator, answers))
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    return result, result.content[0].text


def within_budget(result: Any, text: str) -> None:
    assert not result.is_error, text[:2000]
    assert len(text.encode()) <= TEXT_BUDGET, len(text.encode())
    assert size_of(result.structured_content) <= STRUCTURED_BUDGET, size_of(result.structured_content)


def envelope(result: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result, **extra}


async def test_a_7_mb_list_page_of_huge_names_and_hosts_renders_within_the_budget_with_every_entry_clipped():
    big = "N" * 70_000
    clients = [{**demo_client(f"{i:032x}", f"{'h' * 60}.example.com"), "client_name": f"{i} {big}"} for i in range(100)]
    assert len(json.dumps(clients)) > 7_000_000
    emulator = CloudflareEmulator(tokens={TOKEN}, seed=False)
    result, text = await call(emulator, "list_oauth_clients", {}, {LIST_PATH: envelope(clients)})
    within_budget(result, text)
    entries = result.structured_content["clients"]
    assert len(entries) == 20 and all(len(e["client_name"]) == ENTRY_CHARS for e in entries)
    assert "More: 80 more; call again with offset 20." in text  # the page says how to go on
    assert len(text) < 8_000  # bounded at the cause: each line is clipped, no edge cut needed
    assert "left_out" not in result.structured_content or result.structured_content["left_out"] is None


async def test_a_total_count_of_1e308_is_no_count_and_prints_no_309_digits():
    emulator = CloudflareEmulator(tokens={TOKEN})
    every = list(emulator.clients.values())
    info = {"count": 3, "page": 1, "per_page": 100, "total_count": 1e308}
    result, text = await call(emulator, "list_oauth_clients", {}, {LIST_PATH: envelope(every, result_info=info)})
    within_budget(result, text)
    assert result.structured_content["total_count"] is None and result.structured_content["not_returned"] == 0
    assert not re.search(r"\d{20}", text) and "e+308" not in text


@pytest.mark.slow
async def test_a_5_mb_scope_catalogue_renders_one_bounded_page():
    catalogue = [
        {"id": f"s{i}.read", "name": "n" * 40_000, "category": "c" * 40_000, "scopes": ["x" * 100] * 30}
        for i in range(60)
    ]
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.scopes = catalogue
    result, text = await call(emulator, "list_oauth_scopes", {})
    within_budget(result, text)
    page = result.structured_content["scopes"]
    assert all(len(s["name"]) == ENTRY_CHARS for s in page)  # clipped at the cause
    assert "More: 20 more; call again with offset 40." in text and text.count("\n- ") == 40
    assert '"scopes" ' in result.structured_content["left_out"]  # the edge cut the page, and says so


@pytest.mark.slow
async def test_a_preview_against_a_2_5_mb_stored_list_counts_the_entries_and_trims_structured_content():
    emulator = CloudflareEmulator(tokens={TOKEN})
    stored = [f"https://app.example.com/callback/{i:06d}/{'p' * 100}" for i in range(20_000)]
    emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"] = stored
    assert len(json.dumps(stored)) > 2_500_000
    arguments = {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://new.example.com/cb"]}, "dry_run": True}
    result, text = await call(emulator, "update_oauth_client", arguments)
    within_budget(result, text)
    assert "and 19,9" in text and '(added "https://new.example.com/cb")' in text  # counted, not printed
    left_out = result.structured_content["left_out"]
    assert left_out.startswith("[structuredContent cut to its 64 KB budget") and "get_oauth_client" in left_out
    assert "client.redirect_uris" in left_out and left_out in text  # said in both, with how to narrow
    assert result.structured_content["state_hash"] in text  # the hash to apply it survives the cut


async def test_a_read_of_a_client_with_thousands_of_unknown_fields_drops_them_first_and_says_so():
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)].update({f"extra_{i}": "v" * 100 for i in range(5_000)})
    result, text = await call(emulator, "get_oauth_client", {"oauth_client_id": CLIENT})
    within_budget(result, text)
    client = result.structured_content["client"]
    assert client["client_name"] == "Demo OAuth App" and "extra_0" not in client
    assert 'unknown fields left out: "client.extra_0"' in result.structured_content["left_out"]


async def test_a_huge_cloudflare_error_is_a_bounded_failure():
    emulator = CloudflareEmulator(tokens={TOKEN})
    errors = [{"code": 1000 + i, "message": "m" * 5_000} for i in range(1_000)]
    answers = {f"{LIST_PATH}/{CLIENT}": {"success": False, "errors": errors, "messages": [], "result": None}}
    result, text = await call(emulator, "get_oauth_client", {"oauth_client_id": CLIENT}, answers)
    assert len(text.encode()) <= TEXT_BUDGET


def every_tool() -> list[str]:
    return [spec.name for spec in tool_table(Settings())]


ARGUMENTS = {
    "update_oauth_client": {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://b.example.com/cb"]}},
    "list_oauth_clients": {},
    "list_oauth_scopes": {},
    "create_oauth_client": {
        "client_name": "New App",
        "redirect_uris": [f"https://new.example.com/cb/{i}" for i in range(60)],
        "scopes": ["account.read"],
    },
}


def arguments_for(tool: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A call that reads, or previews (dry run), the seeded client; a new tool needing more must be added above."""
    arguments = dict(ARGUMENTS.get(tool, {"oauth_client_id": CLIENT}))
    missing = [f for f in schema.get("required", []) if f not in arguments]
    if missing:
        pytest.fail(f"{tool}: add its arguments to ARGUMENTS (missing {missing})")
    if "dry_run" in schema.get("properties", {}):
        arguments["dry_run"] = True
    return arguments


async def ordinary_then_cut(tool: str, dns: Any, lower: Any) -> tuple[Any, Any]:
    """A tool's ordinary answer, then the same call again after `lower(ordinary)` set smaller budgets."""
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"] = [f"https://app.example.com/cb/{i}" for i in range(60)]
    # A name as long as a hostile Cloudflare may store it: the answers that carry little else (a rotation, a
    # deletion) are then over a lowered budget too.
    emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = "Demo OAuth App " + "n" * 3_000
    for i in range(40):
        extra = demo_client(f"{i:032x}")
        emulator.clients[(ACCOUNT, extra["client_id"])] = extra
    emulator.scopes += [{"id": f"s{i}.read", "name": f"Scope {i}", "category": "Extra"} for i in range(60)]
    dns.zone.zone["app.example.com"] = [[f"record {i} " + "t" * 150] for i in range(8)]
    ip, port = dns.address.rsplit(":", 1)  # the DNS check asks this loopback resolver only
    settings = settings_for("https://api.example.test/client/v4", dns_server=(ip, int(port)))
    async with Client(build_server(settings, transport=transport(emulator))) as client:
        schema = {t.name: t.input_schema for t in (await client.list_tools()).tools}[tool]
        arguments = arguments_for(tool, schema)
        ordinary = await client.call_tool(tool, arguments)
        lower(ordinary)
        return ordinary, await client.call_tool(tool, arguments)


@pytest.mark.parametrize("tool", every_tool())
async def test_every_tools_text_over_the_budget_is_cut_at_the_edge_saying_what_was_left_out(tool, monkeypatch, dns):
    def lower(ordinary: Any) -> None:
        size = len(ordinary.content[0].text.encode())
        monkeypatch.setattr(budget, "TEXT_BUDGET", min(size // 2 + 300, size - 1))  # always below the answer

    ordinary, result = await ordinary_then_cut(tool, dns, lower)
    text = result.content[0].text
    assert not result.is_error and len(text.encode()) <= budget.TEXT_BUDGET
    assert "[Left out: the last" in text and "an offset" in text and "get_oauth_client" in text
    assert ordinary.content[0].text.startswith(text.rsplit("\n", 1)[0])  # whole lines of the answer, in order


@pytest.mark.parametrize("tool", every_tool())
async def test_every_tools_structured_content_over_the_budget_is_trimmed_and_still_validates(tool, monkeypatch, dns):
    def lower(ordinary: Any) -> None:
        monkeypatch.setattr(budget, "STRUCTURED_BUDGET", size_of(ordinary.structured_content) // 2 + budget.NOTE_ROOM)

    _, result = await ordinary_then_cut(tool, dns, lower)
    text, structured = result.content[0].text, result.structured_content
    assert not result.is_error, text  # the SDK validated the trimmed structuredContent against the output model
    assert size_of(structured) <= budget.STRUCTURED_BUDGET
    assert structured["left_out"].startswith("[structuredContent cut to its") and structured["left_out"] in text
    assert "get_oauth_client" in structured["left_out"]


def test_text_under_the_budget_is_untouched_and_over_it_is_cut_at_a_line_end_saying_how_much():
    assert fit_text("short\ntext") == "short\ntext"
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(1_000))
    cut = fit_text(text)
    assert len(cut.encode()) <= TEXT_BUDGET and cut.startswith("line 0 ")
    kept, note = cut.rsplit("\n", 1)
    assert text.startswith(kept + "\n")  # whole lines only
    assert note.startswith(f"[Left out: the last {len(text) - len(kept):,} characters (")
    assert "a filter" in note and "an offset" in note and "get_oauth_client" in note


def test_structured_content_under_the_budget_is_untouched():
    data = ClientList(sandbox=False, account_id="a" * 32, clients=[], matched=0, offset=0, returned=0).model_dump(
        mode="json"
    )
    assert fit_structured(data, ClientList) == (data, None)
