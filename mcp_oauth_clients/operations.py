"""What each tool does, in the domain's words: guard, read when needed, check, write, build the result.

The MCP layer (`tools.py`) only parses arguments and turns failures into `isError` results.
A scalar-only update costs one request; a read comes first only when the change needs it (lists,
add/remove, a dry run, an expected state hash, a promotion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mcp_oauth_clients import guards
from mcp_oauth_clients.audit import AuditLog
from mcp_oauth_clients.cloudflare_client import APIResult, CloudflareClient
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.diff import apply_edits, changes, side_effects, warnings_for
from mcp_oauth_clients.dns_check import VerificationCheck, assess, look_up, names_to_check, next_step
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, CloudflareEmulator
from mcp_oauth_clients.errors import CloudflareAPIError, InvalidInput, Refused, ToolFailure, UnknownOutcome
from mcp_oauth_clients.guards import Consent, ScopeCatalogue
from mcp_oauth_clients.listing import ClientList, ClientQuery, ScopeList, ScopeQuery, client_page, scope_page
from mcp_oauth_clients.models import LIST_FIELDS, MERGED_LISTS, OAuthClientUpdate, parse_arguments
from mcp_oauth_clients.oauth_client import OAuthClient, state_hash, state_hash_mismatch
from mcp_oauth_clients.results import OAuthClientResult
from mcp_oauth_clients.verification import guidance_for


@dataclass
class Services:
    """What every tool call shares for the life of the process (the MCP lifespan state)."""

    settings: Settings
    cloudflare: CloudflareClient
    emulator: CloudflareEmulator | None = None
    scopes: ScopeCatalogue = field(default_factory=ScopeCatalogue)
    audit: AuditLog = field(default_factory=AuditLog)

    def account_for(self, given: str | None) -> str:
        """The call's account_id, else the configured default; refuse when there is neither or it is not allowed."""
        if given:
            account = given.lower()
        elif self.settings.account_id:
            account = self.settings.account_id.lower()
        elif self.settings.sandbox:
            account = DEMO_ACCOUNT_ID
        else:
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
        return _client_from(answer), answer


def is_promotion(params: OAuthClientUpdate) -> bool:
    return params.visibility == "public"


async def update_client(
    services: Services,
    params: OAuthClientUpdate,
    *,
    preflight: OAuthClient | None = None,
    consent: Consent = Consent.NOT_ASKED,
) -> OAuthClientResult:
    """Apply (or preview) an update; every write attempt leaves exactly one audit line, whatever ends it.

    Once the PATCH has left, anything but a usable answer (our own bug, a cancelled call, a server
    shutting down) is recorded as outcome "unknown": Cloudflare may have applied it.
    """
    account_id = services.account_for(params.account_id)
    audit: dict[str, Any] = {
        "account_id": account_id,
        "oauth_client_id": params.oauth_client_id,
        "sandbox": services.settings.sandbox,
    }
    if params.dry_run:
        return await _update(services, account_id, params, preflight, consent, audit)
    try:
        result = await _update(services, account_id, params, preflight, consent, audit)
    except ToolFailure as failure:
        audit.pop(_SENT, None)  # a failure of ours says what happened: only UnknownOutcome leaves it open
        outcome = {"unknown_outcome": "unknown", "refused": "refused", "invalid_input": "refused"}.get(
            failure.kind, "failed"
        )
        services.audit.record(
            **audit, outcome=outcome, reason=failure.kind, request_id=getattr(failure, "request_id", None)
        )
        raise
    except BaseException as exc:  # our bug, or cancellation (client gone, shutdown): still one line, then re-raise
        sent = audit.pop(_SENT, False)
        reason = "internal_error" if isinstance(exc, Exception) else "cancelled"
        services.audit.record(**audit, outcome="unknown" if sent else "failed", reason=reason, request_id=None)
        raise
    audit.pop(_SENT, None)
    services.audit.record(
        **audit, outcome="applied" if result.sent else "nothing_to_change", request_id=result.request_id
    )
    return result


_SENT = "_request_sent"  # set in the audit entry the moment the PATCH leaves; never written to the log


