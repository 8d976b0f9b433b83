"""What each tool does, in the domain's words: the reads, and the update as a plan applied on the write path.

The MCP layer (`tools.py`) parses arguments and renders the results. An update always reads the
client first (one GET, then the PATCH): every change shows its before, an expected state hash is
always checked, and the audit's intent line holds the before values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mcp_oauth_clients import dns_check, guards
from mcp_oauth_clients.arguments import describe_validation_error
from mcp_oauth_clients.audit import AuditLog
from mcp_oauth_clients.cloudflare_client import APIResult, CloudflareClient
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.diff import PROMOTION_IS_FINAL, apply_edits, changes, side_effects, stored_changes, warnings_for
from mcp_oauth_clients.dns_check import VerificationCheck
from mcp_oauth_clients.dns_lookup import NoResolver, TXTResolver
from mcp_oauth_clients.errors import InvalidInput, Refused, UnknownOutcome, UnreadableAnswer
from mcp_oauth_clients.guards import Asking, Consent, ScopeCatalogue
from mcp_oauth_clients.listing import ClientList, ClientQuery, ScopeList, ScopeQuery, client_page, scope_page
from mcp_oauth_clients.models import MERGED_LISTS, OAuthClientUpdate
from mcp_oauth_clients.oauth_client import OAuthClient, state_hash, state_hash_mismatch
from mcp_oauth_clients.results import OAuthClientResult
from mcp_oauth_clients.verification import guidance_for
from mcp_oauth_clients.write_path import Plan, PlannedRequest, Target, WriteAttempt, attempt_write

UPDATE = "update_oauth_client"


# Only __init__ is generated: nothing compares or prints the lifespan state, and before Python 3.13 each
# generated method is compiled at import, which start-up pays for.
@dataclass(eq=False, repr=False)
class Services:
    """What every tool call shares for the life of the process (the MCP lifespan state)."""

    settings: Settings
    cloudflare: CloudflareClient
    emulator: Any = None  # the sandbox's emulator, if any: typed loosely so the domain never imports the sandbox
    scopes: ScopeCatalogue = field(default_factory=ScopeCatalogue)
    audit: AuditLog = field(default_factory=AuditLog)
    # Who answers the DNS check, chosen by the lifespan: the sandbox's zone or the system's resolver.
    dns: TXTResolver = field(default_factory=NoResolver)

    def account_for(self, given: str | None) -> str:
        """The call's account_id, else the default account; refuse when there is neither or it is not allowed."""
        account = given.lower() if given else self.settings.default_account
        if account is None:
            raise InvalidInput(
                "account_id is required: this server has no default account (CLOUDFLARE_ACCOUNT_ID is not set). "
                "Nothing was sent.",
                next_step="pass account_id (32 hexadecimal characters from the Cloudflare dashboard URL), or ask a "
                "person to set CLOUDFLARE_ACCOUNT_ID for this server.",
            )
        guards.check_account_allowed(self.settings, account)
        return account

    async def read(self, account_id: str, client_id: str) -> tuple[OAuthClient, APIResult]:
        answer = await self.cloudflare.get_oauth_client(account_id, client_id)
        return client_from(answer), answer

    def target(self, account_id: str | None, client_id: str | None, action: str = UPDATE) -> Target:
        return Target(action, account_id, client_id, self.settings.sandbox)


def client_path(account_id: str, client_id: str) -> str:
    return f"/accounts/{account_id}/oauth_clients/{client_id}"


