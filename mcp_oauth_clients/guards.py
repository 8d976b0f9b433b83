"""Guard rails: containment, read-only mode, the scope catalogue, promotion pre-flight, and a person's approval
of every irreversible step (`check_approved`).

Each guard raises `Refused` (or `InvalidInput`) before anything is written, with what to do instead.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import anyio

from mcp_oauth_clients.checks import is_identity_scope
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.errors import InvalidInput, Refused, ToolFailure
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.suggestions import closest
from mcp_oauth_clients.untrusted import quoted
from mcp_oauth_clients.verification import MAX_VALUE_CHARS, guidance_for
from mcp_oauth_clients.write_path import Plan

logger = logging.getLogger(__name__)


def check_account_allowed(settings: Settings, account_id: str) -> None:
    """Refuse any account outside `MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS`, before any request."""
    if settings.allowed_accounts and account_id not in settings.allowed_accounts:
        raise Refused(
            f"Account {account_id} is not one this server may touch (MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS). "
            "Nothing was sent.",
            next_step="use one of the allowed accounts: " + ", ".join(sorted(settings.allowed_accounts)) + ".",
        )


def check_writable(settings: Settings) -> None:
    """Refuse a real write in read-only mode (dry runs do not come here)."""
    if settings.read_only:
        raise Refused(
            "This server runs read-only (--read-only / MCP_OAUTH_CLIENTS_READ_ONLY): writes are refused. "
            "Nothing was written.",
            next_step="call again with dry_run: true to preview the change, and ask a person with write access "
            "to apply it.",
        )


def promotion_requirements(client: OAuthClient) -> list[str]:
    """Every unmet requirement for promotion to public, each with how to meet it."""
    unmet = []
    if client.odd_fields:
        names = ", ".join(sorted({o.field for o in client.odd_fields}))
        unmet.append(f"well-formed stored fields: Cloudflare returned {names} malformed; set them again first.")
    if not (client.client_name or "").strip():
        unmet.append("a non-empty client_name: set one with update_oauth_client (client_name).")
    if not client.logo_uri:
        unmet.append("a logo URI: set logo_uri to an https URL of the logo.")
    guidance = guidance_for(client)
    if guidance.status != "verified":
        if guidance.dns_record is not None:
            record = guidance.dns_record
            unmet.append(
                f"a verified client URI host (now {quoted(guidance.status)}): add a DNS TXT record on "
                f"{quoted(record.name)} with the value {quoted(record.value, MAX_VALUE_CHARS)} (the whole value, "
                "prefix included, without the quotes), then wait for Cloudflare "
                "to verify it (it polls for up to two days)."
            )
        elif guidance.host is None:
            unmet.append("a verified client URI host: set client_uri first, then add the TXT record it gives.")
        else:
            unmet.append(
                f"a verified client URI host ({quoted(guidance.host)}, status {quoted(guidance.status or 'unknown')}): "
                "read the client again for the TXT record to add."
            )
    if not any(not is_identity_scope(s) for s in client.scopes or []):
        unmet.append(
            "at least one non-identity scope, e.g. account.read (our reading: a dot-delimited API scope; "
            "openid, profile, email and offline_access are identity scopes)."
        )
    return unmet


def check_promotion_ready(client: OAuthClient) -> None:
    unmet = promotion_requirements(client)
    if unmet:
        raise Refused(
            "The client cannot be made public yet. Nothing was written. Unmet requirements:\n"
            + "\n".join(f"- {u}" for u in unmet),
            next_step="meet every requirement above, then ask for the promotion again.",
        )


class Consent(enum.Enum):
    """What the person said about an irreversible change."""

    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NOT_ASKED = "not_asked"  # no person could be asked (see Asking)


class Asking(NamedTuple):
    """Whether a person can be asked to approve a change in the MCP client in use, and if not, why.

    `why_not` is a clause naming the limit: the MCP client (no form elicitation), or the protocol
    version over stateless HTTP (the client may well support elicitation; the transport cannot carry it).
    A NamedTuple, as immutable as a frozen dataclass: before Python 3.13 a dataclass compiles each
    generated method at import, which start-up pays for.
    """

    why_not: str | None = None
    next_step: str = "ask the person to use an MCP client that supports elicitation"

    def sentence(self) -> str:
        """What a preview of an irreversible change says about approval."""
        if self.why_not is None:
            return "A person will be asked in your MCP client to approve this before it is sent."
        return f"{self.why_not[0].upper()}{self.why_not[1:]}: {UNATTENDED}"


NO_PERSON = Asking("this MCP client cannot ask a person (it declares no form elicitation)")
UNATTENDED = (
    "the change is refused unless an operator started this server with --allow-unattended-promotion and the "
    "call carries confirm_irreversible: true."
)


# Never compared, hashed or printed: eq and repr are not generated (see Asking); notes' default list needs a
# dataclass, so it is not a NamedTuple.
@dataclass(frozen=True, eq=False, repr=False)
class Approval:
    """What was said about an irreversible step: the person's answer, whether one could be asked, the flag."""

    consent: Consent = Consent.NOT_ASKED
    asking: Asking = NO_PERSON
    confirm_irreversible: bool = False
    plan: Plan | None = None  # the plan the person was asked about (its client, read once)
    notes: list[str] = field(default_factory=list)


