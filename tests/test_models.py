"""Unit tests of the params model: schema, every check, and the body it produces."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from pydantic import TypeAdapter, model_validator

from mcp_oauth_clients import checks, suggestions
from mcp_oauth_clients.arguments import parse_arguments
from mcp_oauth_clients.errors import InvalidInput
from mcp_oauth_clients.listing import ClientQuery, ScopeQuery
from mcp_oauth_clients.models import (
    CLIENT_URI,
    MAX_URIS,
    UPDATABLE_FIELDS,
    AccountId,
    ClientName,
    ClientURI,
    CorsOrigins,
    GrantTypes,
    LogoURI,
    OAuthClientRef,
    OAuthClientUpdate,
    OptionalScopes,
    PolicyURI,
    PostLogoutRedirectURIs,
    RedirectURIs,
    ResponseTypes,
    Scopes,
    TokenEndpointAuth,
    ToolParams,
    TosURI,
    check_optional_scopes_in_scopes,
)
from mcp_oauth_clients.suggestions import closest

CLIENT = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
NULL_REFUSED = OAuthClientUpdate.null_refused


def refused(**arguments) -> str:
    arguments.setdefault("oauth_client_id", CLIENT)
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(OAuthClientUpdate, arguments)
    return str(caught.value)


def accepted(**arguments) -> OAuthClientUpdate:
    arguments.setdefault("oauth_client_id", CLIENT)
    return parse_arguments(OAuthClientUpdate, arguments)


# --- the generated schema -------------------------------------------------------------------------


API_PROPERTIES = {
    "account_id",
    "oauth_client_id",
    "allowed_cors_origins",
    "client_name",
    "client_uri",
    "grant_types",
    "logo_uri",
    "optional_scopes",
    "policy_uri",
    "post_logout_redirect_uris",
    "redirect_uris",
    "response_types",
    "scopes",
    "token_endpoint_auth_method",
    "tos_uri",
    "visibility",
}
GUARD_PROPERTIES = {"add", "remove", "dry_run", "expected_state_hash", "confirm_irreversible"}


def test_schema_has_all_sixteen_api_properties_flat_and_described():
    schema = OAuthClientUpdate.model_json_schema()
    props = schema["properties"]
    assert set(props) == API_PROPERTIES | GUARD_PROPERTIES
    assert len(UPDATABLE_FIELDS) == 14 and UPDATABLE_FIELDS | {"account_id", "oauth_client_id"} == API_PROPERTIES
    for name, prop in props.items():
        assert prop.get("description"), name
        assert "default" not in prop or prop["default"] is False, f"{name} invites a null default"
        if name in API_PROPERTIES:
            assert "anyOf" not in prop and "$ref" not in prop, f"{name} is not flat"
    assert schema["required"] == ["oauth_client_id"]
    assert schema["additionalProperties"] is False


def test_schema_shows_enums():
    props = OAuthClientUpdate.model_json_schema()["properties"]
    assert props["grant_types"]["items"]["enum"] == ["authorization_code", "refresh_token"]
    assert props["response_types"]["items"]["enum"] == ["token", "id_token", "code"]
    assert props["token_endpoint_auth_method"]["enum"] == ["none", "client_secret_basic", "client_secret_post"]
    assert props["visibility"]["enum"] == ["public"]


def test_schema_states_each_documented_rule_once_where_the_field_is():
    props = OAuthClientUpdate.model_json_schema()["properties"]
    assert "Must include authorization_code" in props["grant_types"]["description"]
    assert "not openid, offline or offline_access" in props["optional_scopes"]["description"]
    assert "never colons" in props["scopes"]["description"]
    assert "list_oauth_scopes" in props["scopes"]["description"]
    assert "list_oauth_clients" in props["oauth_client_id"]["description"]
    text = json.dumps(OAuthClientUpdate.model_json_schema())
    assert "Replaces the whole stored list" not in text  # said once, in the tool description


def test_schema_carries_no_implementation_note_and_no_titles():
    schema = OAuthClientUpdate.model_json_schema()
    text = json.dumps(schema)
    assert "pydantic" not in text and "description" not in schema and "title" not in schema
    assert not any("title" in prop for prop in schema["properties"].values())


def test_redirect_rule_reads_the_same_in_the_description_and_the_refusal():
    props = OAuthClientUpdate.model_json_schema()["properties"]
    assert checks.LOOPBACK_RULE in props["redirect_uris"]["description"]
    for host, said in (
        ("127.0.0.1", "127.x.x.x"),
        ("127.0.0.2", "127.x.x.x"),
        ("[::1]", "[::1]"),
        ("localhost", "localhost"),
    ):
        assert said in checks.LOOPBACK_RULE
        accepted(redirect_uris=[f"http://{host}:8976/cb"])
    with pytest.raises(InvalidInput) as refused:
        parse_arguments(OAuthClientUpdate, {"oauth_client_id": "c1", "redirect_uris": ["http://app.example.com/cb"]})
    assert checks.LOOPBACK_RULE in str(refused.value)
    assert "or ask the person first when the fix would change what they asked for" in str(refused.value)


# --- the body -------------------------------------------------------------------------------------


def test_body_holds_only_the_fields_given():
    update = accepted(client_name="New name", redirect_uris=["https://app.example.com/cb"])
    assert update.body() == {"client_name": "New name", "redirect_uris": ["https://app.example.com/cb"]}


def test_body_never_holds_path_fields_or_nulls():
    update = accepted(account_id="023e105f4ecef8ad9ca31a8372d0c353", tos_uri="https://example.com/tos")
    assert update.body() == {"tos_uri": "https://example.com/tos"}


def test_null_is_refused_not_sent():
    assert "omit the field" in refused(logo_uri=None)


def test_json_encoded_array_string_is_decoded():
    update = accepted(scopes='["account.read", "zone.read"]')
    assert update.body() == {"scopes": ["account.read", "zone.read"]}


# --- identifiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../x", "a/b", "a?b", "a#b", "a%2Fb", "a b", "", "x" * 129, "a.b", "a\nb"])
def test_unsafe_client_id_is_refused(bad):
    text = refused(oauth_client_id=bad, client_name="x")
    assert "oauth_client_id" in text


@pytest.mark.parametrize(
    "bad",
    [
        "023e105f4ecef8ad9ca31a8372d0c35",
        "023e105f4ecef8ad9ca31a8372d0c353/",
        "../..",
        "zz3e105f4ecef8ad9ca31a8372d0c353",
    ],
)
def test_malformed_account_id_is_refused(bad):
    text = refused(account_id=bad, client_name="x")
    assert "account_id" in text and "32 hexadecimal" in text


def test_missing_client_id_is_refused():
    with pytest.raises(InvalidInput, match="oauth_client_id"):
        parse_arguments(OAuthClientUpdate, {"client_name": "x"})


# --- the update as a whole --------------------------------------------------------------------------


def test_nothing_to_change_is_refused():
    assert "nothing to change" in refused()


def test_unknown_argument_is_refused_with_the_intended_field():
    text = refused(redirect_uri=["https://a.example.com/cb"])
    assert "redirect_uri: unknown argument; did you mean 'redirect_uris'?" in text


def test_unknown_argument_without_a_close_match_lists_what_is_accepted():
    text = refused(colour="blue", client_name="x")
    assert "colour: unknown argument" in text and "did you mean" not in text
    assert "Accepted:" in text and "redirect_uris" in text


# --- lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["redirect_uris", "scopes", "allowed_cors_origins", "grant_types"])
def test_bare_string_where_a_list_belongs_is_refused_not_split(field):
    text = refused(**{field: "https://a.example.com/cb,https://b.example.com/cb"})
    assert f"{field}: expected a list of strings, got a single string" in text


def test_grant_types_with_authorization_code_are_sent_as_given():
    body = accepted(grant_types=["authorization_code", "refresh_token"]).body()
    assert body == {"grant_types": ["authorization_code", "refresh_token"]}


def test_grant_types_must_not_be_empty():
    assert "grant_types: must not be empty" in refused(grant_types=[])


def test_grant_types_must_contain_authorization_code():
    assert "must contain 'authorization_code'" in refused(grant_types=["refresh_token"])


def test_grant_types_without_duplicates():
    assert "more than once" in refused(grant_types=["authorization_code", "authorization_code"])


def test_grant_types_enum_members_only():
    text = refused(grant_types=["authorization_code", "client_credentials"])
    assert "grant_types[1]" in text and "'authorization_code' or 'refresh_token'" in text


def test_response_types_enum_members_only():
    assert "response_types[0]" in refused(response_types=["device_code"])


def test_token_endpoint_auth_method_enum_only():
    text = refused(token_endpoint_auth_method="private_key_jwt")
    assert "token_endpoint_auth_method" in text and "client_secret_basic" in text


def test_visibility_private_is_refused():
    assert "visibility" in refused(visibility="private")


@pytest.mark.parametrize("scope", ["account:read", "account read", "", " zone.read"])
def test_scopes_with_colons_or_blanks_are_refused(scope):
    assert "scopes[0]" in refused(scopes=[scope])


def test_optional_scopes_must_be_a_subset_of_scopes():
    text = refused(scopes=["account.read"], optional_scopes=["zone.read"])
    assert (
        "optional_scopes: ['zone.read'] are not in scopes; every optional scope must also be listed in scopes" in text
    )


@pytest.mark.parametrize("scope", ["openid", "offline", "offline_access"])
def test_protocol_scopes_are_never_optional(scope):
    assert "cannot be optional" in refused(optional_scopes=[scope])


def test_optional_scopes_subset_accepted():
    assert accepted(scopes=["account.read", "zone.read"], optional_scopes=["zone.read"]).body()["optional_scopes"]


# --- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["client_uri", "logo_uri", "policy_uri", "tos_uri"])
@pytest.mark.parametrize(
    "bad",
    ["example.com", "/relative/path", "ftp://example.com/x", "javascript:alert(1)", "https://", "https://exa mple.com"],
)
def test_web_urls_must_be_absolute_http(field, bad):
    assert field in refused(**{field: bad})


@pytest.mark.parametrize("good", ["https://example.com", "http://example.com/page?x=1", "https://a.example.com:8443/"])
def test_web_urls_accepted(good):
    assert accepted(client_uri=good).body() == {"client_uri": good}


@pytest.mark.parametrize("field", ["redirect_uris", "post_logout_redirect_uris"])
@pytest.mark.parametrize(
    "bad",
    [
        "https://app.example.com/cb#frag",
        "http://app.example.com/cb",
        "/cb",
        "app.example.com/cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "myapp:/cb",
        "https://user:pw@app.example.com/cb",
    ],
)
def test_redirect_uris_follow_rfc_6749_and_8252(field, bad):
    assert f"{field}[0]" in refused(**{field: [bad]})


@pytest.mark.parametrize(
    "good",
    [
        "https://app.example.com/cb",
        "http://127.0.0.1:8976/cb",
        "http://[::1]:8976/cb",
        "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect",
    ],
)
def test_redirect_uris_accepted(good):
    assert accepted(redirect_uris=[good]).body() == {"redirect_uris": [good]}


def test_redirect_uris_duplicates_refused():
    assert "more than once" in refused(redirect_uris=["https://a.example.com/cb"] * 2)


@pytest.mark.parametrize(
    "bad",
    [
        "https://app.example.com/path",
        "https://app.example.com/",
        "https://a.example.com?x=1",
        "https://a.example.com#f",
        "app.example.com",
        "*",
        "ftp://a.example.com",
    ],
)
def test_cors_origins_are_origins_only(bad):
    assert "allowed_cors_origins[0]" in refused(allowed_cors_origins=[bad])


@pytest.mark.parametrize("good", ["https://app.example.com", "http://localhost:3000", "https://a.example.com:8443"])
def test_cors_origins_accepted(good):
    assert accepted(allowed_cors_origins=[good]).body() == {"allowed_cors_origins": [good]}


def test_every_problem_is_reported_at_once():
    text = refused(grant_types=["refresh_token"], scopes=["a:b"], logo_uri="nope")
    assert "grant_types" in text and "scopes[0]" in text and "logo_uri" in text


def test_blank_client_name_is_refused():
    assert "client_name" in refused(client_name="   ")


# --- issue 12: which rule refuses, what is decoded, what the error shows -----------------------------


def test_a_json_encoded_add_or_remove_is_decoded():
    update = accepted(add='{"redirect_uris": ["https://a.example.com/cb"]}', remove=' {"scopes": ["x.read"]}')
    assert update.edits("add") == {"redirect_uris": ["https://a.example.com/cb"]}
    assert update.edits("remove") == {"scopes": ["x.read"]}


def test_a_string_that_only_looks_like_json_stays_a_string_and_is_refused_as_one():
    text = refused(scopes='["account.read"')
    assert "- scopes: expected a list of strings, got a single string" in text and """(got "['account.read'")""" in text


def test_a_scalar_field_holding_json_text_is_sent_as_that_text():
    assert accepted(client_name='["App"]').body() == {"client_name": '["App"]'}


def test_a_null_names_its_field():
    lines = refused(logo_uri=None).splitlines()
    assert lines[1] == "- logo_uri: null is not accepted; omit the field to leave it unchanged"


def test_a_bare_string_is_echoed_in_the_list_to_send_clipped_to_80_characters():
    text = refused(scopes="a" * 100)
    assert f'send ["{"a" * 79}…"]' in text  # quoted, and clipped to 80 characters with the clip marked


def test_an_entry_both_added_and_removed_is_refused_naming_it():
    text = refused(add={"scopes": ["x.read", "y.read"]}, remove={"scopes": ["y.read", "z.read"]})
    assert "scopes: ['y.read'] is both added and removed" in text


def test_adding_and_removing_different_entries_of_one_field_is_accepted():
    update = accepted(add={"scopes": ["x.read"]}, remove={"scopes": ["z.read"]})
    assert (update.edits("add"), update.edits("remove"), update.body()) == (
        {"scopes": ["x.read"]},
        {"scopes": ["z.read"]},
        {},
    )


@pytest.mark.parametrize("which", ["add", "remove"])
def test_a_full_list_and_add_or_remove_for_the_same_field_is_refused(which):
    text = refused(
        redirect_uris=["https://a.example.com/cb"], **{which: {"redirect_uris": ["https://b.example.com/cb"]}}
    )
    assert "redirect_uris: give either the full list or add/remove entries for it, not both" in text


def test_add_or_remove_alone_is_something_to_change():
    assert accepted(remove={"redirect_uris": ["https://a.example.com/cb"]}).edits() == {
        "redirect_uris": ["https://a.example.com/cb"]
    }
    assert accepted(add={"scopes": ["x.read"]}).edits() == {"scopes": ["x.read"]}


def test_added_entries_meet_the_fields_rules_and_the_error_names_where():
    text = refused(add={"redirect_uris": ["http://app.example.com/cb"]})
    assert "- add.redirect_uris[0]: plain http only on loopback" in text


def test_removed_entries_need_only_be_non_empty():
    assert accepted(remove={"redirect_uris": ["http://app.example.com/cb"]}).edits("remove")
    assert accepted(remove={"scopes": ["x"]}).edits("remove") == {"scopes": ["x"]}
    assert "remove.redirect_uris[0]" in refused(remove={"redirect_uris": [""]})


@pytest.mark.parametrize(
    "field", ["allowed_cors_origins", "optional_scopes", "post_logout_redirect_uris", "redirect_uris", "scopes"]
)
def test_every_list_refuses_an_entry_given_twice_naming_it(field):
    value = "https://a.example.com" if field == "allowed_cors_origins" else "https://a.example.com/cb"
    if "scopes" in field:
        value = "account.read"
    arguments = {field: [value, value]}
    if field == "optional_scopes":
        arguments["scopes"] = [value]
    assert f"{field}: lists {value!r} more than once" in refused(**arguments)


def test_response_types_must_not_be_empty():
    assert "response_types: must not be empty" in refused(response_types=[])


def test_a_blank_client_name_is_refused_as_blank():
    assert "client_name: must not be blank" in refused(client_name="  ")


def test_optional_scopes_within_scopes_without_scopes_given_are_accepted():
    assert accepted(optional_scopes=["zone.read"]).body() == {"optional_scopes": ["zone.read"]}


def test_the_refused_value_is_echoed_clipped():
    text = refused(logo_uri="ftp://" + "x" * 200)
    line = next(line for line in text.splitlines() if line.startswith("- logo_uri:"))
    assert line.endswith(f' (got "{"ftp://" + "x" * 113}…")')  # quoted, clipped to 120 characters, said


def test_a_malformed_client_id_is_explained_with_its_shape():
    text = refused(oauth_client_id="a/b", client_name="x")
    assert "- oauth_client_id: must be 1 to 128 letters" in text and '(got "a/b")' in text


def test_a_malformed_state_hash_is_refused_by_its_pattern():
    assert "expected_state_hash" in refused(client_name="x", expected_state_hash="sha256:xyz")


def test_the_nothing_to_change_refusal_lists_every_updatable_field_and_add_remove():
    text = refused()
    assert "- arguments: nothing to change: give at least one of allowed_cors_origins, client_name," in text
    assert "visibility, or add/remove" in text


def test_every_refusal_ends_with_the_next_step():
    for text in (refused(), refused(colour="x")):
        next_step = text.split("\nNext step: ")[1]
        assert next_step.startswith("correct the values named above") and next_step.endswith(
            "nothing was sent to Cloudflare."
        )


def test_an_unknown_argument_refusal_names_every_unknown_one():
    lines = refused(colour="x", shape="y", client_name="x").splitlines()
    assert lines[:3] == [
        "Invalid arguments, nothing was sent:",
        "- colour: unknown argument",
        "- shape: unknown argument",
    ]
    assert lines[3].startswith("Accepted: account_id, add, allowed_cors_origins, client_name, client_uri,")


def test_a_refused_list_is_not_echoed_whole_and_each_problem_has_its_own_line():
    lines = refused(grant_types=[], response_types=[]).splitlines()
    assert lines[1:3] == ["- grant_types: must not be empty", "- response_types: must not be empty"]


def test_a_missing_client_id_is_reported_as_required_not_as_a_bad_shape():
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(OAuthClientUpdate, {"client_name": "x"})
    line = next(line for line in str(caught.value).splitlines() if line.startswith("- oauth_client_id"))
    assert "required" in line.lower() and "128 letters" not in line


def test_a_malformed_state_hash_is_described_by_its_own_pattern_not_an_identifier_shape():
    line = next(
        line
        for line in refused(client_name="x", expected_state_hash="sha256:xyz").splitlines()
        if line.startswith("- expected_state_hash")
    )
    assert "sha256:" in line and "128 letters" not in line


# --- bounded refusals and the paths that set a field aside (issue 12) ---------------------------------


def problem_lines(arguments: dict, context: dict | None = None) -> list[str]:
    """The problem lines of a refusal: between the heading and the list of accepted names."""
    arguments = {"oauth_client_id": CLIENT, **arguments}
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(OAuthClientUpdate, arguments, context)
    return [line for line in caught.value.message.splitlines()[1:] if line.startswith("- ")]


def test_five_unknown_arguments_are_each_named_with_no_count_of_others():
    lines = problem_lines({f"colour{i}": "x" for i in range(5)} | {"client_name": "x"})
    assert [line.split(":")[0] for line in lines] == [f"- colour{i}" for i in range(5)]


def test_beyond_five_unknown_arguments_the_rest_are_counted_not_named():
    lines = problem_lines({f"colour{i}": "x" for i in range(7)} | {"client_name": "x"})
    assert [line.split(":")[0] for line in lines[:5]] == [f"- colour{i}" for i in range(5)]
    assert len(lines) == 6 and "colour5" not in lines[5]
    assert "2 more unknown arguments" in lines[5] and "7 in all" in lines[5]


def test_the_accepted_names_are_listed_only_when_a_name_was_unknown():
    assert "Accepted:" not in refused(grant_types=[])
    accepted_lines = [line for line in refused(colour="x", client_name="x").splitlines() if "Accepted:" in line]
    assert len(accepted_lines) == 1 and accepted_lines[0].startswith("Accepted: ")
    assert "redirect_uris" in accepted_lines[0]


def test_exactly_twenty_problems_are_all_shown_with_no_count():
    bad = [f"http://example.com/{i}" for i in range(20)]  # plain http to a non-loopback host, twenty times
    lines = problem_lines({"redirect_uris": bad})
    assert len(lines) == 20 and all(line.startswith("- redirect_uris[") for line in lines)


def test_twenty_one_problems_show_twenty_and_count_the_one_left():
    bad = [f"http://example.com/{i}" for i in range(21)]
    lines = problem_lines({"redirect_uris": bad})
    assert len(lines) == 21 and lines[-1] == "- ... and 1 more problems"


@pytest.mark.parametrize(("field", "limit"), [("redirect_uris", 100), ("scopes", 200), ("allowed_cors_origins", 100)])
def test_a_full_list_at_its_limit_is_accepted_and_one_more_entry_is_refused_counting_them(field, limit):
    entry = {
        "redirect_uris": "https://a.example/{}",
        "scopes": "s{}.read",
        "allowed_cors_origins": "https://a{}.example",
    }
    entries = [entry[field].format(i) for i in range(limit + 1)]
    assert getattr(accepted(**{field: entries[:limit]}), field) == entries[:limit]
    lines = problem_lines({field: entries})
    assert lines == [f"- {field}: List should have at most {limit} items, not {limit + 1}"]


def test_a_list_merged_from_stored_entries_may_be_longer_than_a_call_may_send():
    from mcp_oauth_clients.models import MERGED_LISTS

    merged = [f"https://a.example/{i}" for i in range(150)]
    update = parse_arguments(OAuthClientUpdate, {"oauth_client_id": CLIENT, "redirect_uris": merged}, MERGED_LISTS)
    assert update.body() == {"redirect_uris": merged}
    assert problem_lines({"redirect_uris": merged}, {"merged_lists": False})[0].startswith("- redirect_uris: List")


def test_a_json_encoded_value_nested_too_deeply_is_refused_naming_its_field_once_with_the_other_problems():
    lines = problem_lines({"scopes": "[" * 100_000, "grant_types": []})
    assert lines[0].startswith("- scopes: ") and "nested too deeply" in lines[0]
    assert lines[1] == "- grant_types: must not be empty"
    assert len(lines) == 2  # the scopes field is set aside, not also refused as a string


def test_the_model_itself_decodes_no_json_so_a_string_given_to_it_directly_is_refused_as_one():
    from pydantic import ValidationError

    for text in ("[" * 100_000, '["account.read"]'):
        with pytest.raises(ValidationError, match="Input should be a valid list"):
            OAuthClientUpdate.model_validate({"oauth_client_id": CLIENT, "scopes": text})


def test_a_null_is_reported_once_alongside_the_other_problems():
    lines = problem_lines({"client_name": None, "grant_types": []})
    assert lines == [f"- client_name: {NULL_REFUSED}", "- grant_types: must not be empty"]


def test_an_unknown_argument_alone_is_not_also_called_nothing_to_change():
    lines = problem_lines({"colour": "x"})
    assert len(lines) == 1 and lines[0].startswith("- colour: unknown argument")


def test_a_null_alone_is_not_also_called_nothing_to_change():
    assert problem_lines({"client_name": None}) == [f"- client_name: {NULL_REFUSED}"]


def test_a_null_client_id_is_reported_as_null_once_not_also_as_missing():
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(OAuthClientUpdate, {"oauth_client_id": None, "client_name": "x"})
    lines = [line for line in caught.value.message.splitlines() if line.startswith("- ")]
    assert lines == [f"- oauth_client_id: {NULL_REFUSED}"]


def test_six_unknown_arguments_name_five_and_count_the_sixth():
    lines = problem_lines({f"colour{i}": "x" for i in range(6)} | {"client_name": "x"})
    assert len(lines) == 6 and lines[5].startswith("- ... and 1 more unknown arguments (6 in all)")


def test_an_unknown_name_is_echoed_clipped_to_80_characters():
    for name in ("n" * 100, "\u200b" + "n" * 100):
        line = problem_lines({name: 1, "client_name": "x"})[0]
        shown = line.removeprefix("- ").removesuffix(": unknown argument")
        assert len(shown) == 80 and "\u200b" not in shown


def test_a_client_name_with_a_bidi_override_is_refused_showing_it():
    (line,) = problem_lines({"client_name": "Acme\u202eltrop"})
    assert line.startswith("- client_name: ") and "\\u202e" in line


def test_the_model_itself_refuses_a_null_naming_the_field():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=f"client_name: {NULL_REFUSED}"):
        OAuthClientUpdate.model_validate({"oauth_client_id": CLIENT, "client_name": None})


def test_an_unknown_argument_does_not_hide_a_rule_about_the_whole_update():
    lines = problem_lines({"colour": "x", "add": {"scopes": ["zone.read"]}, "remove": {"scopes": ["zone.read"]}})
    assert lines[0].startswith("- colour: unknown argument")
    assert lines[1].startswith("- arguments: scopes: ['zone.read'] is both added and removed")


def test_a_long_field_path_and_a_long_duplicate_are_clipped_in_the_refusal():
    long_key = "k" * 300
    line = problem_lines({"add": {long_key: ["x"]}})[0]
    assert line.startswith("- add." + "k" * 116 + ":") and "k" * 117 not in line.split(":")[0]
    duplicate = "https://app.example.com/" + "p" * 300
    (line,) = problem_lines({"redirect_uris": [duplicate, duplicate]})
    assert repr(duplicate)[:120] in line and repr(duplicate)[:121] not in line


# --- add/remove that are not objects: pydantic names the model it expected ----------------------------


def test_an_add_or_remove_that_is_not_an_object_is_refused_naming_what_was_expected():
    assert problem_lines({"add": "x"}) == [
        '- add: Input should be a valid dictionary or instance of ListAdditions (got "x")'
    ]
    assert problem_lines({"remove": 5}) == [
        "- remove: Input should be a valid dictionary or instance of ListRemovals (got 5)"
    ]


# --- the read tools: an explicit null is a field not given (issue 17, point 7) ------------------------


@pytest.mark.parametrize(
    ("model", "nulls", "expected"),
    [
        (OAuthClientRef, {"account_id": None}, {"account_id": None, "oauth_client_id": CLIENT}),
        (ClientQuery, {"account_id": None, "name": None, "visibility": None, "offset": None}, None),
        (ScopeQuery, {"search": None, "offset": None}, None),
    ],
)
def test_a_read_model_takes_every_explicit_null_as_not_given(model, nulls, expected):
    arguments = {**nulls, "oauth_client_id": CLIENT} if model is OAuthClientRef else nulls
    for params in (parse_arguments(model, arguments), model.model_validate(arguments)):
        assert params == model.model_validate({k: v for k, v in arguments.items() if v is not None})
        assert params.model_fields_set == arguments.keys() - nulls.keys()
        if expected is not None:
            assert params.model_dump() == expected
    assert parse_arguments(ClientQuery, {"offset": None}).offset == 0


def test_a_read_model_refuses_a_null_only_for_a_required_field_and_calls_it_missing():
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(OAuthClientRef, {"oauth_client_id": None})
    assert [line for line in caught.value.message.splitlines() if line.startswith("- ")] == [
        "- oauth_client_id: Field required"
    ]


def test_only_a_write_refuses_nulls_and_its_words_speak_of_leaving_a_setting_unchanged():
    assert ToolParams.null_refused is None
    assert OAuthClientRef.null_refused is ClientQuery.null_refused is ScopeQuery.null_refused is None
    assert OAuthClientUpdate.null_refused == "null is not accepted; omit the field to leave it unchanged"


def test_a_read_model_explains_a_bad_account_id_by_its_shape_like_the_update():
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(ClientQuery, {"account_id": "zz"})
    assert "- account_id: must be 32 hexadecimal characters, as shown in the Cloudflare dashboard URL" in str(
        caught.value
    )


def test_a_model_given_something_other_than_an_object_is_refused_by_pydantic_not_by_our_null_rules():
    from pydantic import ValidationError

    for model in (OAuthClientRef, OAuthClientUpdate):
        with pytest.raises(ValidationError, match="valid dictionary") as caught:
            model.model_validate(["oauth_client_id", CLIENT])
        assert caught.value.errors()[0]["input"] == ["oauth_client_id", CLIENT]  # what was given, untouched


@pytest.mark.parametrize("model", [OAuthClientRef, ClientQuery, ScopeQuery, OAuthClientUpdate])
def test_an_optional_field_is_typed_optional_but_shown_as_its_value_type_without_a_null(model):
    for name, prop in model.model_json_schema()["properties"].items():
        assert "anyOf" not in prop and "null" not in json.dumps(prop), (model.__name__, name)
        assert "default" not in prop or prop["default"] is not None
        assert "title" not in prop
    account = OAuthClientRef.model_json_schema()["properties"]["account_id"]
    assert account == {
        "type": "string",
        "pattern": checks.ACCOUNT_ID_PATTERN,
        "description": "Optional when the server has a default account.",
    }


def test_a_field_description_given_at_the_model_wins_over_its_types():
    props = OAuthClientUpdate.model_json_schema()["properties"]
    assert props["client_uri"]["description"] == (
        "Home page URL. Its host needs DNS verification before promotion (check_verification_record); sending it "
        "unchanged restarts a failed verification."
    )
    assert TypeAdapter(ClientURI).json_schema()["description"] == CLIENT_URI + "."
    assert CLIENT_URI == "Home page URL. Its host needs DNS verification before promotion (check_verification_record)"


def test_a_union_of_two_real_types_is_shown_as_it_is():
    class Either(ToolParams):
        value: int | str
        maybe: int | str | None = None

    props = Either.model_json_schema()["properties"]
    assert props["value"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}


# --- a create model is declared from the same definitions, repeating no rule (issue 18) ---------------


class CreateLike(ToolParams):
    """What `create_oauth_client` will declare: Cloudflare's required settings required, the others optional."""

    null_refused: ClassVar[str | None] = "null is not accepted; omit the field to leave it unset"

    account_id: AccountId | None = None
    client_name: ClientName
    grant_types: GrantTypes
    redirect_uris: RedirectURIs
    response_types: ResponseTypes
    scopes: Scopes
    token_endpoint_auth_method: TokenEndpointAuth
    allowed_cors_origins: CorsOrigins | None = None
    client_uri: ClientURI | None = None
    logo_uri: LogoURI | None = None
    optional_scopes: OptionalScopes | None = None
    policy_uri: PolicyURI | None = None
    post_logout_redirect_uris: PostLogoutRedirectURIs | None = None
    tos_uri: TosURI | None = None

    @model_validator(mode="after")
    def _across_settings(self) -> CreateLike:
        check_optional_scopes_in_scopes(self.optional_scopes, self.scopes)
        return self


