"""The params of the lifecycle tools: create, rotate the secret, delete the rotated secret, delete.

A create takes the same setting types as the update (`models`), so every rule of a field lives once and
a bad create is refused, every field at once, before anything is sent. The fields Cloudflare requires
that a person rarely names have defaults, sent explicitly in every create body.
"""

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, model_validator

from mcp_oauth_clients.models import (
    UPDATABLE_FIELDS,
    AccountId,
    ClientId,
    ClientName,
    ClientURI,
    CorsOrigins,
    GrantType,
    GrantTypes,
    LogoURI,
    OptionalScopes,
    PolicyURI,
    PostLogoutRedirectURIs,
    RedirectURIs,
    ResponseType,
    ResponseTypes,
    Scopes,
    TokenEndpointAuth,
    TokenEndpointAuthMethod,
    ToolParams,
    TosURI,
    check_optional_scopes_in_scopes,
    lean_schema,
)

# The defaults of the required fields a person rarely names. refresh_token: without it, every user signs in
# again each time an access token expires; it brings the offline_access scope (the answer shows it).
DEFAULT_GRANT_TYPES: list[GrantType] = ["authorization_code", "refresh_token"]
DEFAULT_RESPONSE_TYPES: list[ResponseType] = ["code"]
DEFAULT_AUTH_METHOD: TokenEndpointAuthMethod = "client_secret_basic"

# What Cloudflare requires in a create body; the defaults above fill the three a caller may leave out.
REQUIRED_FIELDS = frozenset(
    {"client_name", "grant_types", "redirect_uris", "response_types", "scopes", "token_endpoint_auth_method"}
)

DRY_RUN = "Preview; send nothing."
CONFIRM = "Only after a person approved, where the operator allows unattended steps."


# Stated once, on the tools that introduce them (update_oauth_client's settings, every tool's ids): these
# tools' schemas keep the same types, patterns and limits, without repeating their words.
DESCRIBED_ELSEWHERE = UPDATABLE_FIELDS | {"account_id", "oauth_client_id"}


def _described_once(schema: dict[str, Any]) -> None:
    """The lean schema, without the words other tools already state; a default is said in the description."""
    lean_schema(schema)
    for name, prop in schema.get("properties", {}).items():
        if name in DESCRIBED_ELSEWHERE:
            prop.pop("description", None)
            prop.pop("default", None)


class OAuthClientCreate(ToolParams):
    """A new OAuth client: the required settings (three with defaults) and any optional ones."""

    model_config = ConfigDict(json_schema_extra=_described_once)

    null_refused: ClassVar[str | None] = "null is not accepted; omit the field to leave it unset or use its default"

    account_id: AccountId | None = None
    client_name: ClientName
    redirect_uris: RedirectURIs
    scopes: Scopes
    grant_types: GrantTypes = Field(default_factory=lambda: list(DEFAULT_GRANT_TYPES))
    response_types: ResponseTypes = Field(default_factory=lambda: list(DEFAULT_RESPONSE_TYPES))
    token_endpoint_auth_method: TokenEndpointAuth = DEFAULT_AUTH_METHOD
    allowed_cors_origins: CorsOrigins | None = None
    client_uri: ClientURI | None = None
    logo_uri: LogoURI | None = None
    optional_scopes: OptionalScopes | None = None
    policy_uri: PolicyURI | None = None
    post_logout_redirect_uris: PostLogoutRedirectURIs | None = None
    tos_uri: TosURI | None = None
    dry_run: bool = Field(default=False, description=DRY_RUN)

    @model_validator(mode="after")
    def _across_fields(self) -> "OAuthClientCreate":
        check_optional_scopes_in_scopes(self.optional_scopes, self.scopes)
        return self

    def body(self) -> dict[str, Any]:
        """The POST body: the six required fields always (defaults included), the optional ones given."""
        given = {name for name in CREATABLE_FIELDS - REQUIRED_FIELDS if getattr(self, name) is not None}
        return self.model_dump(mode="json", include=set(REQUIRED_FIELDS | given))


CREATABLE_FIELDS = frozenset(OAuthClientCreate.model_fields) - {"account_id", "dry_run"}


class ClientAction(ToolParams):
    """Which client a rotation acts on, and whether to only preview it."""

    model_config = ConfigDict(json_schema_extra=_described_once)
    null_refused: ClassVar[str | None] = "null is not accepted; omit the field"

    account_id: AccountId | None = None
    oauth_client_id: ClientId
    dry_run: bool = Field(default=False, description=DRY_RUN)


class IrreversibleAction(ClientAction):
    """A deletion: a person approves it (asked by the MCP client), else the operator's unattended flag decides."""

    confirm_irreversible: bool = Field(default=False, description=CONFIRM)
