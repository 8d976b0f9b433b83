"""The params models: what each tool accepts, one definition per client setting.

A params model is the single source of truth for its tool: its JSON schema is the tool's inputSchema,
it validates the call, and (for a write) it produces the request body. Each client setting is defined
once below, as an annotated type carrying its description, its schema limits and every rule that
needs only its own value; `OAuthClientUpdate` declares them optional, and a create model declares the
same types (the ones Cloudflare requires without a default). Field names and descriptions mirror
Cloudflare's API reference for `/accounts/{account_id}/oauth_clients`.

Parsing a call's raw arguments (JSON-encoded lists among them), and the refusal text, live in `arguments`.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    model_validator,
)

from mcp_oauth_clients import checks

GrantType = Literal["authorization_code", "refresh_token"]
ResponseType = Literal["token", "id_token", "code"]
TokenEndpointAuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]


def _rule(check: Any) -> AfterValidator:
    def run(value: Any) -> Any:
        check(value)
        return value

    return AfterValidator(run)


WebURL = Annotated[str, _rule(checks.check_web_url)]
RedirectURI = Annotated[str, _rule(checks.check_redirect_uri)]
Origin = Annotated[str, _rule(checks.check_origin)]
Scope = Annotated[str, _rule(checks.check_scope)]
MAX_ENTRY = checks.MAX_URI_LENGTH  # the longest entry any list takes (a URI); bounds what `remove` may name

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

# The most entries one list (or one add/remove list) may hold; it is the schema's maxItems, so one call
# cannot make the server validate, diff or send an unbounded list. A real client has a handful of redirect
# URIs and origins and a few dozen scopes; these leave ample room. The enum lists hold each member once.
MAX_URIS = 100
MAX_SCOPES = 200
MAX_ITEMS: dict[str, int] = {
    "allowed_cors_origins": MAX_URIS,
    "grant_types": 2,
    "optional_scopes": MAX_SCOPES,
    "post_logout_redirect_uris": MAX_URIS,
    "redirect_uris": MAX_URIS,
    "response_types": 3,
    "scopes": MAX_SCOPES,
}
MERGED_LISTS = {"merged_lists": True}  # validation context: the lists are stored entries plus the caller's edits


def _at_most(limit: int) -> BeforeValidator:
    """A list's limit, checked before its entries so an endless list costs nothing. A merged list is exempt, so
    a client that already stores more entries can still be edited with add/remove."""

    def run(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list) and len(value) > limit and not (info.context or {}).get("merged_lists"):
            raise ValueError(f"List should have at most {limit} items, not {len(value)}")
        return value

    return BeforeValidator(run)


def _each_once(value: list[str]) -> list[str]:
    seen: set[str] = set()  # a set: linear in the list, whatever its length
    for entry in value:
        if entry in seen:
            raise ValueError(f"lists {entry!r:.120} more than once; give each entry once")
        seen.add(entry)
    return value


def _not_empty(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("must not be empty")
    return value


def _authorization_code_required(value: list[str]) -> list[str]:
    if "authorization_code" not in value:
        raise ValueError("must contain 'authorization_code' (Cloudflare requires it); 'refresh_token' may be added")
    return value


def _protocol_scopes_never_optional(value: list[str]) -> list[str]:
    for scope in value:
        if scope in checks.IDENTITY_SCOPES_NEVER_OPTIONAL:
            raise ValueError(f"{scope!r} cannot be optional (openid, offline and offline_access never are)")
    return value


def _name_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    checks.check_visible(value)
    return value


def _max_items(field: str) -> Any:
    """The schema's maxItems of a list field (enforced by `_at_most`, before any entry is checked)."""
    return Field(json_schema_extra={"maxItems": MAX_ITEMS[field]})


_EACH_ONCE = AfterValidator(_each_once)
_NOT_EMPTY = AfterValidator(_not_empty)

# --- the client's settings: one definition each, for every params model that takes the setting --------------

