"""The data: one params model for the update, one model for the client as Cloudflare returns it.

`OAuthClientUpdate` is the single source of truth for the update: its JSON schema is the tool's
inputSchema, it validates the call, and it produces the request body. Field names and descriptions
mirror Cloudflare's API reference for `PATCH /accounts/{account_id}/oauth_clients/{oauth_client_id}`.
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from mcp_oauth_clients import checks
from mcp_oauth_clients.errors import InvalidInput

ModelT = TypeVar("ModelT", bound=BaseModel)
GrantType = Literal["authorization_code", "refresh_token"]
ResponseType = Literal["token", "id_token", "code"]
TokenEndpointAuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]


def _rule(check: Any) -> AfterValidator:
    def run(value: str) -> str:
        check(value)
        return value

    return AfterValidator(run)


WebURL = Annotated[str, _rule(checks.check_web_url)]
RedirectURI = Annotated[str, _rule(checks.check_redirect_uri)]
Origin = Annotated[str, _rule(checks.check_origin)]
Scope = Annotated[str, _rule(checks.check_scope)]

_REPLACES = " Replaces the whole stored list: include every entry that should remain (or use add/remove)."

# The entry type of every list field: one table for the full lists and for add/remove.
LIST_ENTRY_TYPES: dict[str, Any] = {
    "allowed_cors_origins": Origin,
    "grant_types": GrantType,
    "optional_scopes": Scope,
    "post_logout_redirect_uris": RedirectURI,
    "redirect_uris": RedirectURI,
    "response_types": ResponseType,
    "scopes": Scope,
}
LIST_FIELDS = frozenset(LIST_ENTRY_TYPES)


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    # Optional fields default to "not sent", not to null: a null default in the schema would invite
    # the model to send nulls, which mean nothing documented to Cloudflare.
    for prop in schema.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]


def _list_edits(name: str, doc: str, verb: str, checked: bool) -> type[BaseModel]:
    """A model keyed by list field; `checked` entries must pass the field's rules, others are any text."""
    fields: dict[str, Any] = {
        field: (
            list[entry if checked else Annotated[str, Field(min_length=1)]],
            Field(default=None, description=f"Entries to {verb} {field}."),
        )
        for field, entry in LIST_ENTRY_TYPES.items()
    }
    config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults, title=name)
    return create_model(name, __config__=config, __doc__=doc, **fields)


ListAdditions = _list_edits("ListAdditions", "Entries to add to list fields, keeping what is stored.", "add to", True)
ListRemovals = _list_edits(
    "ListRemovals", "Entries to remove from list fields, keeping the rest.", "remove from", False
)