async def plan_update(
    services: Services, params: OAuthClientUpdate, account_id: str, current: OAuthClient | None = None
) -> Plan:
    """The update `params` asks for, against the client as read now (`current`, or one GET): nothing is sent.

    Refuses (InvalidInput, Refused) what cannot be sent: a promotion mixed with other fields, add/remove
    on a malformed stored list, a list that add/remove made invalid, a stale expected_state_hash, unknown
    scopes, a promotion whose requirements are unmet.
    """
    body = params.body()
    promotion = params.visibility == "public"
    if promotion and (len(body) > 1 or params.edits()):  # the one place this rule lives
        raise InvalidInput(
            "Promotion to public must be sent alone. Nothing was sent.",
            next_step='first update the other fields, then call again with only visibility: "public".',
        )
    if current is None:
        current, _ = await services.read(account_id, params.oauth_client_id)
    notes: list[str] = []
    if params.edits():
        odd_edited = sorted(current.odd & params.edits().keys())
        if odd_edited:
            raise InvalidInput(
                f"add/remove cannot edit {', '.join(odd_edited)}: Cloudflare returned the stored value malformed "
                "(see odd_fields in get_oauth_client). Nothing was sent.",
                next_step="send the whole list instead (it replaces the stored value).",
            )
        lists, notes = apply_edits(current, params.edits("add"), params.edits("remove"))
        _recheck(params.oauth_client_id, {**body, **lists})
        body = {**body, **{k: v for k, v in lists.items() if v != (getattr(current, k) or [])}}
    if promotion and current.visibility == "public":
        del body["visibility"]
        notes.append("The client is already public: there is nothing to send and no one to ask.")
    if params.expected_state_hash is not None:
        # Checked on the final body, add/remove applied: the hash pins what would be sent, not the arguments.
        mismatch = state_hash_mismatch(params.expected_state_hash, account_id, current, body)
        if mismatch:
            raise Refused(
                f"expected_state_hash does not match: {mismatch}. Nothing was written.",
                next_step="run the dry run again with the arguments you mean to apply, review the new preview, "
                "then apply those same arguments with its state_hash.",
            )
    for scope_field in ("scopes", "optional_scopes"):
        if scope_field in body:
            stored = set(getattr(current, scope_field) or [])
            new = [s for s in body[scope_field] if s not in stored]
            if note := await services.scopes.check(services.cloudflare, scope_field, new):
                notes.append(note)
    irreversible = None
    if "visibility" in body:
        guards.check_promotion_ready(current)
        irreversible = PROMOTION_IS_FINAL
    diff = changes(current, body)
    return Plan(
        target=services.target(account_id, params.oauth_client_id),
        before=current,
        # A promotion is never retried automatically: the person approved one attempt.
        request=PlannedRequest("PATCH", client_path(account_id, params.oauth_client_id), body, irreversible is None)
        if body
        else None,
        changes=diff,
        side_effects=side_effects(current, body),
        warnings=warnings_for(current, body, diff),
        notes=notes,
        irreversible=irreversible,
        state_hash=state_hash(account_id, current, body),
    )


def _recheck(client_id: str, body: dict[str, object]) -> None:
    """Check the lists that add/remove produced exactly like lists the caller sent."""
    try:
        OAuthClientUpdate.model_validate({"oauth_client_id": client_id, **body}, context=MERGED_LISTS)
    except ValidationError as exc:
        problems = describe_validation_error(exc, set_aside=set(), meant_more=False)
        raise InvalidInput(
            "After applying add/remove to the stored lists, the result is refused:\n" + "\n".join(problems),
            next_step="remove the stored entries named above too (remove), or send the full list.",
        ) from None


async def update_client(
    services: Services,
    params: OAuthClientUpdate,
    *,
    current: OAuthClient | None = None,
    consent: Consent = Consent.NOT_ASKED,
    asking: Asking = guards.NO_PERSON,
) -> OAuthClientResult:
    """Preview (dry run) or apply an update; a failure is raised as the `ToolFailure` that ended it.

    `current` is the client as read earlier in this call (the consent question was asked about it);
    `consent` is what the person said, `asking` whether one could be asked.
    """
    if params.dry_run:
        account_id = services.account_for(params.account_id)
        return preview(services, await plan_update(services, params, account_id, current), asking)
    attempt = await apply_update(services, params, current=current, consent=consent, asking=asking)
    if attempt.failure is not None:
        raise attempt.failure
    return written(services, attempt)


async def apply_update(
    services: Services,
    params: OAuthClientUpdate,
    *,
    current: OAuthClient | None = None,
    consent: Consent = Consent.NOT_ASKED,
    asking: Asking = guards.NO_PERSON,
) -> WriteAttempt:
    """One update attempt on the write path: guards, plan, consent, then audit-first apply."""
    given_account = params.account_id.lower() if params.account_id else services.settings.default_account

    async def prepare() -> Plan:
        account_id = services.account_for(params.account_id)
        guards.check_writable(services.settings)
        plan = await plan_update(services, params, account_id, current)
        if plan.irreversible is not None:
            guards.check_promotion_consent(services.settings, consent, params.confirm_irreversible, asking)
        return plan

    target = services.target(given_account, params.oauth_client_id)
    return await attempt_write(services.audit, services.cloudflare, target, prepare, written_client)


def written_client(answer: APIResult) -> OAuthClient:
    """The client a write's answer holds; an answer that cannot be read leaves the outcome unknown."""
    try:
        return client_from(answer)
    except UnreadableAnswer as exc:
        raise UnknownOutcome(f"Cloudflare accepted it, but its answer could not be read: {exc.message}") from None