def check_approved(settings: Settings, approval: Approval, act: str) -> None:
    """A person decides `act` (promotion, a deletion): their answer, or, only where none can be asked, the
    operator's unattended flag plus confirm_irreversible. The model's flag alone is never approval."""
    if approval.consent is Consent.APPROVED:
        return
    if approval.consent in (Consent.DECLINED, Consent.CANCELLED):
        raise Refused(
            f"The person {approval.consent.value} {act}. Nothing was written.",
            next_step="leave it as it is unless the person asks again.",
        )
    if approval.asking.why_not is None:
        # A person could have been asked here but was not (the read before the question failed): the operator's
        # flag stands in only for a person who cannot be asked, never for one who can.
        raise Refused(
            f"{act[0].upper()}{act[1:]} cannot be undone, and the person was not asked this time (the client could "
            "not be read before the question). Nothing was written.",
            next_step="call again: the person will be asked in your MCP client.",
        )
    if settings.allow_unattended_promotion and approval.confirm_irreversible:
        return
    why_not = approval.asking.why_not
    raise Refused(
        f"{act[0].upper()}{act[1:]} cannot be undone, and no person can approve it here: {why_not}. "
        "Nothing was written.",
        next_step=f"{approval.asking.next_step}, or to do it themselves in the Cloudflare dashboard. An operator may "
        "instead start this server with --allow-unattended-promotion (it covers every irreversible step), after "
        "which a call carrying confirm_irreversible: true is accepted.",
    )


def check_promotion_consent(
    settings: Settings, consent: Consent, confirm_irreversible: bool, asking: Asking = NO_PERSON
) -> None:
    """`check_approved` for a promotion to public, in the update path's terms."""
    check_approved(settings, Approval(consent, asking, confirm_irreversible), "the promotion")


class ScopeCatalogue:
    """The scopes Cloudflare offers (`GET /oauth/scopes`), cached for ten minutes.

    The cache expires so a scope Cloudflare adds is accepted without a restart. Only a readable
    catalogue is cached: an answer of the wrong shape (not a list, an item without a string id, an empty
    list, which would refuse every API scope) counts as "could not be read", and is asked again next time.
    """

    TTL = 600.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._ids: frozenset[str] | None = None
        self._fetched_at = 0.0
        self._clock = clock
        self._lock = anyio.Lock()

    async def ids(self, cloudflare: CloudflareClient) -> frozenset[str] | None:
        """The known scope ids, or None when the catalogue cannot be read now (not cached: tried again later)."""
        async with self._lock:
            if self._ids is not None and self._clock() - self._fetched_at < self.TTL:
                return self._ids
            try:
                answer = await cloudflare.list_scopes()
            except ToolFailure as failure:
                logger.info("scope catalogue unavailable: %s", failure.kind)
                return None
            ids = _scope_ids(answer.result)
            if ids is None:
                logger.info("scope catalogue unreadable: not a non-empty list of objects with string ids")
                return None
            self._ids, self._fetched_at = ids, self._clock()
            return ids

    async def check(self, cloudflare: CloudflareClient, field: str, scopes: list[str]) -> str | None:
        """Refuse unknown dot-delimited scopes; return a note when the catalogue could not be read."""
        api_scopes = [s for s in scopes if not is_identity_scope(s)]
        if not api_scopes:
            return None
        known = await self.ids(cloudflare)
        if known is None:
            return (
                "Could not read Cloudflare's scope catalogue (GET /oauth/scopes); the scopes were not checked "
                "here and Cloudflare will check them itself."
            )
        unknown = [s for s in api_scopes if s not in known]
        if unknown:
            lines = []
            for index, scope in enumerate(unknown):
                close = closest(scope, known, most=3) if index < 5 else []  # the first few: each costs a search
                lines.append(
                    f"- {field}: {quoted(scope, 120)} is not a Cloudflare OAuth scope"
                    + (f"; closest: {', '.join(quoted(c, 120) for c in close)}" if close else "")
                )
            raise InvalidInput(
                "Unknown scopes, nothing was sent:\n" + "\n".join(lines),
                next_step="pick ids from list_oauth_scopes and call again; ask the person first when the closest "
                "match is not plainly what they meant.",
            )
        return None


def _scope_ids(result: object) -> frozenset[str] | None:
    """The ids of a catalogue answer, or None when it is not a non-empty list of objects with string ids."""
    if not isinstance(result, list) or not result:
        return None
    ids = [item.get("id") if isinstance(item, dict) else None for item in result]
    named = [i for i in ids if isinstance(i, str) and i]
    return frozenset(named) if len(named) == len(ids) else None
