"""What an update does to a client: add/remove applied to stored lists, field-by-field changes, warnings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mcp_oauth_clients.oauth_client import OAuthClient, host_of
from mcp_oauth_clients.untrusted import quoted


class FieldChange(BaseModel):
    """One field's change. `before` is null when the client was not read (a scalar-only update)."""

    field: str = Field(description="The field that changes.")
    before: Any = Field(default=None, description="The stored value, when the client was read.")
    before_read: bool = Field(default=True, description="False when the client was not read, so before is unknown.")
    after: Any = Field(description="The value sent.")
    added: list[str] | None = Field(default=None, description="For lists: entries that appear.")
    removed: list[str] | None = Field(default=None, description="For lists: entries that go.")


def apply_edits(
    current: OAuthClient, additions: dict[str, list[str]], removals: dict[str, list[str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """The full lists after adding and removing entries, and a note for each no-op entry."""
    lists: dict[str, list[str]] = {}
    notes: list[str] = []
    for field in sorted(additions.keys() | removals.keys()):
        result = list(getattr(current, field, None) or [])
        present = set(result)  # membership by set: a stored list from Cloudflare may be long
        for entry in additions.get(field, []):
            if entry in present:
                notes.append(f"{field}: {entry!r} is already present; not added twice.")
            else:
                result.append(entry)
                present.add(entry)
        for entry in removals.get(field, []):  # at most MAX_ITEMS entries, so remove() stays linear overall
            if entry in present:
                result.remove(entry)
            else:
                notes.append(f"{field}: {entry!r} was not present; nothing to remove.")
        lists[field] = result
    return lists, notes


def changes(before: OAuthClient | None, body: dict[str, Any]) -> list[FieldChange]:
    """Each field the body sets that differs from what is stored (every field when nothing was read)."""
    out = []
    for field in sorted(body):
        after = body[field]
        old = getattr(before, field, None) if before is not None else None
        if before is not None and old == after:
            continue
        change = FieldChange(field=field, before=old, after=after, before_read=before is not None)
        if isinstance(after, list) and before is not None:
            stored, sent = list(old or []), set(after)
            kept = set(stored)
            change.added = [e for e in after if e not in kept]
            change.removed = [e for e in stored if e not in sent]
        out.append(change)
    return out


def warnings_for(before: OAuthClient | None, body: dict[str, Any], diff: list[FieldChange]) -> list[str]:
    """What a person should know before (or after) this write."""
    warnings = []
    by_field = {c.field: c for c in diff}
    redirects = by_field.get("redirect_uris")
    if redirects is not None and not redirects.after and (before is None or before.redirect_uris):
        warnings.append(
            "This removes the last redirect URI: no user can complete sign-in with this client until one is added."
        )
    elif redirects is not None and redirects.removed:
        warnings.append(f"Redirect URIs removed: {redirects.removed}. Apps that still send them will fail to sign in.")
    if "client_uri" in body and before is not None and before.client_uri:
        old_host = host_of(before.client_uri)
        new_host = host_of(body["client_uri"])
        verified = (before.client_uri_verification and before.client_uri_verification.status) == "verified"
        if old_host != new_host:
            warnings.append(
                f"The client URI host changes from {quoted(old_host)} to {quoted(new_host)}"
                + (
                    "; Cloudflare does not let a verified host change."
                    if verified
                    else "; the new host needs its own DNS TXT verification."
                )
            )
    if body.get("visibility") == "public":
        warnings.append("Promotion to public cannot be undone: Cloudflare does not support demotion to private.")
    return warnings


# Cloudflare manages two protocol scopes itself: each follows one entry of another list field.
PROTOCOL_SCOPES = (("offline_access", "grant_types", "refresh_token"), ("openid", "response_types", "id_token"))


def side_effects(before: OAuthClient | None, body: dict[str, Any]) -> list[str]:
    """What Cloudflare changes on its own after this body: protocol scopes added to or dropped from scopes."""
    effects = []
    for scope, field, entry in PROTOCOL_SCOPES:
        if field not in body and "scopes" not in body:
            continue
        source = body[field] if field in body else (getattr(before, field, None) if before is not None else None)
        if source is None:
            continue  # not read, not sent: nothing can be said
        stored_scopes = (getattr(before, "scopes", None) or []) if before is not None else []
        scopes = body.get("scopes", stored_scopes)
        wanted, present = entry in source, scope in scopes
        if wanted and not present:
            effects.append(f"Cloudflare adds {scope} to scopes ({entry} is in {field}).")
        elif present and not wanted:
            effects.append(f"Cloudflare drops {scope} from scopes ({entry} is not in {field}).")
    return effects
