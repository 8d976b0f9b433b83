"""The OAuth client as Cloudflare returns it (get and update), and the hash that pins its state."""

import functools
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcp_oauth_clients.models import UPDATABLE_FIELDS


class OddField(BaseModel):
    """A stored field in a shape this server cannot use."""

    field: str = Field(description="Its name, e.g. client_uri_verification.status.")
    problem: str = Field(description="What is wrong.")
    value: Any = Field(default=None, description="The value as returned (data).")


class ClientURIVerification(BaseModel):
    """Client URI domain control verification state."""

    model_config = ConfigDict(extra="allow")

    status: str | None = Field(
        default=None,
        description="Current verification status for the client URI host: pending, in_progress, verified or failed.",
    )
    text: str | None = Field(
        default=None,
        description="Exact TXT record value that must be added to DNS to prove ownership of the client URI host.",
    )


class OAuthClient(BaseModel):
    """An OAuth 2.0 client registration, as Cloudflare returns it (unknown extra fields are kept)."""

    # A stored field of the wrong shape (a number for a string, a list of non-strings, an unparseable URL)
    # never makes the client unreadable: it is listed in `odd_fields` with its value, and reads as null
    # here, except an unparseable URL, which keeps its text. (This docstring is the outputSchema's, so kept short.)
    model_config = ConfigDict(extra="allow")

    client_id: str | None = Field(description="The unique identifier for an OAuth client (null if malformed).")
    visibility: str | None = Field(description="Visibility of the OAuth client: private or public (null if malformed).")
    allowed_cors_origins: list[str] | None = Field(default=None, description="Array of allowed CORS origins.")
    client_name: str | None = Field(default=None, description="Human-readable name of the OAuth client.")
    client_uri: str | None = Field(default=None, description="URL of the home page of the client.")
    client_uri_verification: ClientURIVerification | None = Field(
        default=None, description="Client URI domain control verification state."
    )
    created_at: str | None = Field(default=None, description="Timestamp when the OAuth client was created.")
    grant_types: list[str] | None = Field(default=None, description="OAuth grant types the client may use.")
    has_rotated_secret: bool | None = Field(
        default=None, description="Whether the client has a rotated secret that has not yet been deleted."
    )
    logo_uri: str | None = Field(default=None, description="URL of the client's logo.")
    optional_scopes: list[str] | None = Field(
        default=None, description="Scopes that the authorizing user may decline during consent."
    )
    policy_uri: str | None = Field(default=None, description="URL that points to a privacy policy document.")
    post_logout_redirect_uris: list[str] | None = Field(
        default=None, description="Array of allowed post-logout redirect URIs."
    )
    promoted_at: str | None = Field(
        default=None, description="Timestamp when the OAuth client was promoted to public visibility."
    )
    redirect_uris: list[str] | None = Field(default=None, description="Array of allowed redirect URIs.")
    response_types: list[str] | None = Field(default=None, description="OAuth response types the client may use.")
    scopes: list[str] | None = Field(default=None, description="OAuth scopes the client is allowed to request.")
    token_endpoint_auth_method: str | None = Field(
        default=None, description="The authentication method the client uses at the token endpoint."
    )
    tos_uri: str | None = Field(default=None, description="URL that points to a terms of service document.")
    updated_at: str | None = Field(default=None, description="Timestamp when the OAuth client was last updated.")
    odd_fields: list[OddField] = Field(
        default_factory=list,
        description="Stored fields Cloudflare returned malformed; each reads null above (a bad URL keeps its text).",
    )

    @model_validator(mode="before")
    @classmethod
    def _set_odd_fields_aside(cls, data: Any) -> Any:
        """Move each malformed field into `odd_fields` so the rest of the client is still shown."""
        if not isinstance(data, dict):
            return data  # not an object at all: the caller reports an unreadable answer
        data = dict(data)
        odd = (
            [OddField(field="odd_fields", problem=_RESERVED, value=data.pop("odd_fields"))]
            if "odd_fields" in data
            else []
        )
        for name in ("client_id", "visibility"):
            if name not in data:
                odd.append(OddField(field=name, problem="missing"))
                data[name] = None
        for name, kind in _SHAPES.items():
            if name in data and (problem := _shape_problem(data[name], kind)):
                odd.append(OddField(field=name, problem=problem, value=data[name]))
                data[name] = None
        verification = data.get("client_uri_verification")
        if isinstance(verification, dict):
            verification = dict(verification)
            for name in ("status", "text"):
                if name in verification and (problem := _shape_problem(verification[name], "text")):
                    odd.append(
                        OddField(field=f"client_uri_verification.{name}", problem=problem, value=verification[name])
                    )
                    verification[name] = None
            data["client_uri_verification"] = verification
        for name in URL_FIELDS:
            if isinstance(data.get(name), str) and uri_host(data[name]) is _UNPARSEABLE:
                odd.append(OddField(field=name, problem="not a URL that can be parsed", value=data[name]))
        data["odd_fields"] = odd
        return data

    @property
    def odd(self) -> set[str]:
        """Names of the top-level fields that are malformed."""
        return {o.field.split(".")[0] for o in self.odd_fields}


