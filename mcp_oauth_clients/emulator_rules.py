"""Cloudflare's documented rules for a client's fields, as the emulator enforces them on create and update.

One place for both writes, so a create is refused for exactly what an update would be refused for. Each
problem is `(code, message, pointer)`: the codes are plausible, not documented (Cloudflare publishes no
catalogue of them); the pointer is a JSON pointer into the request body, as Cloudflare's `source.pointer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Problem = tuple[int, str, str]

# The fields a PATCH may send, with their JSON types. A create takes the same fields except `visibility`.
UPDATABLE: dict[str, type] = {
    "allowed_cors_origins": list,
    "client_name": str,
    "client_uri": str,
    "grant_types": list,
    "logo_uri": str,
    "optional_scopes": list,
    "policy_uri": str,
    "post_logout_redirect_uris": list,
    "redirect_uris": list,
    "response_types": list,
    "scopes": list,
    "token_endpoint_auth_method": str,
    "tos_uri": str,
    "visibility": str,
}
# The create request's schema (`iam_oauth_client_create_request`) names these fields; `visibility` is not
# one of them (new clients are private), so a create treats it like any field the schema does not name.
CREATABLE = {name: kind for name, kind in UPDATABLE.items() if name != "visibility"}
CREATE_REQUIRED = (
    "client_name",
    "grant_types",
    "redirect_uris",
    "response_types",
    "scopes",
    "token_endpoint_auth_method",
)
ENUMS = {
    "grant_types": {"authorization_code", "refresh_token"},
    "response_types": {"token", "id_token", "code"},
    "token_endpoint_auth_method": {"none", "client_secret_basic", "client_secret_post"},
    "visibility": {"public"},
}
_PROTOCOL_SCOPES = ("offline_access", "openid")


def missing_fields(body: dict[str, Any]) -> Iterator[Problem]:
    """The create request's required fields that the body leaves out."""
    for name in CREATE_REQUIRED:
        if name not in body:
            yield (1014, f"{name} is required", f"/{name}")


def field_errors(body: dict[str, Any], known_scopes: Iterable[str], fields: dict[str, type]) -> Iterator[Problem]:
    """Every problem with the named fields the body sends; fields outside `fields` are ignored, as the
    published schema does not forbid unknown fields."""
    for name, value in body.items():
        if name not in fields:
            continue
        kind = fields[name]
        items: list[Any] = value if isinstance(value, list) else [value]
        if not isinstance(value, kind) or not all(isinstance(v, str) for v in items):
            yield (1002, f"{name} must be a {'list of strings' if kind is list else 'string'}", f"/{name}")
            continue
        allowed = ENUMS.get(name)
        for i, item in enumerate(items):
            if allowed and item not in allowed:
                yield (
                    1003,
                    f"{item!r} is not one of {sorted(allowed)}",
                    f"/{name}" + (f"/{i}" if kind is list else ""),
                )
    if isinstance(body.get("grant_types"), list) and "authorization_code" not in body["grant_types"]:
        yield (1005, "authorization_code is required in grant_types", "/grant_types")
    known = set(known_scopes)
    scopes = body.get("scopes")
    for i, scope in enumerate(scopes if isinstance(scopes, list) else []):
        if not isinstance(scope, str):
            continue
        if ":" in scope:
            yield (1006, f"Colon-delimited scope {scope!r} is not accepted", f"/scopes/{i}")
        elif "." in scope and scope not in known:
            yield (1007, f"Unknown scope {scope!r}", f"/scopes/{i}")
    optional = body.get("optional_scopes")
    for i, scope in enumerate(optional if isinstance(optional, list) else []):
        if scope in ("openid", "offline", "offline_access"):
            yield (1008, f"{scope!r} cannot be optional", f"/optional_scopes/{i}")


def settle_scopes(client: dict[str, Any]) -> list[Problem]:
    """What Cloudflare does to a client's scopes after any write: the protocol scopes follow the grant and
    response types, and every optional scope must still be one of the scopes."""
    client["scopes"] = protocol_scopes(client)
    if set(client.get("optional_scopes") or []) - set(client["scopes"]):
        return [(1009, "optional_scopes must be a subset of scopes", "/optional_scopes")]
    return []


def protocol_scopes(client: dict[str, Any]) -> list[str]:
    """`offline_access` follows refresh_token in grant_types, `openid` follows id_token in response_types."""
    scopes = [s for s in client.get("scopes") or [] if s not in _PROTOCOL_SCOPES]
    if "refresh_token" in (client.get("grant_types") or []):
        scopes.append("offline_access")
    if "id_token" in (client.get("response_types") or []):
        scopes.append("openid")
    return scopes


def promotion_errors(client: dict[str, Any]) -> list[Problem]:
    """What stops a private client from becoming public (all of it at once)."""
    errors = []
    if not (client.get("client_name") or "").strip():
        errors.append((1010, "Promotion requires a non-empty client name", "/client_name"))
    if not client.get("logo_uri"):
        errors.append((1011, "Promotion requires a logo URI", "/logo_uri"))
    if (client.get("client_uri_verification") or {}).get("status") != "verified":
        errors.append((1012, "Promotion requires a verified client URI host", "/client_uri"))
    if not any("." in s for s in client.get("scopes") or []):
        errors.append((1013, "Promotion requires at least one non-identity scope", "/scopes"))
    return errors