AccountId = Annotated[
    str, Field(description="Optional when the server has a default account.", pattern=checks.ACCOUNT_ID_PATTERN)
]
ClientId = Annotated[str, Field(description="From list_oauth_clients.", pattern=checks.CLIENT_ID_PATTERN)]
CorsOrigins = Annotated[
    list[Origin],
    Field(description="Origins only: scheme, host, optional port (https://app.example.com)."),
    _max_items("allowed_cors_origins"),
    _at_most(MAX_URIS),
    _EACH_ONCE,
]
ClientName = Annotated[str, Field(description="Display name.", min_length=1), AfterValidator(_name_not_blank)]
CLIENT_URI = "Home page URL. Its host needs DNS verification before promotion (check_verification_record)"
ClientURI = Annotated[WebURL, Field(description=CLIENT_URI + ".")]
GrantTypes = Annotated[
    list[GrantType],
    Field(description="Must include authorization_code; refresh_token brings the offline_access scope."),
    _max_items("grant_types"),
    _at_most(MAX_ITEMS["grant_types"]),
    _EACH_ONCE,
    _NOT_EMPTY,
    AfterValidator(_authorization_code_required),
]
LogoURI = Annotated[WebURL, Field(description="Logo URL.")]
OptionalScopes = Annotated[
    list[Scope],
    Field(description="Scopes a user may decline; each also in scopes; not openid, offline or offline_access."),
    _max_items("optional_scopes"),
    _at_most(MAX_SCOPES),
    _EACH_ONCE,
    AfterValidator(_protocol_scopes_never_optional),
]
PolicyURI = Annotated[WebURL, Field(description="Privacy policy URL.")]
PostLogoutRedirectURIs = Annotated[
    list[RedirectURI],
    Field(description="Same rules as redirect_uris."),
    _max_items("post_logout_redirect_uris"),
    _at_most(MAX_URIS),
    _EACH_ONCE,
]
RedirectURIs = Annotated[
    list[RedirectURI],
    Field(description=checks.REDIRECT_RULE),
    _max_items("redirect_uris"),
    _at_most(MAX_URIS),
    _EACH_ONCE,
]
ResponseTypes = Annotated[
    list[ResponseType],
    Field(description="id_token brings the openid scope."),
    _max_items("response_types"),
    _at_most(MAX_ITEMS["response_types"]),
    _EACH_ONCE,
    _NOT_EMPTY,
]
Scopes = Annotated[
    list[Scope],
    Field(
        description="Ids from list_oauth_scopes (dot-delimited, never colons) or identity scopes without a dot "
        "(email). offline_access and openid follow grant_types and response_types."
    ),
    _max_items("scopes"),
    _at_most(MAX_SCOPES),
    _EACH_ONCE,
]
TokenEndpointAuth = Annotated[TokenEndpointAuthMethod, Field(description="Token endpoint auth.")]
TosURI = Annotated[WebURL, Field(description="Terms of service URL.")]


def check_optional_scopes_in_scopes(optional_scopes: list[str] | None, scopes: list[str] | None) -> None:
    """The one rule across two settings: when both are given, every optional scope is also in scopes."""
    if optional_scopes is not None and scopes is not None:
        listed = set(scopes)
        missing = [s for s in optional_scopes if s not in listed]
        if missing:
            raise ValueError(
                f"optional_scopes: {missing} are not in scopes; every optional scope must also be listed in scopes"
            )


# --- the schema a model is shown, and what every params model shares ------------------------------------------


def lean_schema(schema: dict[str, Any]) -> None:
    """Shape a params model's JSON schema into what the model is shown, paid in context on every turn.

    An optional field is shown as its value's type, not "that or null", and without a null default: a null
    would invite the model to send nulls, which mean nothing documented to Cloudflare. Titles repeat the
    names, and the model's docstring is for developers: both go.
    """
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf", [])
        if len(branches) == 2 and {"type": "null"} in branches:
            (kept,) = (branch for branch in branches if branch != {"type": "null"})
            del prop["anyOf"]
            for key, value in kept.items():
                prop.setdefault(key, value)  # the field's own description wins over its type's
        prop.pop("title", None)
        if "enum" in prop:
            prop.pop("const", None)  # a one-member enum says it already
        if prop.get("default", ...) is None:
            del prop["default"]


class ToolParams(BaseModel):
    """What every tool's params model shares: no unknown names, the lean schema, one meaning for null.

    `null_refused` says what an explicit null is. None (the read tools): the field was not given, as OpenAI's
    strict mode sends every optional field it was not asked for. Words (a write): a refusal with those words,
    as a null there could be meant as "clear this setting", which Cloudflare does not document.
    """

    # A base, and each params model is built as tools/list derives its schema: nothing is built twice.
    model_config = ConfigDict(extra="forbid", json_schema_extra=lean_schema, defer_build=True)

    null_refused: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            if value is None and cls.null_refused:
                raise ValueError(f"{name}: {cls.null_refused}")
        return {name: value for name, value in data.items() if value is not None}


# --- the tools' params ----------------------------------------------------------------------------------------


def _one_shape_for_every_field(schema: dict[str, Any], *, keys_named: bool) -> None:
    """Show add/remove as "list field name -> list of strings" instead of a described copy of each list field.

    Every entry is still validated by the field's own rules, and an unknown key is refused (the model
    below); the rules are stated once, on the full-list field of the same name, where the model reads them.
    `add` names the keys; `remove` says in its description that its keys are the same.
    """
    lean_schema(schema)
    properties = schema.pop("properties")
    if keys_named:
        schema["propertyNames"] = {"enum": sorted(properties)}
    # One shape for every key, so it states the largest list limit; each key's own limit is still enforced.
    schema["additionalProperties"] = {"type": "array", "items": {"type": "string"}, "maxItems": max(MAX_ITEMS.values())}


