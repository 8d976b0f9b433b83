"""A client's life on the write path: create, and rotate its secret (the deletions: `lifecycle_delete`).

Each is a plan (guards, one read of the client where there is one, checks: nothing sent) applied by
`write_path.attempt_write` (audit intent, one request, outcome). Two rules of their own:

- A secret never reaches a model, a log, the audit or an error. Before a create or rotation is sent, a
  place is reserved for its secret (`lifecycle_secrets`: a new 0600 file, or over HTTP a one-time link the
  person accepted; refused with nothing sent when there is none); the secret is taken out of Cloudflare's
  answer the moment it arrives (`take_secret`), before the answer is kept by the attempt, and put there.
  Results carry the file's path or the link's expiry, and the secret's fingerprint.
- A create or rotation is sent once (a retry could make two clients, or lose a secret), and an answer
  lost on the way is followed by a read of what now exists.
"""

from __future__ import annotations

from pathlib import Path

from mcp_oauth_clients import guards
from mcp_oauth_clients.cloudflare_client import APIResult
from mcp_oauth_clients.diff import side_effects
from mcp_oauth_clients.errors import CloudflareAPIError, Refused, ToolFailure
from mcp_oauth_clients.lifecycle_models import ClientAction, OAuthClientCreate
from mcp_oauth_clients.lifecycle_results import (
    DELETE_ROTATED_TOOL,
    LIST_TOOL,
    ROTATE_TOOL,
    CreatedClient,
    SecretFile,
    SecretHandling,
    SecretOutcomeUnknown,
    SecretRotation,
    found_by_name,
)
from mcp_oauth_clients.lifecycle_secrets import (
    SECRETS_DIR_VARIABLE,
    SecretCatch,
    handling,
    secret_store,
    secrets_folder,
)
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.operations import Services, client_path, written_client
from mcp_oauth_clients.secret_links import LinkDelivery, SecretLink
from mcp_oauth_clients.secret_store import SecretStore
from mcp_oauth_clients.untrusted import quoted
from mcp_oauth_clients.verification import guidance_for
from mcp_oauth_clients.write_path import Plan, PlannedRequest, WriteAttempt, attempt_write

CREATE = "create_oauth_client"
ROTATE = ROTATE_TOOL
NEVER_RETRIED = False  # PlannedRequest.retry of a create or rotation: one attempt, whatever its answer


# --- create ------------------------------------------------------------------------------------------------


async def plan_create(services: Services, params: OAuthClientCreate, account_id: str) -> Plan:
    """The create `params` asks for: unknown scopes refused, nothing sent."""
    body = params.body()
    notes: list[str] = []
    for scope_field in ("scopes", "optional_scopes"):
        if body.get(scope_field) and (
            note := await services.scopes.check(services.cloudflare, scope_field, body[scope_field])
        ):
            notes.append(note)
    return Plan(
        target=services.target(account_id, None, CREATE),
        before=None,
        request=PlannedRequest("POST", f"/accounts/{account_id}/oauth_clients", body, NEVER_RETRIED),
        side_effects=side_effects(None, body),
        notes=notes,
    )


