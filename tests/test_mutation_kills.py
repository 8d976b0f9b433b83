"""Tests written for mutants that survived scripts/mutation_test.py: each pins a behaviour no other test held.

Each test names what it proves; the mutant it was written for is said in a comment beside it.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.func_metadata import StrictJsonSchema, _inline_root_ref
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, TypeAdapter, create_model

from mcp_oauth_clients.budget import Budgeted
from mcp_oauth_clients.cloudflare_client import APIResult, CloudflareClient
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.diff import stored_changes
from mcp_oauth_clients.errors import InvalidInput, Refused
from mcp_oauth_clients.guards import (
    NO_PERSON,
    UNATTENDED,
    Approval,
    Asking,
    Consent,
    ScopeCatalogue,
    check_approved,
    promotion_requirements,
)
from mcp_oauth_clients.models import ToolParams
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.sdk_shims import inline_refs, model_tool
from mcp_oauth_clients.server import build_server
from mcp_oauth_clients.verification import guidance_for


def _client(uri: str) -> OAuthClient:
    return OAuthClient.model_validate(
        {
            "client_id": "c1",
            "visibility": "private",
            "client_name": "App",
            "client_uri": uri,
            "client_uri_verification": {"status": "pending", "text": "cloudflare_oauth_client_publisher=abc"},
        }
    )


# verification.py guidance_for: quoted(host, 80) -> 79 / 81, and the words "The client URI host" dropped.
def test_a_host_dns_cannot_hold_is_named_in_the_next_step_as_the_client_uri_host_clipped_to_80_characters():
    host = "a." * 1017 + "com"
    [step] = guidance_for(_client(f"https://{host}/")).next_steps
    assert step.startswith(f'The client URI host "{host[:79]}…" is not a name DNS can hold (')


def test_a_host_of_exactly_80_characters_is_named_whole():
    host = "x" * 64 + "." + "y" * 11 + ".com"  # a 64-character label: no name DNS can hold
    assert len(host) == 80
    [step] = guidance_for(_client(f"https://{host}/")).next_steps
    assert step.startswith(f'The client URI host "{host}" is not a name DNS can hold (')


# diff.py stored_changes: " ".join(explained) -> "".join(explained).
def test_every_side_effect_cloudflare_had_on_scopes_is_given_as_its_own_sentence_in_the_stored_change():
    before = OAuthClient.model_validate({"client_id": "c1", "scopes": ["email"]})
    after = OAuthClient.model_validate({"client_id": "c1", "scopes": ["email", "profile", "openid", "offline_access"]})
    effects = ["id_token brought openid.", "refresh_token brought offline_access."]
    [change] = stored_changes(before, after, {"scopes": ["email", "profile"]}, effects)
    assert change.field == "scopes" and change.added == ["profile", "openid", "offline_access"]
    assert change.reason == "id_token brought openid. refresh_token brought offline_access."


def _cloudflare(monkeypatch: pytest.MonkeyPatch) -> tuple[CloudflareClient, list[httpx.Request], list[httpx.Limits]]:
    """A client whose every request is recorded, and the pool limits it gives httpx, as it gives them."""
    requests: list[httpx.Request] = []
    limits_seen: list[httpx.Limits] = []

    class Recorded(httpx.AsyncClient):
        def __init__(self, *args: Any, limits: httpx.Limits, **kwargs: Any) -> None:
            limits_seen.append(limits)
            super().__init__(*args, limits=limits, **kwargs)

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        result = {"client_id": "c" * 32, "visibility": "private", "client_name": "App"}
        return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": result})

    monkeypatch.setattr(httpx, "AsyncClient", Recorded)
    settings = Settings(credentials=Credentials(api_token="tok"), base_url="https://api.example.test/client/v4")
    return CloudflareClient(settings, transport=httpx.MockTransport(answer)), requests, limits_seen


# cloudflare_client.py USER_AGENT: the contact URL dropped.
@pytest.mark.anyio
async def test_every_request_names_the_project_and_where_to_reach_it_in_the_user_agent(monkeypatch):
    client, requests, _ = _cloudflare(monkeypatch)
    await client.get_oauth_client("a" * 32, "c" * 32)
    [request] = requests
    agent = request.headers["user-agent"]
    assert agent.startswith("mcp-oauth-clients/")
    assert agent.endswith(" (+https://github.com/mcp-oauth-clients/mcp-oauth-clients)")


# cloudflare_client.py CloudflareClient._http: max_connections / max_keepalive_connections 10 -> 9 / 11.
@pytest.mark.anyio
async def test_the_connection_pool_holds_the_ten_connections_docs_security_promises_all_kept_alive(monkeypatch):
    client, _, limits_seen = _cloudflare(monkeypatch)
    await client.get_oauth_client("a" * 32, "c" * 32)
    [limits] = limits_seen
    assert (limits.max_connections, limits.max_keepalive_connections) == (10, 10)


# guards.py Approval: confirm_irreversible defaults to True.
def test_an_approval_says_nothing_about_confirm_irreversible_unless_told_so_the_operator_flag_alone_refuses():
    with pytest.raises(Refused):
        check_approved(Settings(allow_unattended_promotion=True), Approval(), "the promotion")


# guards.py check_approved: "Nothing was written." dropped; Asking.next_step's default emptied.
def test_without_a_person_the_refusal_says_nothing_was_written_and_to_use_a_client_that_can_ask():
    with pytest.raises(Refused) as caught:
        check_approved(Settings(), Approval(), "the promotion")
    assert caught.value.message == (
        f"The promotion cannot be undone, and no person can approve it here: {NO_PERSON.why_not}. Nothing was written."
    )
    assert caught.value.next_step.startswith(
        "ask the person to use an MCP client that supports elicitation, or to do it themselves in the Cloudflare"
    )


# guards.py Asking.sentence: the ": " between why no person can be asked and the rule dropped.
def test_a_preview_says_why_no_person_can_be_asked_then_the_unattended_rule_as_one_sentence():
    assert (
        NO_PERSON.sentence() == f"This MCP client cannot ask a person (it declares no form elicitation): {UNATTENDED}"
    )


# guards.py promotion_requirements: quoted(record.value, 2000) -> 2001.
def test_the_txt_value_in_an_unmet_requirement_is_bounded_to_2000_characters_after_its_hidden_characters_are_escaped():
    text = "x" * 1995 + "\u200b"  # 1996 characters, 2001 once the zero-width space is written as \u200b
    client = OAuthClient.model_validate(
        {
            "client_id": "c1",
            "visibility": "private",
            "client_name": "App",
            "logo_uri": "https://app.example.com/logo.png",
            "scopes": ["account.read"],
            "client_uri": "https://app.example.com/",
            "client_uri_verification": {"status": "pending", "text": text},
        }
    )
    [unmet] = promotion_requirements(client)
    # clipped before the escape (quoted() never cuts one in half); the 2001 mutant would show it whole
    assert f'with the value "{"x" * 1995}…" (the whole value' in unmet


def test_a_parsed_host_is_remembered_only_for_a_url_of_usual_length():
    from mcp_oauth_clients.oauth_client import _cached_host, uri_host

    _cached_host.cache_clear()
    assert uri_host("https://app.example.com/x") == uri_host("https://app.example.com/x") == "app.example.com"
    assert _cached_host.cache_info().hits == 1
    long = "https://" + "a" * 2100 + ".example.com/"
    assert uri_host(long) == "a" * 2100 + ".example.com"
    assert uri_host("https://[::1") is uri_host("https://[::1")  # unparseable, the same marker each time
    assert _cached_host.cache_info().currsize == 2  # the long one was not kept


class _Colour(enum.Enum):
    RED = "red"


class _Window(BaseModel):
    start: int = 0


class _OddDefaults(BaseModel):
    """Defaults of every kind: JSON scalars, and values pydantic must encode (an enum, a model, a tuple)."""

    colour: _Colour = _Colour.RED
    window: _Window = _Window(start=3)
    pair: tuple[int, int] = (1, 2)
    note: str = "n"
    count: int = 2
    ratio: float = 0.5
    flag: bool = True
    nothing: None = None


async def _echo(arguments: dict[str, Any], ctx: Any, values: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text="ok")], structured_content={"said": arguments})


class _Said(BaseModel):
    said: dict[str, Any]


_READ = ToolAnnotations(read_only_hint=True)


# sdk_shims.py _Schemas.encode_default: `type(dft) in _JSON_SCALARS` -> `not in` (the encoded default replaced by
# the raw value for an enum, a model or a tuple).
def test_a_tools_input_schema_writes_every_default_as_pydantic_does_an_enum_a_model_and_a_tuple_included():
    tool = model_tool(_echo, _OddDefaults, _Said, name="odd", description="d", annotations=_READ)
    expected = inline_refs(_OddDefaults.model_json_schema())
    assert expected["properties"]["colour"]["default"] == "red"  # encoded, not the enum member
    assert tool.parameters == expected
    assert json.dumps(tool.parameters) == json.dumps(expected)  # key order too


# sdk_shims.py _output_schema: `if output_model not in _OUTPUT_SCHEMAS` -> `in`, and its derive call dropped.
@pytest.mark.anyio
async def test_a_tool_whose_output_model_was_never_derived_publishes_the_sdks_schema_and_answers_a_call():
    echo = create_model("Echo", said=(dict[str, Any], ...))  # a model made here: no schema of it exists yet
    tool = model_tool(_echo, _OddDefaults, echo, name="echo", description="d", annotations=_READ)
    derived = _inline_root_ref(TypeAdapter(echo).json_schema(schema_generator=StrictJsonSchema))
    async with Client(MCPServer("t", tools=[tool])) as client:
        [listed] = (await client.list_tools()).tools
        answer = await client.call_tool("echo", {"note": "hi"})
    assert listed.output_schema == derived
    assert not answer.is_error and answer.structured_content == {"said": {"note": "hi"}}


# sdk_shims.py _output_schema: `return _OUTPUT_SCHEMAS[output_model]` -> `return None` (the SDK then derives each
# tool's schema again, for every tool and every server: the start-up cost the shim exists to save).
def test_each_output_schema_is_derived_once_per_process_and_its_parts_shared_by_every_tool_and_server():
    # The SDK's models copy the top-level dict they are given; what they hold is the one derived schema's.
    first, second = (build_server(Settings(sandbox=True))._tool_manager.list_tools() for _ in range(2))
    for one, other in zip(first, second, strict=True):
        assert one.output_schema is not None and other.output_schema is not None, one.name
        assert one.output_schema["properties"] is other.output_schema["properties"], one.name
    by_model: dict[type, list[Any]] = {}
    for tool in first:
        by_model.setdefault(tool.fn_metadata.output_model, []).append(tool.output_schema["properties"])
    shared = [parts for parts in by_model.values() if len(parts) > 1]
    assert shared and all(all(p is parts[0] for p in parts) for parts in shared)


# guards.py check_approved, the branch where a person could have been asked but was not: its raise dropped, its
# words cut or its act misspelt, its next step emptied.
def test_the_unattended_flag_does_not_stand_in_for_a_person_who_could_be_asked_but_was_not():
    settings = Settings(allow_unattended_promotion=True)
    skipped = Approval(Consent.NOT_ASKED, Asking(why_not=None), confirm_irreversible=True)
    with pytest.raises(Refused) as caught:
        check_approved(settings, skipped, "the deletion")
    assert caught.value.message == (
        "The deletion cannot be undone, and the person was not asked this time (the client could not be read "
        "before the question). Nothing was written."
    )
    assert caught.value.next_step == "call again: the person will be asked in your MCP client."
    check_approved(settings, Approval(Consent.NOT_ASKED, NO_PERSON, confirm_irreversible=True), "the deletion")


class _Scopes:
    """A stand-in Cloudflare client whose scope catalogue holds `ids`."""

    def __init__(self, *ids: str) -> None:
        self.ids = ids

    async def list_scopes(self) -> APIResult:
        return APIResult([{"id": i} for i in self.ids], None, 1)


async def _refusal(known: _Scopes, scopes: list[str]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        await ScopeCatalogue().check(known, "scopes", scopes)  # type: ignore[arg-type]  # only list_scopes is used
    return caught.value.message.splitlines()[1:]


# guards.py ScopeCatalogue.check: closest(scope, known, most=3) -> most=4.
@pytest.mark.anyio
async def test_an_unknown_scope_gets_at_most_three_suggestions_when_more_are_close():
    known = _Scopes("account.read", "account.reads", "accounts.read", "account.reed", "account.rea")
    [line] = await _refusal(known, ["account.raed"])
    assert line.count('", "') == 2  # three quoted suggestions
    assert line.startswith('- scopes: "account.raed" is not a Cloudflare OAuth scope; closest: ')


# guards.py ScopeCatalogue.check: quoted(scope, 120) -> 119 / 121, for the caller's scope and for a suggestion.
@pytest.mark.anyio
async def test_a_long_unknown_scope_and_a_long_suggested_id_are_each_clipped_to_120_characters():
    word = "service." + "r" * 56  # 64 characters: the longest word that is searched
    long_id = word + "s" * 60  # 124 characters, still close enough to be suggested
    misspelt = word.replace(".r", ".x", 1)
    [line] = await _refusal(_Scopes(long_id), [misspelt])
    assert line == f'- scopes: "{misspelt}" is not a Cloudflare OAuth scope; closest: "{long_id[:119]}…"'
    long_scope = "service." + "q" * 192  # 200 characters: no suggestion is searched for, but it is named
    [line] = await _refusal(_Scopes("account.read"), [long_scope])
    assert line == f'- scopes: "{long_scope[:119]}…" is not a Cloudflare OAuth scope'


# models.py ToolParams: defer_build=True -> False (and budget.py Budgeted's, which no run mutates yet). Start-up
# defines every params and output model and builds each only as tools/list derives its schema, never the bases.
def test_a_params_model_and_an_output_model_are_built_when_first_used_not_when_defined():
    class Params(ToolParams):
        name: str = "x"

    class Output(Budgeted):
        count: int = 0

    assert not Params.__pydantic_complete__ and not Output.__pydantic_complete__
    assert Params.model_json_schema()["properties"]["name"]["default"] == "x"
    assert Output.model_validate({"count": 2}).count == 2
    assert Params.__pydantic_complete__ and Output.__pydantic_complete__