async def _update(
    services: Services,
    account_id: str,
    params: OAuthClientUpdate,
    preflight: OAuthClient | None,
    consent: Consent,
    audit: dict[str, Any],
) -> OAuthClientResult:
    if not params.dry_run:
        guards.check_writable(services.settings)
    body = params.body()
    promotion = is_promotion(params)
    if promotion and (len(body) > 1 or params.edits()):
        raise InvalidInput(
            "Promotion to public must be sent alone. Nothing was sent.",
            next_step='first update the other fields, then call again with only visibility: "public".',
        )
    needs_read = (
        params.dry_run
        or params.expected_state_hash is not None
        or bool(params.edits())
        or bool(body.keys() & LIST_FIELDS)
        or promotion
    )
    current: OAuthClient | None = preflight if promotion else None
    if needs_read and current is None:
        current, _ = await services.read(account_id, params.oauth_client_id)
    notes: list[str] = []
    odd_edited = sorted(current.odd & params.edits().keys()) if current is not None and params.edits() else []
    if odd_edited:
        raise InvalidInput(
            f"add/remove cannot edit {', '.join(odd_edited)}: Cloudflare returned the stored value malformed "
            "(see odd_fields in get_oauth_client). Nothing was sent.",
            next_step="send the whole list instead (it replaces the stored value).",
        )
    if params.edits() and current is not None:
        lists, notes = apply_edits(current, params.edits("add"), params.edits("remove"))
        body = {**body, **lists}
        _recheck(params, body)
        body = {k: v for k, v in body.items() if k not in lists or v != (getattr(current, k) or [])}
    if params.expected_state_hash is not None and current is not None:
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
            stored = set(getattr(current, scope_field, None) or []) if current is not None else set()
            note = await services.scopes.check(
                services.cloudflare, scope_field, [s for s in body[scope_field] if s not in stored]
            )
            if note:
                notes.append(note)

    diff = changes(current, body)
    warnings = warnings_for(current, body, diff)
    effects = side_effects(current, body)
    audit.update(
        fields=sorted(body),
        changes=[c.model_dump(mode="json", exclude_none=True, exclude={"before_read"}) for c in diff],
    )
    if promotion and current is not None:
        guards.check_promotion_ready(current)
        if not params.dry_run:
            guards.check_promotion_consent(services.settings, consent, params.confirm_irreversible)

    if params.dry_run or not body:
        shown_client = current if current is not None else (await services.read(account_id, params.oauth_client_id))[0]
        return _result(
            services,
            account_id,
            shown_client,
            None,
            sent=body,
            preview=params.dry_run,
            changes=diff,
            side_effects=effects,
            warnings=warnings,
            notes=notes,
            state=state_hash(account_id, shown_client, body if params.dry_run else None),
        )

    # A promotion is never retried automatically: the person approved one attempt.
    audit[_SENT] = True
    answer = await services.cloudflare.update_oauth_client(
        account_id, params.oauth_client_id, body, retry=not promotion
    )
    try:
        client = _client_from(answer)
    except CloudflareAPIError as exc:
        # The write was accepted but the answer is unusable: say so, never "failed".
        raise UnknownOutcome(f"Cloudflare accepted it, but its answer could not be read: {exc.summary}") from None
    return _result(
        services,
        account_id,
        client,
        answer.request_id,
        sent=body,
        changes=diff,
        side_effects=effects,
        warnings=warnings,
        notes=notes,
        state=state_hash(account_id, client),
    )


def _recheck(params: OAuthClientUpdate, body: dict[str, Any]) -> None:
    """Check the lists that add/remove produced exactly like lists the caller sent."""
    try:
        parse_arguments(OAuthClientUpdate, {"oauth_client_id": params.oauth_client_id, **body}, MERGED_LISTS)
    except InvalidInput as exc:
        raise InvalidInput(
            "After applying add/remove to the stored lists, the result is refused:\n" + exc.message.split("\n", 1)[-1],
            next_step="remove the stored entries named above too (remove), or send the full list.",
        ) from None


async def get_client(services: Services, account_id: str | None, client_id: str) -> OAuthClientResult:
    """Read one client."""
    account = services.account_for(account_id)
    client, answer = await services.read(account, client_id)
    return _result(services, account, client, answer.request_id, sent={}, state=state_hash(account, client))


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


# A person waits on the answer: DNS gets at most this long per lookup, however long Cloudflare may take.
DNS_TIMEOUT = 5.0


async def check_verification(services: Services, account_id: str | None, client_id: str) -> VerificationCheck:
    """Cloudflare's verification status, plus what DNS shows for the record it expects."""
    account = services.account_for(account_id)
    client, _ = await services.read(account, client_id)
    guidance = guidance_for(client)
    server = services.settings.dns_server
    lookups = []
    if guidance.dns_record is not None and guidance.host:
        lookups = await look_up(names_to_check(guidance.host), server, min(services.settings.timeout, DNS_TIMEOUT))
    finding, found_on, fix = assess(client, lookups)
    return VerificationCheck(
        sandbox=services.settings.sandbox,
        account_id=account,
        client_id=client.client_id,
        client_uri=client.client_uri,
        verification=guidance,
        resolver=f"{server[0]}:{server[1]}" if server else "system",
        lookups=lookups,
        finding=finding,
        found_on=found_on,
        fix=fix,
        next_step=next_step(client, finding),
    )


def _expect_list(answer: APIResult, what: str) -> None:
    """A list route must answer a list: anything else is a broken answer, not an empty account."""
    if not isinstance(answer.result, list):
        raise CloudflareAPIError(
            200, summary=f"Cloudflare's answer did not hold a list of {what}.", request_id=answer.request_id
        )


def _client_from(answer: APIResult) -> OAuthClient:
    try:
        return OAuthClient.model_validate(answer.result)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise CloudflareAPIError(
            200,
            summary=f"Cloudflare's answer did not hold a readable OAuth client (problem with: {', '.join(fields)}).",
            request_id=answer.request_id,
        ) from None


def _result(
    services: Services,
    account_id: str,
    client: OAuthClient,
    request_id: str | None,
    *,
    state: str,
    **extra: Any,
) -> OAuthClientResult:
    return OAuthClientResult(
        sandbox=services.settings.sandbox,
        account_id=account_id,
        client=client,
        verification=guidance_for(client),
        request_id=request_id,
        state_hash=state,
        **extra,
    )
