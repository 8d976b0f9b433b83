"""Finding things: the account's OAuth clients and Cloudflare's scope catalogue, filtered and paged.

Cloudflare's list of clients names no query parameters and the SDK reads it as one page; only its
`result_info` says whether anything was left out. So we read it once and, when `total_count` says
there are more than came back, the result says so instead of guessing a paging parameter.
Our own pages (`offset`) only bound what one answer shows.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_oauth_clients.models import AccountId, ToolParams
from mcp_oauth_clients.results import SANDBOX_BANNER, shown
from mcp_oauth_clients.untrusted import plain

CLIENTS_PER_PAGE = 20
SCOPES_PER_PAGE = 40
IDENTITY_NOTE = (
    "Identity scopes (no dot, e.g. openid, profile, email, offline_access) are not listed here and are accepted "
    "as they are (our reading: Cloudflare does not list them); offline_access follows refresh_token, openid "
    "follows id_token."
)

Offset = Field(default=0, ge=0, description="Skip this many matches (from a 'more' hint).")


class ClientQuery(ToolParams):
    """Arguments of list_oauth_clients."""

    account_id: AccountId | None = None
    name: str | None = Field(default=None, min_length=1, description="Case-insensitive fragment of the name.")
    visibility: Literal["private", "public"] | None = None
    offset: int = Offset


class ScopeQuery(ToolParams):
    """Arguments of list_oauth_scopes."""

    search: str | None = Field(default=None, min_length=1, description="Case-insensitive text in id, name or category.")
    offset: int = Offset


class ClientSummary(BaseModel):
    """One client, as much as a list line shows."""

    client_id: str
    client_name: str | None = None
    visibility: str
    verification: str | None = Field(default=None, description="Client URI host verification status.")


class ClientList(BaseModel):
    """A page of the account's clients that match the filters."""

    sandbox: bool = Field(description="True when served by the in-memory sandbox, not by Cloudflare.")
    account_id: str
    clients: list[ClientSummary] = Field(description="This page of matching clients.")
    matched: int = Field(description="Clients that match the filters, among those Cloudflare returned.")
    offset: int
    next_offset: int | None = Field(default=None, description="Pass as offset for the next page; null at the end.")
    returned: int = Field(description="Clients Cloudflare returned.")
    total_count: int | None = Field(default=None, description="Cloudflare's result_info.total_count, when given.")
    not_returned: int = Field(default=0, description="Clients Cloudflare counted but did not return.")
    unreadable: int = Field(default=0, description="Returned entries without a client id or visibility.")
    request_id: str | None = None


# Each entry's underlying scopes are cut here: a catalogue entry listing thousands must not flood the context.
COVERED_SHOWN = 25


class ScopeEntry(BaseModel):
    """One scope of the catalogue; fields this server does not know are left out (they would only cost context)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    category: str | None = None
    scopes: list[str] | None = Field(
        default=None, description=f"Underlying resource scopes, when given (the first {COVERED_SHOWN})."
    )
    scopes_not_shown: int = Field(default=0, description="How many underlying scopes were left out.")


class ScopeList(BaseModel):
    """A page of the scope catalogue that matches the search."""

    sandbox: bool
    scopes: list[ScopeEntry]
    matched: int
    offset: int
    next_offset: int | None = None
    identity_scopes: str = IDENTITY_NOTE


def summarise(item: Any) -> ClientSummary | None:
    """A list line's facts from one returned client; None for an entry that is not a readable client."""
    if not isinstance(item, dict):
        return None
    verification = item.get("client_uri_verification")
    try:
        return ClientSummary(
            client_id=item.get("client_id"),
            client_name=item.get("client_name"),
            visibility=item.get("visibility"),
            verification=verification.get("status") if isinstance(verification, dict) else None,
        )
    except ValidationError:
        return None


def client_page(
    items: Any, info: dict[str, Any] | None, query: ClientQuery
) -> tuple[list[ClientSummary], dict[str, Any]]:
    """Filter the returned clients and cut one page; the counts the result reports go in the second value."""
    every = [s for s in map(summarise, items if isinstance(items, list) else []) if s is not None]
    fragment = (query.name or "").casefold()
    matching = [
        c for c in every if fragment in (c.client_name or "").casefold() and query.visibility in (None, c.visibility)
    ]
    total = info.get("total_count") if info else None
    # A count is a finite whole number; Infinity, NaN or 1e999 is no count at all (int() would raise on them).
    counted = isinstance(total, int | float) and not isinstance(total, bool) and math.isfinite(total)
    total = int(total) if counted else None
    returned = len(items) if isinstance(items, list) else 0
    page = matching[query.offset : query.offset + CLIENTS_PER_PAGE]
    end = query.offset + len(page)
    return page, dict(
        matched=len(matching),
        offset=query.offset,
        next_offset=end if end < len(matching) else None,
        returned=returned,
        total_count=total,
        not_returned=max(total - returned, 0) if total is not None else 0,
        unreadable=returned - len(every),
    )