class OAuthClientUpdate(BaseModel):
    """Partial update of an OAuth client: only the fields given are sent.

    Optional fields default to None, meaning "not given": pydantic does not validate defaults, and
    explicit nulls are refused, so a field is either absent or a valid value (never a union to explain).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults, title="update_oauth_client")

    account_id: str = Field(
        default=None,
        description="Account identifier (32 hexadecimal characters). Optional when the server has a default "
        "account (CLOUDFLARE_ACCOUNT_ID).",
        pattern=checks.ACCOUNT_ID_PATTERN,
    )
    oauth_client_id: str = Field(
        description="The unique identifier for an OAuth client.",
        pattern=checks.CLIENT_ID_PATTERN,
    )
    allowed_cors_origins: list[Origin] = Field(
        default=None,
        description="Array of allowed CORS origins (scheme, host and optional port only, e.g. "
        "https://app.example.com)." + _REPLACES,
    )
    client_name: str = Field(default=None, description="Human-readable name of the OAuth client.", min_length=1)
    client_uri: WebURL = Field(
        default=None,
        description="URL of the home page of the client. Its host must be verified with a DNS TXT record "
        "before the client can be made public; sending the unchanged value restarts a failed verification.",
    )
    grant_types: list[GrantType] = Field(
        default=None,
        description="Array of OAuth grant types the client is allowed to use. `authorization_code` is required; "
        "`refresh_token` may be included optionally." + _REPLACES,
    )
    logo_uri: WebURL = Field(default=None, description="URL of the client's logo.")
    optional_scopes: list[Scope] = Field(
        default=None,
        description="Scopes that the authorizing user may decline during consent. Each value must also appear "
        "in `scopes`. The scopes `openid`, `offline`, and `offline_access` cannot be optional." + _REPLACES,
    )
    policy_uri: WebURL = Field(default=None, description="URL that points to a privacy policy document.")
    post_logout_redirect_uris: list[RedirectURI] = Field(
        default=None, description="Array of allowed post-logout redirect URIs." + _REPLACES
    )
    redirect_uris: list[RedirectURI] = Field(
        default=None,
        description="Array of allowed redirect URIs for the client: https, loopback http "
        "(http://127.0.0.1:PORT/...), or a reversed-domain native-app scheme (com.example.app:/cb); "
        "no fragments." + _REPLACES,
    )
    response_types: list[ResponseType] = Field(
        default=None, description="Array of OAuth response types the client is allowed to use." + _REPLACES
    )
    scopes: list[Scope] = Field(
        default=None,
        description="Array of OAuth scopes the client is allowed to request. Colon-delimited scopes are not "
        "accepted. Dot-delimited scopes are validated against available OAuth API scopes; simple identity "
        "scopes are allowed. Protocol scopes `offline_access` and `openid` are added or removed automatically "
        "based on `grant_types` and `response_types`." + _REPLACES,
    )
    token_endpoint_auth_method: TokenEndpointAuthMethod = Field(
        default=None, description="The authentication method the client uses at the token endpoint."
    )
    tos_uri: WebURL = Field(default=None, description="URL that points to a terms of service document.")
    visibility: Literal["public"] = Field(
        default=None,
        description="Promote the OAuth client from private to public visibility. Only `public` is accepted; "
        "demotion to `private` is not supported (irreversible). Promotion requires a non-empty client name, "
        "logo URI, verified client URI host, and at least one non-identity scope.",
        json_schema_extra={"enum": ["public"]},  # a one-member Literal renders as `const`; clients show enums
    )
    add: ListAdditions = Field(  # type: ignore[valid-type]
        default=None,
        description="Entries to add to list fields without replacing the stored list, keyed by field, e.g. "
        '{"redirect_uris": ["https://staging.example.com/cb"]}. The server reads the client, adds them '
        "(an entry already present is reported, not duplicated) and sends the full list.",
    )
    remove: ListRemovals = Field(  # type: ignore[valid-type]
        default=None,
        description="Entries to remove from list fields, keyed by field, e.g. "
        '{"redirect_uris": ["https://old.example.com/cb"]}. Only the named entries go; an absent entry is '
        "reported. Do not combine add/remove with the same field's full list.",
    )
    dry_run: bool = Field(
        default=False,
        description="Preview: run every check, read the client, and show what would change field by field "
        "(before and after; for lists, entries added and removed) with every warning and a state_hash. "
        "Nothing is written.",
    )
    expected_state_hash: str = Field(
        default=None,
        description="The state_hash a dry run returned. The update is refused, with nothing written, if the "
        "client changed since that dry run (plan, then apply, with no stale write).",
        pattern=r"^sha256:[0-9a-f]{64}$",
    )
    confirm_irreversible: bool = Field(
        default=False,
        description="Only for promotion to public, and only honoured when the operator started the server with "
        "--allow-unattended-promotion and the MCP client cannot ask the person. Never set this on your own "
        "initiative: it states that a person approved an irreversible change.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls_and_decode_json_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, value in data.items():
            if value is None:
                raise ValueError(f"{name}: null is not accepted; omit the field to leave it unchanged")
            # Some clients (Claude Desktop among them) send arrays JSON-encoded inside a string. A string
            # holding a JSON array is decoded; any other string stays a string and is refused, never split.
            if name in JSON_ENCODED_OK and isinstance(value, str) and value.lstrip().startswith(("[", "{")):
                try:
                    decoded = json.loads(value)
                except ValueError:
                    continue
                if isinstance(decoded, list | dict):
                    data[name] = decoded
        return data

    @field_validator(*LIST_ENTRY_TYPES)
    @classmethod
    def _no_duplicates(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            seen: set[str] = set()
            twice = [v for v in value if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
            if twice:
                raise ValueError(f"lists {twice[0]!r} more than once; give each entry once")
        return value

    @field_validator("grant_types", "response_types")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("grant_types")
    @classmethod
    def _authorization_code_required(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and "authorization_code" not in value:
            raise ValueError("must contain 'authorization_code' (Cloudflare requires it); 'refresh_token' may be added")
        return value

    @field_validator("client_name")
    @classmethod
    def _name_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("optional_scopes")
    @classmethod
    def _protocol_scopes_never_optional(cls, value: list[str] | None) -> list[str] | None:
        for scope in value or ():
            if scope in checks.IDENTITY_SCOPES_NEVER_OPTIONAL:
                raise ValueError(f"{scope!r} cannot be optional (openid, offline and offline_access never are)")
        return value

    @model_validator(mode="after")
    def _whole_update_rules(self) -> OAuthClientUpdate:
        if not self.body() and not self.edits():
            raise ValueError(
                "nothing to change: give at least one of " + ", ".join(sorted(UPDATABLE_FIELDS)) + ", or add/remove"
            )
        additions, removals = self.edits("add"), self.edits("remove")
        for field in sorted((additions.keys() | removals.keys()) & self.model_fields_set):
            raise ValueError(f"{field}: give either the full list or add/remove entries for it, not both")
        for field in sorted(additions.keys() & removals.keys()):
            both = sorted(set(additions[field]) & set(removals[field]))
            if both:
                raise ValueError(f"{field}: {both} is both added and removed")
        if self.optional_scopes is not None and self.scopes is not None:
            missing = [s for s in self.optional_scopes if s not in self.scopes]
            if missing:
                raise ValueError(
                    f"optional_scopes: {missing} are not in scopes; every optional scope must also be listed in scopes"
                )
        return self

    def body(self) -> dict[str, Any]:
        """The PATCH body: exactly the updatable fields the caller gave, nothing invented."""
        return self.model_dump(mode="json", include=UPDATABLE_FIELDS & self.model_fields_set)

    def edits(self, which: str | None = None) -> dict[str, list[str]]:
        """The add (or remove) entries by field; with no argument, whether there are any of either."""
        if which is None:
            return {**self.edits("add"), **self.edits("remove")}
        given = getattr(self, which)
        return {} if given is None else given.model_dump(mode="json", exclude_none=True)


PATH_FIELDS = frozenset({"account_id", "oauth_client_id"})
CONTROL_FIELDS = frozenset({"add", "remove", "dry_run", "expected_state_hash", "confirm_irreversible"})
UPDATABLE_FIELDS = frozenset(OAuthClientUpdate.model_fields) - PATH_FIELDS - CONTROL_FIELDS
JSON_ENCODED_OK = LIST_FIELDS | {"add", "remove"}


def parse_arguments(model: type[ModelT], arguments: dict[str, Any]) -> ModelT:
    """Validate raw tool arguments with `model`; every problem is reported at once, each naming its field."""
    refuse_unknown(arguments, model.model_fields)
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc), next_step=_FIX) from None


_FIX = "correct the fields named above and call again; nothing was sent to Cloudflare."


def refuse_unknown(arguments: dict[str, Any], known: Any) -> None:
    """Refuse argument names the tool does not take, suggesting the intended one."""
    unknown = [name for name in arguments if name not in known]
    if not unknown:
        return
    lines = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        lines.append(f"- {name}: unknown argument{hint}")
    raise InvalidInput(
        "Invalid arguments, nothing was sent:\n" + "\n".join(lines) + f"\nAccepted: {', '.join(sorted(known))}",
        next_step=_FIX,
    )


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: the field (with list index), the value, what would be accepted."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = ""
        for part in error["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "list_type" and isinstance(error.get("input"), str):
            message = f'expected a list of strings, got a single string; send ["{error["input"][:80]}"]'
        elif error["type"] == "string_pattern_mismatch" and loc in PATH_FIELDS:
            try:
                pattern = checks.ACCOUNT_ID_PATTERN if loc == "account_id" else checks.CLIENT_ID_PATTERN
                checks.check_identifier(str(error.get("input")), pattern, loc)
            except ValueError as detail:
                message = str(detail).removeprefix(f"{loc} ")
        value = error.get("input")
        shown = f" (got {value!r:.120})" if loc and isinstance(value, str | int | float) else ""
        lines.append(f"- {loc or 'arguments'}: {message}{shown}")
    return "Invalid arguments, nothing was sent:\n" + "\n".join(lines)


class OAuthClientRef(BaseModel):
    """Arguments of get_oauth_client: which client to read."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults, title="get_oauth_client")

    account_id: str = OAuthClientUpdate.model_fields["account_id"]
    oauth_client_id: str = OAuthClientUpdate.model_fields["oauth_client_id"]
