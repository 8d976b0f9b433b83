"""A person's approval of an irreversible write: whether one can be asked, and what they are asked.

One mechanism for every such write (a promotion, the two deletions): a `Question` gives the plan to ask
about, the form, the message and how the answer reads; `consent_resolvers` turns it into the two SDK
resolvers a tool runs before its body (the resolver form works on both protocol eras). The tool body
reuses the plan's read, so the person approves exactly the client it then acts on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple, cast

from mcp.server.mcpserver import AcceptedElicitation, Context, DeclinedElicitation, Elicit, ElicitationResult, Resolve
from mcp.types import ClientCapabilities
from pydantic import BaseModel, ConfigDict, Field

from mcp_oauth_clients import lifecycle_delete, operations
from mcp_oauth_clients.arguments import parse_arguments
from mcp_oauth_clients.guards import NO_PERSON, Asking, Consent
from mcp_oauth_clients.lifecycle_results import (
    ClientDeletionConsent,
    RotatedSecretDeletionConsent,
)
from mcp_oauth_clients.models import OAuthClientUpdate
from mcp_oauth_clients.untrusted import plain, quoted
from mcp_oauth_clients.write_path import Plan


class PromotionConsent(BaseModel):
    """The one question a person answers before a client goes public."""

    model_config = ConfigDict(defer_build=True)  # built when a person is first asked, not at start-up

    make_public: bool = Field(description="Yes, make this OAuth client public. This cannot be undone.")


def _services(ctx: Context) -> operations.Services:
    return cast(operations.Services, ctx.request_context.lifespan_context)  # what server.py's lifespan yields


def asking_in(ctx: Context) -> Asking:
    """Whether a person can be asked during this call: the protocol over stateless HTTP, then the client, decide."""
    over_http = ctx.request_context.request is not None  # stdio and in-memory calls carry no HTTP request
    version = ctx.protocol_version or "unknown"
    if over_http and version < "2026-07-28":  # ISO dates compare as text
        return Asking(
            f"over stateless HTTP, protocol {plain_version(version)} cannot carry a question to a person during a "
            "call; the limit is the protocol version over stateless HTTP, not your MCP client (2026-07-28 can ask)",
            next_step="ask the person to connect with an MCP client that speaks protocol 2026-07-28",
        )
    return Asking() if can_ask_with_a_form(ctx.client_capabilities) else NO_PERSON


def plain_version(version: str) -> str:
    return version if re.fullmatch(r"\d{4}-\d{2}-\d{2}", version) else quoted(version, 40)


def can_ask_with_a_form(capabilities: ClientCapabilities | None) -> bool:
    """Form-mode elicitation declared: `{"form": {}}`, or an empty `{}` (form mode, MCP 2025-11-25).

    A client declaring only URL mode cannot answer a form; asking it would be a JSON-RPC error.
    """
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None:
        return False
    return elicitation.form is not None or elicitation.url is None


def consent_question(plan: Plan) -> str:
    """The question names the account, the client (name and id) and what cannot be undone."""
    client = plan.before
    name = quoted(client.client_name) if client is not None and client.client_name else "(unnamed)"
    return (
        f"Make the OAuth client {name} ({plain(plan.target.client_id)}) in Cloudflare account "
        f"{plain(plan.target.account_id)} PUBLIC? Any Cloudflare user could then authorize it. {plan.irreversible}"
    )


class Question(NamedTuple):
    """What a write that may need a person's approval asks them, and how their answer reads.

    `plan` makes the write's plan before the tool body (None: nothing to ask about), so the person is asked
    about the client as read then; the body reuses that read. One mechanism for promotion and deletions.
    A NamedTuple, immutable and hashed by its fields as the frozen dataclass was (`consent_resolvers` caches on
    it): before Python 3.13 a dataclass compiles each generated method at import, which start-up pays for.
    """

    plan: Callable[[operations.Services, dict[str, Any]], Awaitable[Plan | None]]
    form: type[BaseModel]
    message: Callable[[Plan], str]
    approves: Callable[[Any, Plan], bool]  # (the accepted form's data, the plan) -> approved


@functools.cache  # the same resolvers for the same question, so the SDK's work on them is done once
def consent_resolvers(question: Question) -> dict[str, Any]:
    """The two resolvers a tool runs before its body: the plan, then, when the client can ask, the question.

    Any problem while planning gives no plan: the tool body then plans again and reports it.
    """

    async def plan_for_consent(arguments: dict[str, Any], ctx: Context) -> Plan | None:
        services = _services(ctx)
        if services.settings.read_only and arguments.get("dry_run") is not True:
            return None  # the body refuses the write before any request; no read is owed to it
        try:
            return await question.plan(services, arguments)
        except Exception:  # noqa: BLE001 - the body reports every failure; a resolver must not crash the call
            return None

    planned = Annotated[Plan | None, Resolve(plan_for_consent)]

    async def ask_consent(arguments: dict[str, Any], ctx: Context, plan: Plan | None) -> Elicit[Any] | None:
        """Ask the person when the plan needs approval, the write could go ahead, and the client can ask."""
        if plan is None or plan.irreversible is None or arguments.get("dry_run") is True:
            return None
        if asking_in(ctx).why_not is not None or _services(ctx).settings.read_only:
            return None
        return Elicit(question.message(plan), question.form)

    # The SDK reads resolver dependencies from real annotations (closures' string ones cannot be evaluated).
    plan_for_consent.__annotations__ = {"arguments": dict[str, Any], "ctx": Context, "return": Plan | None}
    ask_consent.__annotations__ = {
        "arguments": dict[str, Any],
        "ctx": Context,
        "plan": planned,
        "return": Elicit[question.form] | None,  # type: ignore[name-defined]
    }
    return {"plan": planned, "consent": Annotated[ElicitationResult[question.form], Resolve(ask_consent)]}  # type: ignore[name-defined]


def read_consent(outcome: ElicitationResult[Any] | None, question: Question | None, plan: Plan | None) -> Consent:
    if isinstance(outcome, AcceptedElicitation):
        if outcome.data is None or question is None or plan is None:
            return Consent.NOT_ASKED
        return Consent.APPROVED if question.approves(outcome.data, plan) else Consent.DECLINED
    if outcome is None:
        return Consent.NOT_ASKED
    return Consent.DECLINED if isinstance(outcome, DeclinedElicitation) else Consent.CANCELLED


async def _plan_promotion(services: operations.Services, arguments: dict[str, Any]) -> Plan | None:
    if arguments.get("visibility") != "public":
        return None
    params = parse_arguments(OAuthClientUpdate, arguments)
    return await operations.plan_update(services, params, services.account_for(params.account_id))


PROMOTION = Question(_plan_promotion, PromotionConsent, consent_question, lambda data, _: bool(data.make_public))


DELETE_QUESTION = Question(
    functools.partial(lifecycle_delete.plan_for_question, rotated=False),
    ClientDeletionConsent,
    functools.partial(lifecycle_delete.question_for, rotated=False),
    lifecycle_delete.typed_confirms,
)
DELETE_ROTATED_QUESTION = Question(
    functools.partial(lifecycle_delete.plan_for_question, rotated=True),
    RotatedSecretDeletionConsent,
    functools.partial(lifecycle_delete.question_for, rotated=True),
    lambda data, _: bool(data.delete_previous_secret),
)
