"""The MCP tools: thin wrappers that parse arguments, delegate to `operations`, and map failures.

Every tool body runs the same steps in the same order: validate (the params model), call
(`operations`), describe (`results`), and on failure return an `isError` result whose text is
written for the model, with nothing sent when the arguments were refused.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from mcp_oauth_clients import checks, operations
from mcp_oauth_clients.errors import ToolFailure
from mcp_oauth_clients.models import OAuthClientUpdate, parse_arguments
from mcp_oauth_clients.results import OAuthClientResult, describe

logger = logging.getLogger(__name__)

UPDATE_DESCRIPTION = """\
Change settings of an existing Cloudflare OAuth client (PATCH).
- Send only the fields to change; every field you omit stays as it is.
- Array fields (redirect_uris, scopes, allowed_cors_origins, ...) REPLACE the whole stored list: \
include every entry that must remain, or users of a dropped redirect URI are locked out.
- visibility "public" promotes the client and can never be undone; it needs a client name, a logo URI, \
a verified client URI host and at least one non-identity scope.
- Arguments are checked before anything is sent; a refused call names the field and sends nothing.
The result holds the client as Cloudflare stored it, and, when the client URI host is not yet verified, \
the exact DNS TXT record a person must add."""

GET_DESCRIPTION = """\
Read one Cloudflare OAuth client: its settings, visibility, and the DNS TXT record still needed to \
verify its client URI host, if any. Changes nothing."""


class GetOAuthClient(BaseModel):
    """Arguments of get_oauth_client."""

    model_config = ConfigDict(extra="forbid", title="get_oauth_client")

    account_id: str | None = Field(
        default=None,
        description="Account identifier (32 hexadecimal characters). Optional when the server has a default "
        "account (CLOUDFLARE_ACCOUNT_ID).",
        pattern=checks.ACCOUNT_ID_PATTERN,
    )
    oauth_client_id: str = Field(
        description="The unique identifier for an OAuth client.", pattern=checks.CLIENT_ID_PATTERN
    )


class _RawArguments(ArgModelBase):
    """Hands the call's arguments to the tool untouched, so one params model alone validates them.

    The SDK would otherwise build its own argument model from the function signature, which nests a
    model parameter under its name and silently drops unknown arguments.
    """

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def model_tool(
    fn: Callable[..., Awaitable[Any]],
    params_model: type[BaseModel],
    *,
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
) -> Tool:
    """Register `fn(arguments, ctx)` with `params_model`'s own JSON schema as its flat inputSchema."""
    tool = Tool.from_function(fn, name=name, title=title, description=description, annotations=annotations)
    tool.fn_metadata.arg_model = _RawArguments
    tool.parameters = params_model.model_json_schema()
    return tool


async def _run(action: Callable[[], Awaitable[tuple[OAuthClientResult, str]]]) -> CallToolResult:
    try:
        result, text = await action()
    except ToolFailure as failure:
        logger.info("tool call ended: %s", failure.kind)
        return CallToolResult(content=[TextContent(type="text", text=str(failure))], is_error=True)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json"),
    )


def _services(ctx: Context) -> operations.Services:
    return ctx.request_context.lifespan_context


async def update_oauth_client(arguments: dict[str, Any], ctx: Context) -> Annotated[CallToolResult, OAuthClientResult]:
    async def action() -> tuple[OAuthClientResult, str]:
        params = parse_arguments(OAuthClientUpdate, arguments)
        result = await operations.update_client(_services(ctx), params)
        return result, describe(result, action="Updated")

    return await _run(action)


async def get_oauth_client(arguments: dict[str, Any], ctx: Context) -> Annotated[CallToolResult, OAuthClientResult]:
    async def action() -> tuple[OAuthClientResult, str]:
        params = parse_arguments(GetOAuthClient, arguments)
        result = await operations.get_client(_services(ctx), params.account_id, params.oauth_client_id)
        return result, describe(result, action="Read")

    return await _run(action)


def build_tools() -> list[Tool]:
    """Every tool the server serves, in the order `tools/list` shows them."""
    return [
        model_tool(
            update_oauth_client,
            OAuthClientUpdate,
            name="update_oauth_client",
            title="Update a Cloudflare OAuth client",
            description=UPDATE_DESCRIPTION,
            annotations=ToolAnnotations(
                title="Update a Cloudflare OAuth client",
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
        ),
        model_tool(
            get_oauth_client,
            GetOAuthClient,
            name="get_oauth_client",
            title="Read a Cloudflare OAuth client",
            description=GET_DESCRIPTION,
            annotations=ToolAnnotations(
                title="Read a Cloudflare OAuth client",
                read_only_hint=True,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=True,
            ),
        ),
    ]