CREATE = {
    "client_name": "App",
    "grant_types": ["authorization_code"],
    "redirect_uris": ["https://app.example.com/cb"],
    "response_types": ["code"],
    "scopes": ["account.read"],
    "token_endpoint_auth_method": "none",
}


def create_problems(**changes) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_arguments(CreateLike, {**CREATE, **changes})
    return [line for line in caught.value.message.splitlines() if line.startswith("- ")]


def test_a_create_model_declared_from_the_definitions_enforces_the_same_rules_with_the_same_words():
    assert parse_arguments(CreateLike, CREATE).model_dump(exclude_none=True) == CREATE
    assert create_problems(
        grant_types=["refresh_token"],
        redirect_uris=["http://app.example.com/cb", "http://app.example.com/cb"],
        response_types=[],
        scopes=["zone.read"],
        optional_scopes=["openid"],
        client_name=" ",
        client_uri=f"https://{'a' * 64}.example.com",
    ) == [
        '- client_name: must not be blank (got " ")',
        "- grant_types: must contain 'authorization_code' (Cloudflare requires it); 'refresh_token' may be added",
        "- redirect_uris[0]: plain http only on loopback (127.x.x.x, [::1], localhost; any port); use https:// for "
        'any other host (got "http://app.example.com/cb")',
        "- redirect_uris[1]: plain http only on loopback (127.x.x.x, [::1], localhost; any port); use https:// for "
        'any other host (got "http://app.example.com/cb")',
        "- response_types: must not be empty",
        f'- client_uri: {checks.HOST_RULE} (got "https://{"a" * 64}.example.com")',
        "- optional_scopes: 'openid' cannot be optional (openid, offline and offline_access never are)",
    ]
    assert create_problems(optional_scopes=["zone.read"]) == [
        "- arguments: optional_scopes: ['zone.read'] are not in scopes; every optional scope must also be listed in "
        "scopes"
    ]
    assert create_problems(client_name=None) == [
        "- client_name: null is not accepted; omit the field to leave it unset"
    ]