def preview(services: Services, plan: Plan, asking: Asking) -> OAuthClientResult:
    """A dry run's result: the plan, with whether a person will be asked when it needs one."""
    assert plan.before is not None and plan.target.account_id is not None
    warnings = list(plan.warnings)
    if plan.irreversible is not None:
        warnings.append(asking.sentence())
    return _result(
        services,
        plan.target.account_id,
        plan.before,
        None,
        preview=True,
        sent=plan.body,
        changes=plan.changes,
        side_effects=plan.side_effects,
        warnings=warnings,
        notes=plan.notes,
        state=plan.state_hash or "",
    )


def written(services: Services, attempt: WriteAttempt) -> OAuthClientResult:
    """An applied (or nothing-to-change) attempt's result: the stored client, before -> stored for each field."""
    plan = attempt.plan
    assert plan is not None and plan.before is not None and plan.target.account_id is not None
    account_id = plan.target.account_id
    client = attempt.after if attempt.after is not None else plan.before
    return _result(
        services,
        account_id,
        client,
        attempt.request_id,
        outcome=attempt.outcome,
        sent=plan.body,
        changes=stored_changes(plan.before, client, plan.body, plan.side_effects) if attempt.after else [],
        side_effects=plan.side_effects,
        warnings=plan.warnings,
        notes=plan.notes,
        state=state_hash(account_id, client),
    )


async def get_client(services: Services, account_id: str | None, client_id: str) -> OAuthClientResult:
    """Read one client."""
    account = services.account_for(account_id)
    client, answer = await services.read(account, client_id)
    return _result(services, account, client, answer.request_id, state=state_hash(account, client))


async def list_clients(services: Services, query: ClientQuery) -> ClientList:
    """One read of the account's clients (the documented single page), filtered and cut to one page of ours."""
    account = services.account_for(query.account_id)
    answer = await services.cloudflare.list_oauth_clients(account)
    _expect_list(answer, "OAuth clients")
    page, counts = client_page(answer.result, answer.result_info, query)
    return ClientList(
        sandbox=services.settings.sandbox, account_id=account, clients=page, request_id=answer.request_id, **counts
    )


async def list_scopes(services: Services, query: ScopeQuery) -> ScopeList:
    """Cloudflare's scope catalogue, filtered by the search text."""
    answer = await services.cloudflare.list_scopes()
    _expect_list(answer, "scopes")
    return scope_page(answer.result, query, services.settings.sandbox)


async def check_verification(services: Services, account_id: str | None, client_id: str) -> VerificationCheck:
    """Cloudflare's verification status, plus what DNS (the sandbox's zone, in the sandbox) shows for the record."""
    account = services.account_for(account_id)
    client, _ = await services.read(account, client_id)
    return await dns_check.check_verification(
        client,
        account_id=account,
        oauth_client_id=client_id,
        sandbox=services.settings.sandbox,
        resolver=services.dns,
        audit=services.audit,
    )


def _expect_list(answer: APIResult, what: str) -> None:
    """A list route must answer a list: anything else is a broken answer, not an empty account."""
    if not isinstance(answer.result, list):
        raise UnreadableAnswer(
            f"Cloudflare answered success, but its answer did not hold a list of {what}. Nothing was written.",
            next_step="try again in a minute; if it persists, Cloudflare's API has changed: report it.",
            request_id=answer.request_id,
        )


def client_from(answer: APIResult) -> OAuthClient:
    """The OAuth client an answer holds; `UnreadableAnswer` naming the fields when it holds none."""
    try:
        return OAuthClient.model_validate(answer.result)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        problem = f" (problem with: {', '.join(fields)})" if fields else f" (a JSON {type(answer.result).__name__})"
        raise UnreadableAnswer(
            f"Cloudflare answered success, but its answer did not hold a readable OAuth client{problem}. "
            "Nothing was written.",
            next_step="try again in a minute; if it persists, Cloudflare's API has changed: report it.",
            request_id=answer.request_id,
        ) from None


def _result(
    services: Services,
    account_id: str,
    client: OAuthClient,
    request_id: str | None,
    *,
    state: str,
    **extra: object,
) -> OAuthClientResult:
    return OAuthClientResult(
        sandbox=services.settings.sandbox,
        account_id=account_id,
        client=client,
        verification=guidance_for(client),
        request_id=request_id,
        state_hash=state,
        **extra,  # type: ignore[arg-type]  # the remaining OAuthClientResult fields, by name
    )
