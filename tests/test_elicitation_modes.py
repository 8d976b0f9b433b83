"""Elicitation edge cases (issue 9, point 8): what a client declares decides whether it is asked. The server
runs in this process, spoken to in raw JSON-RPC over the SDK's in-memory streams (the loop stdio runs), so a
test can declare exactly the capability a field client declares."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp.client._memory import InMemoryTransport
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT
from tests.stdio_client import fake_env

PROMOTE = {"name": "update_oauth_client", "arguments": {"oauth_client_id": CLIENT, "visibility": "public"}}


async def promote_declaring(fake, elicitation: dict) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Initialize on protocol 2025-11-25 declaring exactly `elicitation`, ask for a promotion (accepting any
    question); return the JSON-RPC answer and the questions asked."""
    asked: list[dict[str, Any]] = []
    server = build_server(Settings.load(fake_env(fake)))
    async with InMemoryTransport(server) as (read, write):

        async def send(message: dict[str, Any]) -> None:
            await write.send(SessionMessage(jsonrpc_message_adapter.validate_python({"jsonrpc": "2.0", **message})))

        async def answer_to(request_id: int) -> dict[str, Any]:
            while True:
                item = await read.receive()
                assert not isinstance(item, Exception), item
                message = item.message.model_dump(by_alias=True, exclude_none=True, mode="json")
                if message.get("method") == "elicitation/create" and "id" in message:
                    asked.append(message["params"])
                    accept = {"action": "accept", "content": {"make_public": True}}
                    await send({"id": message["id"], "result": accept})
                elif "method" in message and "id" in message:
                    await send({"id": message["id"], "error": {"code": -32601, "message": "no"}})
                elif message.get("id") == request_id:
                    return message

        with anyio.fail_after(60):  # a hang, not a slow machine
            await send(
                {
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {"elicitation": elicitation},
                        "clientInfo": {"name": "url-only-client", "version": "1.0"},
                    },
                }
            )
            await answer_to(1)
            await send({"method": "notifications/initialized"})
            await send({"id": 2, "method": "tools/call", "params": PROMOTE})
            return await answer_to(2), asked


@pytest.mark.anyio
async def test_a_client_declaring_only_url_mode_elicitation_gets_the_refusal_with_steps(fake):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    answer, asked = await promote_declaring(fake, {"url": {}})
    assert "error" not in answer, answer  # a tool result, never a JSON-RPC error
    result = answer["result"]
    assert result["isError"] and "cannot ask a person" in result["content"][0]["text"]
    assert "Next step:" in result["content"][0]["text"]
    assert asked == [] and fake.writes() == []


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [{}, {"form": {}}, {"form": {}, "url": {}}])
async def test_a_client_declaring_form_mode_elicitation_is_asked(fake, declared):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    answer, asked = await promote_declaring(fake, declared)
    result = answer["result"]
    assert not result.get("isError"), result["content"][0]["text"]
    assert len(asked) == 1 and [w.body for w in fake.writes()] == [{"visibility": "public"}]


# --- who limits asking: the MCP client, or the protocol version over stateless HTTP (unit) ---------------


def context(*, over_http: bool, version: str, elicitation: dict | None):
    from types import SimpleNamespace

    from mcp.types import ClientCapabilities

    capabilities = ClientCapabilities.model_validate({"elicitation": elicitation} if elicitation is not None else {})
    return SimpleNamespace(
        request_context=SimpleNamespace(request=object() if over_http else None),
        protocol_version=version,
        client_capabilities=capabilities,
    )


def test_over_stateless_http_on_2025_11_25_the_limit_named_is_the_protocol_version_not_the_client():
    from mcp_oauth_clients.tools import asking_in

    asking = asking_in(context(over_http=True, version="2025-11-25", elicitation={"form": {}}))
    assert "protocol 2025-11-25" in asking.why_not and "not your MCP client" in asking.why_not
    assert "2026-07-28" in asking.next_step


def test_over_http_on_2026_07_28_a_client_declaring_forms_is_asked():
    from mcp_oauth_clients.tools import asking_in

    assert asking_in(context(over_http=True, version="2026-07-28", elicitation={"form": {}})).why_not is None


@pytest.mark.parametrize("elicitation", [None, {"url": {}}])
def test_over_stdio_a_client_without_form_elicitation_is_the_limit_named(elicitation):
    from mcp_oauth_clients.tools import asking_in

    asking = asking_in(context(over_http=False, version="2025-06-18", elicitation=elicitation))
    assert asking.why_not.startswith("this MCP client cannot ask a person")