def test_a_create_model_states_each_setting_as_the_update_does():
    create, update = (m.model_json_schema()["properties"] for m in (CreateLike, OAuthClientUpdate))
    for name, prop in create.items():
        if name != "client_uri":  # the update adds what resending it does
            assert prop == update[name], name
    assert sorted(CreateLike.model_json_schema()["required"]) == sorted(
        ["client_name", "grant_types", "redirect_uris", "response_types", "scopes", "token_endpoint_auth_method"]
    )
    too_many = [f"https://a.example.com/{i}" for i in range(MAX_URIS + 1)]
    assert create_problems(redirect_uris=too_many) == [
        f"- redirect_uris: List should have at most {MAX_URIS} items, not 101"
    ]


# --- the one "did you mean" rule ----------------------------------------------------------------------


def test_a_suggestion_must_be_at_least_as_close_as_the_cutoff():
    assert suggestions.CUTOFF == 0.6
    assert closest("abcde", ["abcxy"]) == ["abcxy"]  # ratio exactly 0.6
    assert closest("abcde", ["abxyz"]) == []  # ratio 0.4


def test_suggestions_come_closest_first_up_to_the_number_asked():
    names = ["redirect_uris", "post_logout_redirect_uris", "policy_uri", "scopes"]
    assert closest("redirect_uri", names) == ["redirect_uris"]
    assert closest("redirect_uri", names, most=2) == ["redirect_uris", "post_logout_redirect_uris"]


@pytest.mark.parametrize(("length", "suggested"), [(64, True), (65, False)])
def test_a_word_longer_than_64_characters_gets_no_suggestion(length, suggested):
    word, meant = "x" * length, "x" * (length - 1) + "y"
    assert closest(word, [meant]) == ([meant] if suggested else [])


@pytest.mark.parametrize(("size", "suggested"), [(2000, True), (2001, False)])
def test_more_than_2000_choices_give_no_suggestion(size, suggested):
    choices = ["account.read"] + [f"filler{i:05d}.write" for i in range(size - 1)]
    assert closest("account.raed", choices) == (["account.read"] if suggested else [])


def test_an_unknown_argument_gets_the_same_suggestion_as_the_shared_rule_gives():
    assert closest("scope", OAuthClientUpdate.model_fields) == ["scopes"]
    assert problem_lines({"scope": ["x.read"]})[0] == "- scope: unknown argument; did you mean 'scopes'?"
