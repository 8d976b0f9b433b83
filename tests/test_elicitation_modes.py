"""Elicitation edge cases over the real entry points (issue 9, point 8)."""

from __future__ import annotations

import pytest

from tests.conftest import ACCOUNT, CLIENT
from tests.stdio_client import RawClient, fake_env


class CapabilityClient(RawClient):
    """A raw stdio client that declares exactly the elicitation capability it is given."""

    def __init__(self, env: dict[str, str], elicitation: dict) -> None:
        super().__init__(env, on_elicit=lambda params: {"action": "accept", "content": {"make_public": True}})
        self.declared = elicitation

    def initialize(self) -> dict:
        answer = self.request(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {"elicitation": self.declared},
                "clientInfo": {"name": "url-only-client", "version": "1.0"},
            },
        )
        self.notify("notifications/initialized")
        return answer


def test_a_client_declaring_only_url_mode_elicitation_gets_the_refusal_with_steps_over_stdio(fake):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    client = CapabilityClient(fake_env(fake), {"url": {}})
    try:
        client.initialize()
        answer = client.request(
            "tools/call",
            {"name": "update_oauth_client", "arguments": {"oauth_client_id": CLIENT, "visibility": "public"}},
        )
    finally:
        client.close()
    assert "error" not in answer, answer  # a tool result, never a JSON-RPC error
    result = answer["result"]
    assert result["isError"] and "cannot ask a person" in result["content"][0]["text"]
    assert "Next step:" in result["content"][0]["text"]
    assert client.elicitations == [] and fake.writes() == []


@pytest.mark.parametrize("declared", [{}, {"form": {}}, {"form": {}, "url": {}}])
def test_a_client_declaring_form_mode_elicitation_is_asked_over_stdio(fake, declared):
    fake.emulator.mark_verified(ACCOUNT, CLIENT)
    client = CapabilityClient(fake_env(fake), declared)
    try:
        client.initialize()
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})
    finally:
        client.close()
    assert not error, text
    assert len(client.elicitations) == 1 and [w.body for w in fake.writes()] == [{"visibility": "public"}]


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