def scope_page(items: Any, query: ScopeQuery, sandbox: bool) -> ScopeList:
    """Filter the catalogue by the search text and cut one page."""
    entries = []
    for item in items if isinstance(items, list) else []:
        try:
            entries.append(ScopeEntry.model_validate(item))
        except ValidationError:
            continue  # an unreadable entry cannot be offered as a scope id
    text = (query.search or "").casefold()
    matching = [e for e in entries if text in f"{e.id} {e.name} {e.category or ''}".casefold()]
    page = matching[query.offset : query.offset + SCOPES_PER_PAGE]
    for entry in page:
        if entry.scopes and len(entry.scopes) > COVERED_SHOWN:
            entry.scopes, entry.scopes_not_shown = entry.scopes[:COVERED_SHOWN], len(entry.scopes) - COVERED_SHOWN
    end = query.offset + len(page)
    return ScopeList(
        sandbox=sandbox,
        scopes=page,
        matched=len(matching),
        offset=query.offset,
        next_offset=end if end < len(matching) else None,
    )


def describe_clients(result: ClientList, query: ClientQuery) -> str:
    """One line per client, then the "more" hint and anything Cloudflare left out."""
    lines = [SANDBOX_BANNER] if result.sandbox else []
    filters = []
    if query.name:
        filters.append(f"name containing {shown(query.name, 80)}")
    if query.visibility:
        filters.append(f"visibility {query.visibility}")
    where = f" with {' and '.join(filters)}" if filters else ""
    if not result.clients:
        lines.append(f"No OAuth clients{where} in account {result.account_id} (of {result.returned} returned).")
    else:
        first = result.offset + 1
        lines.append(
            f"OAuth clients{where} in account {result.account_id}: {first}-{result.offset + len(result.clients)} "
            f"of {result.matched} (id, name, visibility, verification):"
        )
        for c in result.clients:
            name = shown(c.client_name, 80) if c.client_name else "(unnamed)"
            status = plain(c.verification or "unknown")
            lines.append(f"- {plain(c.client_id)} {name} {plain(c.visibility)}, verification {status}")
    if result.next_offset is not None:
        lines.append(f"More: {result.matched - result.next_offset} more; call again with offset {result.next_offset}.")
    if result.unreadable:
        lines.append(f"{result.unreadable} returned entries had no readable client id or visibility; not shown.")
    if result.not_returned:
        lines.append(
            f"Cloudflare counts {result.total_count} clients but returned {result.returned}: {result.not_returned} "
            "are not in this list, and Cloudflare documents no way to ask for them. Find them in the dashboard, "
            "then use their id."
        )
    return "\n".join(lines)


def describe_scopes(result: ScopeList, query: ScopeQuery) -> str:
    """One line per scope (id, name, category), the "more" hint, and what identity scopes are."""
    lines = [SANDBOX_BANNER] if result.sandbox else []
    where = f" matching {shown(query.search, 80)}" if query.search else ""
    if not result.scopes:
        lines.append(f"No Cloudflare OAuth scopes{where}.")
    else:
        lines.append(
            f"Cloudflare OAuth scopes{where}: {result.offset + 1}-{result.offset + len(result.scopes)} of "
            f"{result.matched} (id: name, category):"
        )
        for s in result.scopes:
            line = f"- {plain(s.id)}: {shown(s.name, 80)}" + (f", {shown(s.category, 60)}" if s.category else "")
            if s.scopes:
                more = len(s.scopes) - 8 + s.scopes_not_shown
                tail = f" and {more} more" if more > 0 else ""
                line += f" (covers {', '.join(plain(x) for x in s.scopes[:8])}{tail})"
            lines.append(line)
    if result.next_offset is not None:
        lines.append(f"More: {result.matched - result.next_offset} more; call again with offset {result.next_offset}.")
    lines.append(IDENTITY_NOTE)
    return "\n".join(lines)