async def create_client(
    services: Services, params: OAuthClientCreate, *, over_http: bool = False, link: LinkDelivery | None = None
) -> CreatedClient:
    """Preview or create a client; its secret goes to a new file or the person's one-time link (`link`), never
    into the result."""
    settings = services.settings
    if params.dry_run:
        account = services.account_for(params.account_id)
        plan = await plan_create(services, params, account)
        folder = secrets_folder(settings)
        notes = list(plan.notes)
        if folder is None and over_http and link is None:
            notes.append(f"Over HTTP the create is refused unless the operator sets {SECRETS_DIR_VARIABLE}.")
        return CreatedClient(
            sandbox=settings.sandbox,
            preview=True,
            account_id=account,
            sent=plan.body,
            secret=_previewed(folder, link),
            side_effects=plan.side_effects,
            notes=notes,
        )
    catch = SecretCatch()

    async def prepare() -> Plan:
        account = services.account_for(params.account_id)
        guards.check_writable(settings)
        plan = await plan_create(services, params, account)
        catch.reserve(secret_store(settings, over_http=over_http, link=link), account, params.client_name)
        return plan

    def read(answer: APIResult) -> OAuthClient:
        catch.keep(answer, "created")
        return written_client(answer)

    given = params.account_id.lower() if params.account_id else settings.default_account
    try:
        attempt = await attempt_write(
            services.audit, services.cloudflare, services.target(given, None, CREATE), prepare, read
        )
    finally:
        _close(catch, link)
    if attempt.outcome == "unknown" or _unreadable_success(attempt.failure):
        raise await _lost_create(services, attempt, params.client_name, catch.file)
    client = _applied(attempt)
    account = attempt.target.account_id or ""
    guidance = guidance_for(client)
    steps = []
    if guidance.dns_record is not None:
        steps.append("verify the client URI host: add the DNS record above, then check_verification_record.")
    steps.append("the client is private; making it public is a later step that a person approves.")
    return CreatedClient(
        sandbox=settings.sandbox,
        account_id=account,
        sent=attempt.plan.body if attempt.plan is not None else {},
        client=client,
        verification=guidance,
        secret=catch.handling(),
        side_effects=attempt.plan.side_effects if attempt.plan is not None else [],
        notes=attempt.plan.notes if attempt.plan is not None else [],
        next_steps=steps,
        request_id=attempt.request_id,
    )


async def _lost_create(
    services: Services, attempt: WriteAttempt, name: str, kept: SecretFile | None
) -> SecretOutcomeUnknown:
    """Look the name up in the account's list, so the answer says whether a client of that name now exists."""
    matches: list[OAuthClient] | None = None
    if attempt.target.account_id is not None:
        try:
            answer = await services.cloudflare.list_oauth_clients(attempt.target.account_id)
            items = answer.result if isinstance(answer.result, list) else []
            named = [item for item in items if isinstance(item, dict) and item.get("client_name") == name]
            matches = [OAuthClient.model_validate(item) for item in named]
        except ToolFailure:
            matches = None
    return SecretOutcomeUnknown(
        "create",
        found_by_name(name, matches),
        f"call {LIST_TOOL} (name: {quoted(name, 80)}) to check again before creating it again; if a new client "
        f"is there and its secret is not in a file, call {ROTATE_TOOL} on it.",
        secret=kept,
    )


def _unreadable_success(failure: ToolFailure | None) -> bool:
    """A 2xx whose body could not be read: the secret may be in it, and the failure's text quotes the body,
    so it is reported from what is found now, never in its own words."""
    return isinstance(failure, CloudflareAPIError) and 200 <= failure.status < 300


def _applied(attempt: WriteAttempt) -> OAuthClient:
    if attempt.failure is not None:
        raise attempt.failure
    assert attempt.after is not None  # an applied create's answer was read into a client, or it failed
    return attempt.after


def _close(catch: SecretCatch, link: LinkDelivery | None) -> None:
    """Give up whatever no secret came for: the reserved file, and a link refused before it was reserved
    (the person's page then stops waiting); a written file and a filled link stay."""
    catch.discard()
    if link is not None and link.reservation is not None:
        link.reservation.discard()


def _previewed(folder: Path | None, link: LinkDelivery | None) -> SecretHandling:
    """Where a previewed call's secret would go: the one-time link it would offer, else the folder's new file."""
    if link is not None:
        return handling(link=SecretLink())
    return SecretHandling(folder=str(folder or SecretStore().folder))


# --- rotate ------------------------------------------------------------------------------------------------


async def plan_rotate(services: Services, account_id: str, client_id: str, current: OAuthClient | None = None) -> Plan:
    """A rotation of a client with no rotated secret pending (one pending would leave three secrets in play)."""
    if current is None:
        current, _ = await services.read(account_id, client_id)
    if current.has_rotated_secret:
        raise Refused(
            "This client already has a rotated secret pending: its previous secret still works beside the newer "
            "one. Nothing was sent.",
            next_step=f"once every app uses the newer secret, call {DELETE_ROTATED_TOOL}, then rotate again.",
        )
    return Plan(
        target=services.target(account_id, client_id, ROTATE),
        before=current,
        request=PlannedRequest("POST", client_path(account_id, client_id) + "/rotate_secret", None, NEVER_RETRIED),
    )


