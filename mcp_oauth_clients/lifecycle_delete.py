"""The two deletions: a client, and a client's previous (rotated) secret. A person decides both.

The plan names what is lost; a person approves it when asked by the MCP client (the tool's consent
resolvers ask about this plan), else the operator's unattended flag with confirm_irreversible
(`guards.check_approved`). A dry run lists what would be lost and sends nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp_oauth_clients import guards
from mcp_oauth_clients.arguments import parse_arguments
from mcp_oauth_clients.guards import NO_PERSON, Approval, Asking
from mcp_oauth_clients.lifecycle_models import IrreversibleAction
from mcp_oauth_clients.lifecycle_results import (
    DELETE_ROTATED_TOOL,
    ClientDeletionConsent,
    Deletion,
    confirmation_word,
    deletion_question,
)
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.operations import Services, client_path
from mcp_oauth_clients.write_path import Plan, PlannedRequest, WriteAttempt, attempt_write

DELETE = "delete_oauth_client"
DELETE_ROTATED = DELETE_ROTATED_TOOL
NEVER_RETRIED = False  # an approved deletion is one attempt: the person approved that one


# --- the two deletions ---------------------------------------------------------------------------------------


def lost_with_client(client: OAuthClient) -> list[str]:
    """What deleting this client ends for good."""
    lost = [
        "the client's settings, its id and every secret: apps using it can no longer sign anyone in",
        "every user's authorization of it: their access and refresh tokens stop working",
    ]
    if client.visibility == "public":
        lost.append("every installation: it is public, so any Cloudflare user may have authorized it")
    return lost


LOST_WITH_ROTATED = [
    "the previous secret: any app still using it can no longer get tokens (the newest secret keeps working)"
]


async def plan_delete(services: Services, account_id: str, client_id: str, current: OAuthClient | None = None) -> Plan:
    if current is None:
        current, _ = await services.read(account_id, client_id)
    lost = lost_with_client(current)
    return Plan(
        target=services.target(account_id, client_id, DELETE),
        before=current,
        request=PlannedRequest("DELETE", client_path(account_id, client_id), None, NEVER_RETRIED),
        warnings=lost,
        irreversible="This cannot be undone: " + "; ".join(lost) + ".",
    )


async def plan_delete_rotated(
    services: Services, account_id: str, client_id: str, current: OAuthClient | None = None
) -> Plan:
    if current is None:
        current, _ = await services.read(account_id, client_id)
    target = services.target(account_id, client_id, DELETE_ROTATED)
    if current.has_rotated_secret is not True:
        note = "This client has no rotated secret (has_rotated_secret is not true): there is nothing to delete."
        return Plan(target=target, before=current, request=None, notes=[note])
    return Plan(
        target=target,
        before=current,
        request=PlannedRequest("DELETE", client_path(account_id, client_id) + "/rotate_secret", None, NEVER_RETRIED),
        warnings=LOST_WITH_ROTATED,
        irreversible="This cannot be undone: " + LOST_WITH_ROTATED[0] + ".",
    )


async def delete(services: Services, params: IrreversibleAction, approval: Approval, *, rotated: bool) -> Deletion:
    """Preview or delete a client (`rotated` False) or its previous secret (True), once a person approved."""
    planner = plan_delete_rotated if rotated else plan_delete
    action = DELETE_ROTATED if rotated else DELETE
    act = "the deletion of the previous secret" if rotated else "the deletion of the client"
    current = approval.plan.before if approval.plan is not None else None
    if params.dry_run:
        account = services.account_for(params.account_id)
        plan = await planner(services, account, params.oauth_client_id, current)
        return _deletion(services, plan, None, rotated, preview=True, asking=approval.asking)

    async def prepare() -> Plan:
        account = services.account_for(params.account_id)
        guards.check_writable(services.settings)
        plan = await planner(services, account, params.oauth_client_id, current)
        if plan.irreversible is not None:
            guards.check_approved(services.settings, approval, act)
        return plan

    given = params.account_id.lower() if params.account_id else services.settings.default_account
    target = services.target(given, params.oauth_client_id, action)
    attempt = await attempt_write(services.audit, services.cloudflare, target, prepare, lambda _: None)
    if attempt.failure is not None:
        raise attempt.failure
    assert attempt.plan is not None
    return _deletion(services, attempt.plan, attempt, rotated)


def _deletion(
    services: Services,
    plan: Plan,
    attempt: WriteAttempt | None,
    rotated: bool,
    *,
    preview: bool = False,
    asking: Asking = NO_PERSON,
) -> Deletion:
    assert plan.before is not None and plan.target.account_id is not None and plan.target.client_id is not None
    notes = list(plan.notes)
    if preview and plan.irreversible is not None:
        notes.append(asking.sentence())
    return Deletion(
        sandbox=services.settings.sandbox,
        preview=preview,
        outcome=_outcome(plan, attempt),
        what="rotated_secret" if rotated else "client",
        account_id=plan.target.account_id,
        client_id=plan.target.client_id,
        client_name=plan.before.client_name,
        visibility=plan.before.visibility,
        lost=plan.warnings,
        notes=notes,
        request_id=attempt.request_id if attempt is not None else None,
    )


def _outcome(plan: Plan, attempt: WriteAttempt | None) -> Literal["applied", "nothing_to_change"] | None:
    if plan.request is None:
        return "nothing_to_change"
    return "applied" if attempt is not None and attempt.outcome == "applied" else None


async def plan_for_question(services: Services, arguments: dict[str, Any], *, rotated: bool) -> Plan:
    """The plan a person is asked about before a deletion's body runs (it then reuses this read)."""
    params = parse_arguments(IrreversibleAction, arguments)
    planner = plan_delete_rotated if rotated else plan_delete
    return await planner(services, services.account_for(params.account_id), params.oauth_client_id)


def question_for(plan: Plan, *, rotated: bool) -> str:
    assert plan.target.account_id is not None and plan.target.client_id is not None
    irreversible = plan.irreversible or ""
    return deletion_question(plan.target.account_id, plan.target.client_id, plan.before, irreversible, rotated)


def typed_confirms(data: ClientDeletionConsent, plan: Plan) -> bool:
    """The person typed exactly what the question asked for (surrounding spaces aside)."""
    return data.confirm.strip() == confirmation_word(plan.before, plan.target.client_id or "")
