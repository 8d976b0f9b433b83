"""A client secret handed to the person through a one-time link, over streamable HTTP.

Over HTTP the person cannot reach this server's disk, so a create or rotation can offer its secret by
URL-mode elicitation instead of a file: the URL goes to the MCP client, which shows it to the person and
opens it with their consent. It passes through neither the model nor the tool result, which names only
the link's expiry and the secret's fingerprint.

One tool call, two rounds (protocol 2026-07-28: a stateless server cannot send a question mid-call, so it
answers `InputRequiredResult` and the client calls again with the person's answer):

1. Nothing is sent to Cloudflare. A link is reserved (an empty slot under an unguessable token) and the
   call answers with the URL elicitation; the slot's elicitation id rides the SDK's sealed request_state.
2. Accepted: the write runs and its secret goes into that slot instead of a file. Declined, cancelled, or
   the slot gone (expired, or this instance restarted): refused, nothing sent.

`GET /secret/<token>`: while the slot is empty, a page that reloads itself (the client opens the link when
the person accepts, before the secret exists); the first GET once it holds the secret returns it
(`Cache-Control: no-store`) and forgets it; any later GET, an unknown token or an expired link: 404. A link
lives LINK_LIFETIME from its offer. Tokens and secrets live in this process's memory only (behind a load
balancer the link works on the instance that made it), in no repr and no log line: uvicorn's access log is
off (`http_transport.serve`) and nothing here logs a path. Python cannot overwrite a string in place:
"forgotten" means every reference is dropped at once.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from mcp.types import ElicitRequest, ElicitRequestURLParams, ElicitResult, InputRequiredResult
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from mcp_oauth_clients.secret_store import fingerprint
from mcp_oauth_clients.untrusted import plain, quoted

LINK_LIFETIME = 600.0  # seconds from the offer: time to accept and open it, short enough that a missed link dies
# The most links open at once in one process; past it a create or rotation is served as without URL mode.
MAX_OPEN_LINKS = 100
ROUTE = "/secret/{token}"
ANSWER_KEY = "secret_link"  # the input request's key in round 1, and its answer's in round 2
FIRST_PROTOCOL = "2026-07-28"  # the first that carries a question over stateless HTTP (InputRequiredResult)
NO_STORE = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'",
}


class SecretLink(BaseModel):
    """A secret offered through a one-time link: until when, and which secret. Never the URL or its token."""

    model_config = ConfigDict(defer_build=True)  # built when a link is first offered, not at start-up

    expires_at: str | None = Field(
        default=None, description="When the link stops working (UTC, ISO 8601); none in a preview."
    )
    fingerprint: str | None = Field(default=None, description="First 8 hex of the secret's SHA-256, once issued.")


# Plain classes and one frozen dataclass without eq: before Python 3.13 a dataclass compiles each generated method
# at import, which start-up pays for. None of them is compared or hashed, and none prints a token or a secret.
class _Slot:
    __slots__ = ("token", "elicitation_id", "deadline", "expires_at", "secret", "claimed")

    def __init__(self, token: str, elicitation_id: str, deadline: float, expires_at: datetime) -> None:
        self.token = token
        self.elicitation_id = elicitation_id
        self.deadline = deadline  # on the registry's monotonic clock
        self.expires_at = expires_at
        self.secret: str | None = None
        self.claimed = False  # one accepted link carries one write's secret: a replayed round 2 finds it taken


class SecretLinks:
    """The links this process offered and has not yet given or lost. Holds tokens and secrets: never printed."""

    def __init__(
        self,
        lifetime: float = LINK_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._lifetime, self._clock, self._wall = lifetime, clock, wall
        self._by_token: dict[str, _Slot] = {}
        self._by_elicitation: dict[str, _Slot] = {}

    def __repr__(self) -> str:
        return f"SecretLinks({len(self._by_token)} open)"

    def offer(self) -> _Slot | None:
        """Reserve an empty slot under a new unguessable token (256 bits) and elicitation id; None when
        MAX_OPEN_LINKS are open already (a caller repeating round 1 cannot make the process hold more)."""
        self._sweep()
        if len(self._by_token) >= MAX_OPEN_LINKS:
            return None
        slot = _Slot(
            token=secrets.token_urlsafe(32),
            elicitation_id=secrets.token_urlsafe(16),
            deadline=self._clock() + self._lifetime,
            expires_at=(self._wall() + timedelta(seconds=self._lifetime)).replace(microsecond=0),
        )
        self._by_token[slot.token] = self._by_elicitation[slot.elicitation_id] = slot
        return slot

    def claim(self, elicitation_id: str) -> LinkReservation | None:
        """The offered slot still open and empty, for the write that the person accepted; None when gone."""
        self._sweep()
        slot = self._by_elicitation.get(elicitation_id)
        if slot is None or slot.secret is not None or slot.claimed:
            return None
        slot.claimed = True
        return LinkReservation(self, slot)

    def take(self, token: str) -> str | Literal["waiting"] | None:
        """The secret, once (then forgotten); "waiting" while its write has not answered; None when gone."""
        self._sweep()
        slot = self._by_token.get(token)
        if slot is None:
            return None
        if slot.secret is None:
            return "waiting"
        secret = slot.secret
        self._forget(slot)
        return secret

    def page(self, request: Request) -> Response:
        """The answer to `GET /secret/<token>`: the secret once, a page that waits for it, or 404."""
        token = request.path_params.get("token", "")
        if request.method != "GET":  # a HEAD (a link preview, a checker) must not spend the one reading
            return Response(status_code=405, headers={"Allow": "GET", **NO_STORE})
        found = self.take(token) if isinstance(token, str) else None
        if found is None:
            return PlainTextResponse(
                "This link is closed: it was used, it expired, or its call issued no secret.\n",
                status_code=404,
                headers=NO_STORE,
            )
        if found == "waiting":
            return HTMLResponse(_WAITING, headers={**NO_STORE, "Refresh": "2"})
        return HTMLResponse(_SECRET.format(secret=html.escape(found)), headers=NO_STORE)

    def _fill(self, slot: _Slot, secret: str) -> bool:
        self._sweep()
        if self._by_token.get(slot.token) is not slot:
            return False
        slot.secret = secret
        return True

    def _forget(self, slot: _Slot) -> None:
        slot.secret = None
        self._by_token.pop(slot.token, None)
        self._by_elicitation.pop(slot.elicitation_id, None)

    def _sweep(self) -> None:
        now = self._clock()
        for slot in [s for s in self._by_token.values() if s.deadline <= now]:
            self._forget(slot)


class LinkReservation:
    """The slot a write's secret goes to, as `secret_store.Reservation` is the file for one."""

    __slots__ = ("links", "slot")

    def __init__(self, links: SecretLinks, slot: _Slot) -> None:
        self.links = links
        self.slot = slot

    def write(self, secret: str) -> SecretLink | None:
        """Put the secret behind the link; None when the link expired first (the secret is then lost)."""
        if not self.links._fill(self.slot, secret):
            return None
        return SecretLink(expires_at=self.slot.expires_at.isoformat(), fingerprint=fingerprint(secret))

    def discard(self) -> None:
        """Close a link no secret came for; a filled one stays until read or expired."""
        if self.slot.secret is None:
            self.links._forget(self.slot)


