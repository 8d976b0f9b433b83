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
    ValidationInfo,
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
# How many problems one refusal lists; the rest are counted, so a hostile call cannot make a huge error.
MAX_PROBLEMS_SHOWN = 20

# The full-list fields state their limit here (the schema's maxItems) and enforce it in `_bounded`, before any
# entry is checked; a list that add/remove made from what Cloudflare stores may be longer (MERGED_LISTS).
OriginList = Annotated[list[Origin], Field(json_schema_extra={"maxItems": MAX_URIS})]
RedirectURIList = Annotated[list[RedirectURI], Field(json_schema_extra={"maxItems": MAX_URIS})]
ScopeList = Annotated[list[Scope], Field(json_schema_extra={"maxItems": MAX_SCOPES})]
GrantTypeList = Annotated[list[GrantType], Field(json_schema_extra={"maxItems": MAX_ITEMS["grant_types"]})]
ResponseTypeList = Annotated[list[ResponseType], Field(json_schema_extra={"maxItems": MAX_ITEMS["response_types"]})]
MERGED_LISTS = {"merged_lists": True}  # validation context: the lists are stored entries plus the caller's edits


def lean_schema(schema: dict[str, Any]) -> None:
    """Shape a params model's JSON schema into what the model is shown, paid in context on every turn.

    Optional fields default to "not sent", not to null: a null default would invite the model to send
    nulls, which mean nothing documented to Cloudflare. Titles repeat the names, and the model's docstring
    is for developers: both go.
    """
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "enum" in prop:
            prop.pop("const", None)  # a one-member enum says it already
        if prop.get("default", ...) is None:
            del prop["default"]


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
                list[entry if checked else Annotated[str, Field(min_length=1, max_length=MAX_ENTRY)]],
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


