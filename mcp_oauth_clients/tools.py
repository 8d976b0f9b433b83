"""The MCP tools: one table of (name, params, operation, rendering, annotations) served by one handler.

Every call runs the same steps in the same order: validate (the params model), call (`operations`),
render (text and structuredContent, both inside the error handling), and on failure return an
`isError` result whose text the failure renders itself. A write tool's refused arguments are audited.
A tool that may need a person's approval (a promotion) runs two resolvers first: the plan, then,
when the MCP client can ask, the question (the SDK's resolver form works on both protocol eras).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from mcp_oauth_clients import budget, checks, lifecycle, lifecycle_delete, operations, secret_links, write_path
from mcp_oauth_clients.arguments import parse_arguments
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.consent import (
    DELETE_QUESTION,
    DELETE_ROTATED_QUESTION,
    PROMOTION,
    Question,
    asking_in,
    consent_resolvers,
    read_consent,
)
from mcp_oauth_clients.descriptions import (
    CHECK_DESCRIPTION,
    CREATE_DESCRIPTION,
    DELETE_DESCRIPTION,
    DELETE_ROTATED_DESCRIPTION,
    GET_DESCRIPTION,
    LIST_CLIENTS_DESCRIPTION,
    LIST_SCOPES_DESCRIPTION,
    READ_ONLY_NOTE,
    ROTATE_DESCRIPTION,
    UPDATE_DESCRIPTION,
)
from mcp_oauth_clients.dns_check import VerificationCheck
from mcp_oauth_clients.dns_check_text import describe_check
from mcp_oauth_clients.errors import InvalidInput, ToolFailure
from mcp_oauth_clients.guards import NO_PERSON, Asking, Consent
from mcp_oauth_clients.lifecycle_models import ClientAction, IrreversibleAction, OAuthClientCreate
from mcp_oauth_clients.lifecycle_results import (
    CreatedClient,
    Deletion,
    SecretRotation,
    describe_created,
    describe_deleted,
    describe_rotated,
)
from mcp_oauth_clients.listing import ClientList, ClientQuery, ScopeList, ScopeQuery, describe_clients, describe_scopes
from mcp_oauth_clients.models import OAuthClientRef, OAuthClientUpdate, ToolParams
from mcp_oauth_clients.results import SANDBOX_BANNER, OAuthClientResult, describe
from mcp_oauth_clients.sdk_shims import derive_output_schemas, model_tool
from mcp_oauth_clients.untrusted import quoted, redact, redact_measured
from mcp_oauth_clients.write_path import Plan

logger = logging.getLogger(__name__)

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)

INTERNAL_ERROR = (
    "Internal error in mcp-oauth-clients ({name}); the details are in the server's log. If this was an update, "
    "its outcome is unknown: read the client back (get_oauth_client) before trying again."
)


# NamedTuples, as immutable as frozen dataclasses: before Python 3.13 a dataclass compiles each generated method
# at import, which start-up pays for. Neither holds a secret (a link's reservation stays out of its repr).
class Resolved(NamedTuple):
    """What ran before the tool body: the plan a person was asked about, their answer, whether one could be asked."""

    plan: Plan | None = None
    consent: Consent = Consent.NOT_ASKED
    asking: Asking = NO_PERSON
    over_http: bool = False  # the person may then not reach this server's disk (where secrets go)
    link: secret_links.LinkDelivery | None = None  # over HTTP: the one-time link its secret goes through


Operation = Callable[[operations.Services, Any, Resolved], Awaitable[BaseModel]]


class ToolSpec(NamedTuple):
    """One row of the tool table."""

    name: str
    params: type[ToolParams]
    output: type[BaseModel]
    run: Operation
    render: Callable[[Any, Any], str]  # (result, params) -> the text a model reads
    annotations: ToolAnnotations
    description: str
    writes: bool = False  # its refusals are audited
    question: Question | None = None  # what it may ask a person before it is sent
    issues_secret: bool = False  # over HTTP, may offer its secret through a one-time link first


def _services(ctx: Context) -> operations.Services:
    return cast(operations.Services, ctx.request_context.lifespan_context)  # what server.py's lifespan yields


async def _handle(
    spec: ToolSpec, arguments: dict[str, Any], ctx: Context, resolved: Resolved
) -> CallToolResult | InputRequiredResult:
    services = _services(ctx)
    try:
        params = parse_arguments(spec.params, arguments)
    except InvalidInput as failure:
        if spec.writes and arguments.get("dry_run") is not True:  # a write refused for its arguments
            write_path.refuse(services.audit, _target_of(services, spec, arguments), failure)
        return _error(services, failure.render())
    try:
        if spec.issues_secret:
            link = secret_links.link_round(ctx, arguments, read_only=services.settings.read_only)
            if isinstance(link, InputRequiredResult):
                return link  # round 1: the person is offered the link; nothing is sent until they accept
            resolved = resolved._replace(link=link)
        result = await spec.run(services, params, resolved)
        text = spec.render(result, params)
    except ToolFailure as failure:
        logger.info("tool call ended: %s", failure.kind)
        return _error(services, failure.render())
    except Exception as exc:  # a bug of ours: the model gets a safe sentence, the operator the traceback
        logger.exception("tool call crashed")
        return _error(services, INTERNAL_ERROR.format(name=type(exc).__name__))
    return _answer(services, result, text)


def _answer(services: operations.Services, result: BaseModel, text: str) -> CallToolResult:
    """The result as text and structuredContent, each within its budget (`budget`), secrets redacted.

    Data too deep to serialise is left out, and the text says so; an answer over a budget is cut, and
    says what was left out and how to narrow the call.
    """
    secrets = services.settings.secrets()  # redacted by value: whatever echoed one, it never comes back out
    size: int | None = None
    try:
        structured, size = redact_measured(result.model_dump(mode="json"), secrets)
    except (ValueError, RecursionError):
        dropped, result = _without_unknown_fields(result)
        text += (
            "\nNote: Cloudflare's answer held unknown fields nested too deeply to pass on; they are left out of "
            f"structuredContent: {', '.join(quoted(name, 80) for name in dropped[:10])}."
        )
        try:
            structured = redact(result.model_dump(mode="json"), secrets)
        except (ValueError, RecursionError):
            logger.exception("result could not be serialised")
            return _error(services, text + "\nIts structured copy could not be built: the text above is the answer.")
    structured, left_out = budget.fit_structured(structured, type(result), size)
    text = redact(text, secrets)
    if left_out is None:
        return CallToolResult(
            content=[TextContent(type="text", text=budget.fit_text(text))], structured_content=structured
        )
    text = f"{budget.fit_text(text, reserve=len(left_out.encode()) + 1)}\n{left_out}"
    try:
        type(result).model_validate(structured)  # what the SDK checks; trimming is designed to keep it valid
    except ValueError:
        logger.exception("trimmed structuredContent no longer validates")
        return _error(services, text + "\nIts structured copy could not be built: the text above is the answer.")
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _without_unknown_fields(result: BaseModel) -> tuple[list[str], BaseModel]:
    """`result` with the unknown (extra) fields of its nested models removed, and their names."""
    dropped: list[str] = []
    update: dict[str, Any] = {}
    for name in type(result).model_fields:
        value = getattr(result, name)
        if isinstance(value, BaseModel) and value.model_extra:
            dropped += [f"{name}.{extra}" for extra in value.model_extra]
            kept = {k: v for k, v in value.__dict__.items()}
            update[name] = type(value).model_construct(_fields_set=value.model_fields_set, **kept)
    return dropped, result.model_copy(update=update)


def _error(services: operations.Services, text: str) -> CallToolResult:
    settings = services.settings
    if settings.sandbox:  # every sandbox answer says so, failures included
        text = f"{SANDBOX_BANNER}\n{text}"
    text = budget.fit_text(redact(text, settings.secrets()))  # a failure's text is bounded like an answer's
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _target_of(services: operations.Services, spec: ToolSpec, arguments: dict[str, Any]) -> write_path.Target:
    """The account and client a refused call named, where they are well-formed (anything else is left out)."""

    def well_formed(name: str, pattern: str) -> str | None:
        given = arguments.get(name)
        return given if isinstance(given, str) and re.fullmatch(pattern, given) else None

    account = well_formed("account_id", checks.ACCOUNT_ID_PATTERN)
    return services.target(
        account.lower() if account else services.settings.default_account,
        well_formed("oauth_client_id", checks.CLIENT_ID_PATTERN),
        spec.name,
    )


# --- the table ---------------------------------------------------------------------------------------


async def _update(services: operations.Services, params: OAuthClientUpdate, r: Resolved) -> OAuthClientResult:
    current = r.plan.before if r.plan is not None else None
    return await operations.update_client(services, params, current=current, consent=r.consent, asking=r.asking)


async def _get(services: operations.Services, params: OAuthClientRef, _: Resolved) -> OAuthClientResult:
    return await operations.get_client(services, params.account_id, params.oauth_client_id)


async def _list_clients(services: operations.Services, query: ClientQuery, _: Resolved) -> ClientList:
    return await operations.list_clients(services, query)


async def _list_scopes(services: operations.Services, query: ScopeQuery, _: Resolved) -> ScopeList:
    return await operations.list_scopes(services, query)


async def _check(services: operations.Services, params: OAuthClientRef, _: Resolved) -> VerificationCheck:
    return await operations.check_verification(services, params.account_id, params.oauth_client_id)


async def _create(services: operations.Services, params: OAuthClientCreate, r: Resolved) -> CreatedClient:
    return await lifecycle.create_client(services, params, over_http=r.over_http, link=r.link)


async def _rotate(services: operations.Services, params: ClientAction, r: Resolved) -> SecretRotation:
    return await lifecycle.rotate_secret(services, params, over_http=r.over_http, link=r.link)


def _deletion(rotated: bool) -> Operation:
    async def run(services: operations.Services, params: IrreversibleAction, r: Resolved) -> Deletion:
        approval = lifecycle_delete.Approval(r.consent, r.asking, params.confirm_irreversible, r.plan)
        return await lifecycle_delete.delete(services, params, approval, rotated=rotated)

    return run


def _write(title: str, read_only: bool, *, destructive: bool, idempotent: bool) -> ToolAnnotations:
    """A write's hints; in read-only mode it only previews, and says so."""
    return ToolAnnotations(
        title=title + (" (read-only: previews only)" if read_only else ""),
        read_only_hint=read_only,
        destructive_hint=destructive and not read_only,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


def _read(title: str) -> ToolAnnotations:
    return READ.model_copy(update={"title": title})


def tool_table(settings: Settings) -> list[ToolSpec]:
    """Every tool the server serves, in the order `tools/list` shows them; read-only mode says so."""
    read_only = settings.read_only
    note = READ_ONLY_NOTE if read_only else ""
    return [
        ToolSpec(
            "update_oauth_client",
            OAuthClientUpdate,
            OAuthClientResult,
            _update,
            lambda result, _: describe(result),
            ToolAnnotations(
                title="Update a Cloudflare OAuth client" + (" (read-only: previews only)" if read_only else ""),
                read_only_hint=read_only,
                destructive_hint=not read_only,
                idempotent_hint=True,
                open_world_hint=True,
            ),
            (READ_ONLY_NOTE if read_only else "") + UPDATE_DESCRIPTION,
            writes=True,
            question=PROMOTION,
        ),
        ToolSpec(
            "get_oauth_client",
            OAuthClientRef,
            OAuthClientResult,
            _get,
            lambda result, _: describe(result),
            _read("Read a Cloudflare OAuth client"),
            GET_DESCRIPTION,
        ),
        ToolSpec(
            "list_oauth_clients",
            ClientQuery,
            ClientList,
            _list_clients,
            describe_clients,
            _read("List Cloudflare OAuth clients"),
            LIST_CLIENTS_DESCRIPTION,
        ),
        ToolSpec(
            "list_oauth_scopes",
            ScopeQuery,
            ScopeList,
            _list_scopes,
            describe_scopes,
            _read("List Cloudflare OAuth scopes"),
            LIST_SCOPES_DESCRIPTION,
        ),
        ToolSpec(
            "check_verification_record",
            OAuthClientRef,
            VerificationCheck,
            _check,
            lambda result, _: describe_check(result),
            _read("Check a client's DNS verification record"),
            CHECK_DESCRIPTION,
        ),
        ToolSpec(
            lifecycle.CREATE,
            OAuthClientCreate,
            CreatedClient,
            _create,
            describe_created,
            _write("Create a Cloudflare OAuth client", read_only, destructive=False, idempotent=False),
            note + CREATE_DESCRIPTION,
            writes=True,
            issues_secret=True,
        ),
        ToolSpec(
            lifecycle.ROTATE,
            ClientAction,
            SecretRotation,
            _rotate,
            describe_rotated,
            _write("Rotate an OAuth client's secret", read_only, destructive=False, idempotent=False),
            note + ROTATE_DESCRIPTION,
            writes=True,
            issues_secret=True,
        ),
        ToolSpec(
            lifecycle_delete.DELETE_ROTATED,
            IrreversibleAction,
            Deletion,
            _deletion(rotated=True),
            describe_deleted,
            _write("Delete an OAuth client's previous secret", read_only, destructive=True, idempotent=True),
            note + DELETE_ROTATED_DESCRIPTION,
            writes=True,
            question=DELETE_ROTATED_QUESTION,
        ),
        ToolSpec(
            lifecycle_delete.DELETE,
            IrreversibleAction,
            Deletion,
            _deletion(rotated=False),
            describe_deleted,
            _write("Delete a Cloudflare OAuth client", read_only, destructive=True, idempotent=True),
            note + DELETE_DESCRIPTION,
            writes=True,
            question=DELETE_QUESTION,
        ),
    ]


def _registered(spec: ToolSpec) -> Tool:
    async def call(
        arguments: dict[str, Any], ctx: Context, values: dict[str, Any]
    ) -> CallToolResult | InputRequiredResult:
        plan = values.get("plan")
        consent = read_consent(values.get("consent"), spec.question, plan)
        resolved = Resolved(plan, consent, asking_in(ctx), over_http=ctx.request_context.request is not None)
        return await _handle(spec, arguments, ctx, resolved)

    return model_tool(
        call,
        spec.params,
        spec.output,
        name=spec.name,
        description=spec.description,
        annotations=spec.annotations,
        resolved=consent_resolvers(spec.question) if spec.question is not None else None,
    )


def build_tools(settings: Settings) -> list[Tool]:
    """The table's tools, registered with the SDK."""
    table = tool_table(settings)
    derive_output_schemas(spec.output for spec in table)
    return [_registered(spec) for spec in table]