@dataclass(frozen=True, eq=False, repr=False)
class LinkDelivery:
    """This call delivers its secret by link: in a preview, that it would; then what the person said."""

    reservation: LinkReservation | None = None
    answer: Literal["preview", "accepted", "declined", "cancelled", "expired"] = "preview"

    def __repr__(self) -> str:
        return f"LinkDelivery(answer={self.answer!r})"  # never the reservation: its slot holds the token


def link_round(ctx: Any, arguments: dict[str, Any], *, read_only: bool) -> InputRequiredResult | LinkDelivery | None:
    """For a call that would issue a secret (`ctx`: the SDK's Context): None where no link can be offered
    (stdio, an older protocol over HTTP, a client without URL-mode elicitation, read-only mode: the
    secrets folder rules apply); round 1, the question to return as the call's answer; round 2, the answer."""
    request = ctx.request_context.request
    links = getattr(getattr(getattr(request, "app", None), "state", None), "secret_links", None)
    if not isinstance(links, SecretLinks) or read_only or not _takes_urls(ctx):
        return None
    if arguments.get("dry_run") is True:
        return LinkDelivery()
    if ctx.request_state is None:
        slot = links.offer()
        if slot is None:  # too many links open: the secret goes as it would without URL mode
            return None
        url = str(request.base_url).rstrip("/") + ROUTE.format(token=slot.token)
        params = ElicitRequestURLParams(message=_message(arguments, slot), url=url, elicitation_id=slot.elicitation_id)
        return InputRequiredResult(
            input_requests={ANSWER_KEY: ElicitRequest(params=params)}, request_state=slot.elicitation_id
        )
    answer = (ctx.input_responses or {}).get(ANSWER_KEY)
    action = answer.action if isinstance(answer, ElicitResult) else "cancel"
    reservation = links.claim(ctx.request_state)
    if action != "accept":
        if reservation is not None:
            reservation.discard()
        return LinkDelivery(answer="declined" if action == "decline" else "cancelled")
    return LinkDelivery(reservation, "accepted") if reservation is not None else LinkDelivery(answer="expired")


def _takes_urls(ctx: Any) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and elicitation.url is not None and (ctx.protocol_version or "") >= FIRST_PROTOCOL


def _message(arguments: dict[str, Any], slot: _Slot) -> str:
    name, client_id = arguments.get("client_name"), arguments.get("oauth_client_id")
    which = (
        f"the new OAuth client {quoted(name, 80)}"
        if isinstance(name, str)
        else f"OAuth client {plain(client_id) if isinstance(client_id, str) else '(unnamed)'}"
    )
    return (
        f"Receive the client secret of {which} through a one-time link from this server. It opens once, until "
        f"{slot.expires_at:%H:%M} UTC; the secret is not shown to the assistant."
    )


_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex">'
    "<title>Client secret</title></head><body>{body}</body></html>"
)
_WAITING = _PAGE.format(body="<p>Waiting for Cloudflare to issue the secret; this page reloads itself.</p>")
_SECRET = _PAGE.format(
    body="<p>The OAuth client secret. Copy it to where the app reads it: this page cannot be opened again.</p>"
    "<pre>{secret}</pre>"
)