class OAuthClientUpdate(BaseModel):
    """Partial update of an OAuth client: only the fields given are sent.

    Optional fields default to None, meaning "not given" (pydantic does not validate defaults, and explicit
    nulls are refused), so a field is either absent or a valid value. This docstring stays out of the schema.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=lean_schema)

    account_id: str = Field(
        default=None,
        description="Optional when the server has a default account.",
        pattern=checks.ACCOUNT_ID_PATTERN,
    )
    oauth_client_id: str = Field(description="From list_oauth_clients.", pattern=checks.CLIENT_ID_PATTERN)
    allowed_cors_origins: OriginList = Field(
        default=None, description="Origins only: scheme, host, optional port (https://app.example.com)."
    )
    client_name: str = Field(default=None, description="Display name.", min_length=1)
    client_uri: WebURL = Field(
        default=None,
        description="Home page URL. Its host needs DNS verification before promotion (check_verification_record); "
        "sending it unchanged restarts a failed verification.",
    )
    grant_types: GrantTypeList = Field(
        default=None, description="Must include authorization_code; refresh_token brings the offline_access scope."
    )
    logo_uri: WebURL = Field(default=None, description="Logo URL.")
    optional_scopes: ScopeList = Field(
        default=None,
        description="Scopes a user may decline; each also in scopes; not openid, offline or offline_access.",
    )
    policy_uri: WebURL = Field(default=None, description="Privacy policy URL.")
    post_logout_redirect_uris: RedirectURIList = Field(default=None, description="Same rules as redirect_uris.")
    redirect_uris: RedirectURIList = Field(default=None, description=checks.REDIRECT_RULE)
    response_types: ResponseTypeList = Field(default=None, description="id_token brings the openid scope.")
    scopes: ScopeList = Field(
        default=None,
        description="Ids from list_oauth_scopes (dot-delimited, never colons) or identity scopes without a dot "
        "(email). offline_access and openid follow grant_types and response_types.",
    )
    token_endpoint_auth_method: TokenEndpointAuthMethod = Field(default=None, description="Token endpoint auth.")
    tos_uri: WebURL = Field(default=None, description="Terms of service URL.")
    visibility: Literal["public"] = Field(
        default=None,
        description="Promote to public, irreversibly; send alone. Needs client_name, logo_uri, a verified client "
        "URI host and a non-identity scope. A person approves: your MCP client asks them, or else the operator's "
        "--allow-unattended-promotion flag allows confirm_irreversible.",
        json_schema_extra={"enum": ["public"]},  # a one-member Literal renders as `const`; clients show enums
    )
    add: ListAdditions = Field(  # type: ignore[valid-type]
        default=None, description='Entries to add, by list field ({"scopes": ["zone.read"]}); the stored ones stay.'
    )
    remove: ListRemovals = Field(  # type: ignore[valid-type]
        default=None, description="Entries to remove, keyed like add; the rest stay."
    )
    dry_run: bool = Field(default=False, description="Preview changes and warnings with a state_hash; write nothing.")
    expected_state_hash: str = Field(
        default=None,
        description="A state_hash from a dry run (apply the same arguments) or get_oauth_client; refused, nothing "
        "written, if the client or the change differs.",
        pattern=checks.STATE_HASH_PATTERN,
    )
    confirm_irreversible: bool = Field(
        default=False,
        description="Only as visibility says, after a person approved; never on your own initiative.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls_and_decode_json_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, value in data.items():
            if value is None:
                raise ValueError(f"{name}: {NULL_REFUSED}")
            data[name] = decode_json_list(name, value)
        return data

    @field_validator(*LIST_ENTRY_TYPES, mode="before")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the entries are checked, so an endless list costs nothing; a merged list is exempt, so a
        # client that already stores more entries can still be edited with add/remove.
        limit = MAX_ITEMS[info.field_name or ""]
        if isinstance(value, list) and len(value) > limit and not (info.context or {}).get("merged_lists"):
            raise ValueError(f"List should have at most {limit} items, not {len(value)}")
        return value

    @field_validator(*LIST_ENTRY_TYPES)
    @classmethod
    def _no_duplicates(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            seen: set[str] = set()  # a set: linear in the list, whatever its length
            for entry in value:
                if entry in seen:
                    raise ValueError(f"lists {entry!r:.120} more than once; give each entry once")
                seen.add(entry)
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
        if value is not None:
            checks.check_visible(value)
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
            listed = set(self.scopes)
            missing = [s for s in self.optional_scopes if s not in listed]
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


NULL_REFUSED = "null is not accepted; omit the field to leave it unchanged"


def decode_json_list(name: str, value: Any) -> Any:
    """Decode a list field (or add/remove) that a client sent JSON-encoded inside a string.

    Some clients (Claude Desktop among them) send arrays that way. A string holding a JSON array or
    object is decoded; any other string stays a string and is refused, never split.
    """
    if name not in JSON_ENCODED_OK or not isinstance(value, str) or not value.lstrip().startswith(("[", "{")):
        return value
    try:
        decoded = json.loads(value)
    except RecursionError:  # json raises this, not ValueError, on absurdly deep nesting
        raise ValueError(f"{name}: the JSON-encoded value is nested too deeply; send a flat list") from None
    except ValueError:
        return value
    return decoded if isinstance(decoded, list | dict) else value


def parse_arguments(model: type[ModelT], arguments: dict[str, Any], context: dict[str, Any] | None = None) -> ModelT:
    """Validate raw tool arguments with `model`; every problem is reported at once, each naming its field.

    Unknown names, nulls and undecodable JSON are found first and taken out, so the model still checks
    every other field and one refusal names them all.
    """
    problems = _unknown_problems(arguments, model.model_fields)
    data: dict[str, Any] = {}
    for name, value in arguments.items():
        if name not in model.model_fields:
            continue
        if value is None:
            problems.append(f"- {name}: {NULL_REFUSED}")
            continue
        try:
            data[name] = decode_json_list(name, value)
        except ValueError as exc:
            problems.append(f"- {exc}")
    set_aside = arguments.keys() - data.keys()  # reported above and left out: a required one is not also "missing"
    try:
        params = model.model_validate(data, context=context)
    except ValidationError as exc:
        problems += describe_validation_error(exc, set_aside=set_aside, meant_more=bool(problems))
    else:
        if not problems:
            return params
    raise InvalidInput(_refusal(problems, arguments, model.model_fields), next_step=_FIX)


# The footer of every refused argument. A fix may change what the person asked for (http -> https, another
# scope): then the model asks the person instead of deciding for them.
_FIX = (
    "correct the values named above and call again, or ask the person first when the fix would change what "
    "they asked for; nothing was sent to Cloudflare."
)
_MAX_NAME_FOR_SUGGESTION = 64  # difflib is quadratic in the name's length: longer names get no suggestion


def _refusal(problems: list[str], arguments: dict[str, Any], known: Any) -> str:
    """The refusal's text: at most MAX_PROBLEMS_SHOWN lines whatever the call, then the accepted names."""
    shown = problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > len(shown):
        shown.append(f"- ... and {len(problems) - len(shown)} more problems")
    text = "Invalid arguments, nothing was sent:\n" + "\n".join(shown)
    if any(name not in known for name in arguments):
        text += f"\nAccepted: {', '.join(sorted(known))}"
    return text


def _unknown_problems(arguments: dict[str, Any], known: Any) -> list[str]:
    """A line for each of the first few argument names the tool does not take, then how many more."""
    unknown = [name for name in arguments if name not in known]
    if not unknown:
        return []
    lines = []
    for name in unknown[:5]:
        close = (
            difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            if len(name) <= _MAX_NAME_FOR_SUGGESTION
            else []
        )
        hint = f"; did you mean {close[0]!r}?" if close else ""
        lines.append(f"- {name[:80] if name.isprintable() else repr(name)[:80]}: unknown argument{hint}")
    if len(unknown) > 5:
        lines.append(f"- ... and {len(unknown) - 5} more unknown arguments ({len(unknown)} in all)")
    return lines


def describe_validation_error(exc: ValidationError, *, set_aside: set[str], meant_more: bool) -> list[str]:
    """One line per problem: the field (with list index), the value, what would be accepted.

    Problems of the `set_aside` fields (already reported, then left out) are not repeated, nor is
    "nothing to change" when the caller `meant_more` (fields already reported as unknown or null).
    """
    lines = []
    for error in exc.errors(include_url=False):
        loc = ""
        for part in error["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"] and error["loc"][0] in set_aside:
            continue
        if meant_more and not loc and message.startswith("nothing to change"):
            continue
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
        lines.append(f"- {loc[:120] or 'arguments'}: {message}{shown}")
    return lines


class OAuthClientRef(BaseModel):
    """Arguments of get_oauth_client: which client to read."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=lean_schema)

    account_id: str = OAuthClientUpdate.model_fields["account_id"]
    oauth_client_id: str = OAuthClientUpdate.model_fields["oauth_client_id"]