def _list_edits(name: str, doc: str, checked: bool) -> type[BaseModel]:
    """A model keyed by list field; `checked` entries must pass the field's rules, others are any text."""
    fields: dict[str, Any] = {
        field: (
            Annotated[
                # a runtime-built type: mypy cannot follow a type chosen by a condition
                list[entry if checked else Annotated[str, Field(min_length=1, max_length=MAX_ENTRY)]],  # type: ignore[misc]
                Field(max_length=MAX_ITEMS[field]),
            ],
            Field(default=None),
        )
        for field, entry in LIST_ENTRY_TYPES.items()
    }

    def shape(schema: dict[str, Any]) -> None:
        _one_shape_for_every_field(schema, keys_named=checked)

    config = ConfigDict(extra="forbid", json_schema_extra=shape, title=name)
    return create_model(name, __config__=config, __doc__=doc, **fields)


ListAdditions = _list_edits("ListAdditions", "Entries to add to list fields, keeping what is stored.", True)
ListRemovals = _list_edits("ListRemovals", "Entries to remove from list fields, keeping the rest.", False)


class OAuthClientUpdate(ToolParams):
    """Partial update of an OAuth client: only the fields given are sent.

    Optional fields default to None, meaning "not given" (explicit nulls are refused), so a field is either
    absent or a valid value. This docstring stays out of the schema.
    """

    null_refused: ClassVar[str | None] = "null is not accepted; omit the field to leave it unchanged"

    account_id: AccountId | None = None
    oauth_client_id: ClientId
    allowed_cors_origins: CorsOrigins | None = None
    client_name: ClientName | None = None
    client_uri: ClientURI | None = Field(
        default=None, description=CLIENT_URI + "; sending it unchanged restarts a failed verification."
    )
    grant_types: GrantTypes | None = None
    logo_uri: LogoURI | None = None
    optional_scopes: OptionalScopes | None = None
    policy_uri: PolicyURI | None = None
    post_logout_redirect_uris: PostLogoutRedirectURIs | None = None
    redirect_uris: RedirectURIs | None = None
    response_types: ResponseTypes | None = None
    scopes: Scopes | None = None
    token_endpoint_auth_method: TokenEndpointAuth | None = None
    tos_uri: TosURI | None = None
    visibility: Literal["public"] | None = Field(
        default=None,
        description="Promote to public, irreversibly; send alone. Needs client_name, logo_uri, a verified client "
        "URI host and a non-identity scope. A person approves: your MCP client asks them, or else the operator's "
        "--allow-unattended-promotion flag allows confirm_irreversible.",
        json_schema_extra={"enum": ["public"]},  # a one-member Literal renders as `const`; clients show enums
    )
    add: ListAdditions | None = Field(  # type: ignore[valid-type, misc]
        default=None, description='Entries to add, by list field ({"scopes": ["zone.read"]}); the stored ones stay.'
    )
    remove: ListRemovals | None = Field(  # type: ignore[valid-type, misc]
        default=None, description="Entries to remove, keyed like add; the rest stay."
    )
    dry_run: bool = Field(default=False, description="Preview changes and warnings with a state_hash; write nothing.")
    expected_state_hash: str | None = Field(
        default=None,
        description="A state_hash from a dry run (apply the same arguments) or get_oauth_client; refused, nothing "
        "written, if the client or the change differs.",
        pattern=checks.STATE_HASH_PATTERN,
    )
    confirm_irreversible: bool = Field(
        default=False,
        description="Only as visibility says, after a person approved; never on your own initiative.",
    )

    @model_validator(mode="after")
    def _whole_update_rules(self) -> "OAuthClientUpdate":
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
        check_optional_scopes_in_scopes(self.optional_scopes, self.scopes)
        return self

    def body(self) -> dict[str, Any]:
        """The PATCH body: exactly the updatable fields the caller gave, nothing invented."""
        return self.model_dump(mode="json", include=set(UPDATABLE_FIELDS & self.model_fields_set))

    def edits(self, which: str | None = None) -> dict[str, list[str]]:
        """The add (or remove) entries by field; with no argument, whether there are any of either."""
        if which is None:
            return {**self.edits("add"), **self.edits("remove")}
        given = getattr(self, which)
        return {} if given is None else given.model_dump(mode="json", exclude_none=True)


PATH_FIELDS = frozenset({"account_id", "oauth_client_id"})
CONTROL_FIELDS = frozenset({"add", "remove", "dry_run", "expected_state_hash", "confirm_irreversible"})
UPDATABLE_FIELDS = frozenset(OAuthClientUpdate.model_fields) - PATH_FIELDS - CONTROL_FIELDS


class OAuthClientRef(ToolParams):
    """Arguments of get_oauth_client and check_verification_record: which client to read."""

    account_id: AccountId | None = None
    oauth_client_id: ClientId