CLEAN_UP = f"the previous secret keeps working: once every app uses the new one, call {DELETE_ROTATED_TOOL} to end it."
# When the new secret reached no one, the previous one is the only secret anyone holds: never advise ending it.
KEEP_PREVIOUS = (
    f"keep using the previous secret and do not call {DELETE_ROTATED_TOOL}: it would end the only secret anyone "
    "holds. A new rotation is refused while this one is pending; ask the person how to proceed."
)


async def rotate_secret(
    services: Services, params: ClientAction, *, over_http: bool = False, link: LinkDelivery | None = None
) -> SecretRotation:
    """Preview or rotate a client's secret; the new secret goes to a new file or the person's one-time link
    (`link`), the old one keeps working."""
    settings = services.settings
    if params.dry_run:
        account = services.account_for(params.account_id)
        plan = await plan_rotate(services, account, params.oauth_client_id)
        return _rotation(services, plan, _previewed(secrets_folder(settings), link), None, preview=True)
    catch = SecretCatch()

    async def prepare() -> Plan:
        account = services.account_for(params.account_id)
        guards.check_writable(settings)
        plan = await plan_rotate(services, account, params.oauth_client_id)
        assert plan.before is not None
        catch.reserve(
            secret_store(settings, over_http=over_http, link=link),
            account,
            plan.before.client_name or params.oauth_client_id,
        )
        return plan

    def read(answer: APIResult) -> None:
        if isinstance(answer.result, dict):
            answer.result.setdefault("client_id", params.oauth_client_id)  # the file names the client
        catch.keep(answer, "rotated")

    given = params.account_id.lower() if params.account_id else settings.default_account
    target = services.target(given, params.oauth_client_id, ROTATE)
    try:
        attempt = await attempt_write(services.audit, services.cloudflare, target, prepare, read)
    finally:
        _close(catch, link)
    if attempt.outcome == "unknown" or _unreadable_success(attempt.failure):
        raise await _lost_rotation(services, attempt, catch.file)
    if attempt.failure is not None:
        raise attempt.failure
    assert attempt.plan is not None
    return _rotation(services, attempt.plan, catch.handling(), attempt.request_id)


def _rotation(
    services: Services, plan: Plan, secret: SecretHandling, request_id: str | None, *, preview: bool = False
) -> SecretRotation:
    assert plan.before is not None and plan.target.account_id is not None and plan.target.client_id is not None
    return SecretRotation(
        sandbox=services.settings.sandbox,
        preview=preview,
        account_id=plan.target.account_id,
        client_id=plan.target.client_id,
        client_name=plan.before.client_name,
        secret=secret,
        next_steps=[CLEAN_UP if preview or secret.file is not None or secret.link is not None else KEEP_PREVIOUS],
        request_id=request_id,
    )


async def _lost_rotation(services: Services, attempt: WriteAttempt, kept: SecretFile | None) -> SecretOutcomeUnknown:
    account, client_id = attempt.target.account_id or "", attempt.target.client_id or ""
    try:
        current, _ = await services.read(account, client_id)
        found = (
            "Read back just now: a rotated secret is pending, so the rotation most likely happened; the previous "
            "secret keeps working."
            if current.has_rotated_secret
            else "Read back just now: no rotated secret is pending, so the rotation most likely did not happen."
        )
    except ToolFailure:
        found = "Reading the client back failed too."
    return SecretOutcomeUnknown(
        "rotation",
        found,
        f"do not call {DELETE_ROTATED_TOOL} unless the new secret is in a file: it would end the previous secret, "
        "the one your apps use. Read the client (get_oauth_client) to see has_rotated_secret.",
        secret=kept,
    )
