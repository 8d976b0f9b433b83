"""What an update does to a client: add/remove applied to stored lists, field-by-field changes, warnings.

Every write reads the client first, so every change has its stored `before`. A preview's `after` is
what would be sent; an applied write's `after` is what Cloudflare stored, with the reason when that is
not what was sent (Cloudflare's own side effects).
"""

from typing import Any

from pydantic import BaseModel, Field

from mcp_oauth_clients.oauth_client import STATE_FIELDS as UPDATABLE
from mcp_oauth_clients.oauth_client import OAuthClient, host_of
from mcp_oauth_clients.untrusted import quoted, quoted_entries


class FieldChange(BaseModel):
    """One field's change: the stored value before, and after (sent, or stored once applied)."""

    field: str = Field(description="The field that changes.")
    before: Any = Field(default=None, description="The stored value before the change.")
    after: Any = Field(description="The value sent (a dry run), or the value Cloudflare stored (applied).")
    added: list[str] | None = Field(default=None, description="For lists: entries that appear.")
    removed: list[str] | None = Field(default=None, description="For lists: entries that go.")
    reason: str | None = Field(default=None, description="Why the stored value differs from what was sent.")


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
                notes.append(f"{field}: {quoted(entry)} is already present; not added twice.")
            else:
                result.append(entry)
                present.add(entry)
        for entry in removals.get(field, []):  # at most MAX_ITEMS entries, so remove() stays linear overall
            if entry in present:
                result.remove(entry)
            else:
                notes.append(f"{field}: {quoted(entry)} was not present; nothing to remove.")
        lists[field] = result
    return lists, notes


def changes(before: OAuthClient, body: dict[str, Any]) -> list[FieldChange]:
    """Each field the body sets that differs from what is stored."""
    return [
        _change(field, getattr(before, field, None), body[field])
        for field in sorted(body)
        if _differs(before, field, body[field])
    ]


def stored_changes(
    before: OAuthClient, after: OAuthClient, body: dict[str, Any], effects: list[str]
) -> list[FieldChange]:
    """What an applied write changed, as Cloudflare stored it: each field sent or changed, before -> stored.

    Where the stored value is not what was sent (or the field was not sent at all), the change says why:
    Cloudflare's own side effects (`effects`, all on scopes), or that Cloudflare stored it so.
    """
    out = []
    for field in sorted(set(body) | set(UPDATABLE)):
        old, new = getattr(before, field, None), getattr(after, field, None)
        if old == new:
            continue
        change = _change(field, old, new)
        if field not in body or body[field] != new:
            explained = effects if field == "scopes" else []  # every side effect Cloudflare has is on scopes
            change.reason = " ".join(explained) or "Cloudflare stored this value, not the one sent."
        out.append(change)
    return out


def _differs(before: OAuthClient, field: str, value: Any) -> bool:
    return bool(getattr(before, field, None) != value)


def _change(field: str, old: Any, new: Any) -> FieldChange:
    change = FieldChange(field=field, before=old, after=new)
    if isinstance(new, list):
        stored, kept, now = list(old or []), set(old or []), set(new)
        change.added = [e for e in new if e not in kept]
        change.removed = [e for e in stored if e not in now]
    return change


PROMOTION_IS_FINAL = "Promotion to public cannot be undone: Cloudflare does not support returning a client to private."


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
        removed = quoted_entries(redirects.removed)
        warnings.append(f"Redirect URIs removed: {removed}. Apps that still send them will fail to sign in.")
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
        warnings.append(PROMOTION_IS_FINAL)
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
