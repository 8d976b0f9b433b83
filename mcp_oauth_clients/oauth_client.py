"""The OAuth client as Cloudflare returns it (get and update), and the hash that pins its state."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

from mcp_oauth_clients.models import UPDATABLE_FIELDS


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

    model_config = ConfigDict(extra="allow")

    client_id: str = Field(description="The unique identifier for an OAuth client.")
    visibility: str = Field(description="Visibility of the OAuth client: private or public.")
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


# What a plan pins: every field an update can set (visibility included). Timestamps and the verification
# state are left out, so Cloudflare polling DNS between a dry run and its apply is not a conflict.
STATE_FIELDS = tuple(sorted(UPDATABLE_FIELDS))


def state_hash(client: OAuthClient) -> str:
    """A digest of the client's settable state, for plan-then-apply without a stale write."""
    state = {name: getattr(client, name) for name in STATE_FIELDS}
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