_RESERVED = "Cloudflare sent a field of this name, which this server uses for malformed fields; its value is here"
_UNPARSEABLE = object()
URL_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")

# The JSON shape each declared field must have; "text" allows null (so does every optional field).
_SHAPES: dict[str, str] = {
    "client_id": "text",
    "visibility": "text",
    "client_name": "text",
    "client_uri": "text",
    "created_at": "text",
    "logo_uri": "text",
    "policy_uri": "text",
    "promoted_at": "text",
    "token_endpoint_auth_method": "text",
    "tos_uri": "text",
    "updated_at": "text",
    "has_rotated_secret": "boolean",
    "client_uri_verification": "object",
    "allowed_cors_origins": "texts",
    "grant_types": "texts",
    "optional_scopes": "texts",
    "post_logout_redirect_uris": "texts",
    "redirect_uris": "texts",
    "response_types": "texts",
    "scopes": "texts",
}


def _shape_problem(value: Any, kind: str) -> str | None:
    """Why `value` is not of JSON shape `kind`, or None when it is (null is always fine)."""
    if value is None:
        return None
    if kind == "text":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "object":
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if isinstance(value, list) and not ok:
            return "expected a list of strings; it holds " + ", ".join(sorted({_json_kind(v) for v in value}))
    return None if ok else f"expected {_EXPECTED[kind]}, got {_json_kind(value)}"


_EXPECTED = {"text": "a string", "boolean": "true or false", "object": "an object", "texts": "a list of strings"}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def uri_host(value: str | None) -> Any:
    """The host of a stored URL: None when there is none, `_UNPARSEABLE` when the text is no URL at all."""
    if not value:
        return None
    # A client's URLs are parsed several times a call (each read, the result's check, the guidance): the
    # answers for URLs of a usual length are kept; a longer text (anything a hostile answer sends) is not.
    return _cached_host(value) if len(value) <= 2048 else _host(value)


@functools.lru_cache(maxsize=256)
def _cached_host(value: str) -> Any:
    return _host(value)


def _host(value: str) -> Any:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port, as hostname does on a malformed bracket
        return parts.hostname
    except ValueError:
        return _UNPARSEABLE


def host_of(value: str | None) -> str | None:
    """The host of a stored URL, or None when it has none or cannot be parsed (never raises)."""
    host = uri_host(value)
    return None if host is _UNPARSEABLE else host


# What a plan pins: every field an update can set (visibility included). Timestamps and the verification
# state are left out, so Cloudflare polling DNS between a dry run and its apply is not a conflict.
STATE_FIELDS = tuple(sorted(UPDATABLE_FIELDS))

# A state hash is one opaque string of up to three digests, so a refusal can say why it does not match:
#   sha256:<target>.<state>            from a read or a write: which client (account and id), its settings
#   sha256:<target>.<state>.<change>   from a dry run: also the PATCH body it previewed (add/remove applied)
# Not a secret and not a signature: it pins what the caller saw, so a write on stale or other facts is refused.
# Its shape is checks.STATE_HASH_PATTERN.


def _digest(value: object, length: int) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def _parts(account_id: str, client: OAuthClient) -> list[str]:
    target = [account_id.lower(), client.client_id]
    state: dict[str, Any] = {name: getattr(client, name) for name in STATE_FIELDS}
    if client.odd_fields:  # a malformed field reads as null: pin its raw value, so a change to it is seen
        state["odd_fields"] = [[odd.field, odd.value] for odd in client.odd_fields]
    return [_digest(target, 8), _digest([target, state], 32)]


def state_hash(account_id: str, client: OAuthClient, change: dict[str, Any] | None = None) -> str:
    """The hash of this client's settable state in this account, and of `change` (a PATCH body) if given."""
    parts = _parts(account_id, client)
    if change is not None:
        parts.append(_digest([account_id.lower(), client.client_id, change], 32))
    return "sha256:" + ".".join(parts)


def state_hash_mismatch(expected: str, account_id: str, client: OAuthClient, change: dict[str, Any]) -> str | None:
    """Why `expected` does not allow sending `change` to this client now, or None when it does."""
    given = expected.removeprefix("sha256:").split(".")
    now = state_hash(account_id, client, change).removeprefix("sha256:").split(".")
    if given[0] != now[0]:
        return "it was made for another client or account: this is not the change that was previewed"
    if given[1] != now[1]:
        return "the client changed since the dry run (or read) that returned it"
    if len(given) == 3 and given[2] != now[2]:
        return "this is not the change that was previewed (the fields or values sent differ)"
    return None
