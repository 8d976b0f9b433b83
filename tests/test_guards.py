"""Unit tests of guards.py: containment, read-only, promotion pre-flight and consent, and the scope catalogue."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.cloudflare_client import APIResult
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.errors import InvalidInput, Refused, TransportFailure
from mcp_oauth_clients.guards import (
    Approval,
    Asking,
    Consent,
    ScopeCatalogue,
    check_account_allowed,
    check_approved,
    check_promotion_consent,
    check_promotion_ready,
    check_writable,
    promotion_requirements,
)
from mcp_oauth_clients.oauth_client import OAuthClient

ACCOUNT_A, ACCOUNT_B = "a" * 32, "b" * 32
TXT = "cloudflare_oauth_client_publisher=abc123"
READY = {
    "client_id": "c1",
    "visibility": "private",
    "client_name": "App",
    "logo_uri": "https://app.example.com/logo.png",
    "client_uri": "https://app.example.com/",
    "client_uri_verification": {"status": "verified"},
    "scopes": ["openid", "account.read"],
}


def client(**changes) -> OAuthClient:
    return OAuthClient.model_validate({**READY, **changes})


# --- containment and read-only --------------------------------------------------------------------


def test_any_account_is_allowed_when_no_list_is_set():
    check_account_allowed(Settings(), ACCOUNT_A)


def test_a_listed_account_is_allowed():
    check_account_allowed(Settings(allowed_accounts=frozenset({ACCOUNT_A})), ACCOUNT_A)


def test_an_unlisted_account_is_refused_naming_the_allowed_ones_in_order():
    settings = Settings(allowed_accounts=frozenset({ACCOUNT_B, ACCOUNT_A}))
    with pytest.raises(Refused) as caught:
        check_account_allowed(settings, "c" * 32)
    assert f"Account {'c' * 32} is not one this server may touch" in caught.value.message
    assert caught.value.next_step == f"use one of the allowed accounts: {ACCOUNT_A}, {ACCOUNT_B}."


def test_read_only_mode_refuses_a_write_and_suggests_a_dry_run():
    check_writable(Settings())
    with pytest.raises(Refused) as caught:
        check_writable(Settings(read_only=True))
    assert "read-only" in caught.value.message and "dry_run: true" in caught.value.next_step


# --- promotion pre-flight -------------------------------------------------------------------------


def test_a_client_meeting_every_requirement_has_none_unmet():
    assert promotion_requirements(client()) == []
    check_promotion_ready(client())


def test_fields_cloudflare_returned_malformed_are_unmet_each_named():
    [unmet, *_] = promotion_requirements(client(client_uri=123, logo_uri=456))
    assert (
        unmet == "well-formed stored fields: Cloudflare returned client_uri, logo_uri malformed; set them again first."
    )


def test_a_long_txt_value_in_a_requirement_is_shown_up_to_2000_characters():
    [unmet] = promotion_requirements(client(client_uri_verification={"status": "pending", "text": "v" * 2001}))
    assert f'with the value "{"v" * 1999}…"' in unmet


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_missing_or_blank_client_name_is_unmet(name):
    [unmet] = promotion_requirements(client(client_name=name))
    assert unmet.startswith("a non-empty client_name")


def test_a_missing_logo_is_unmet():
    [unmet] = promotion_requirements(client(logo_uri=None))
    assert unmet.startswith("a logo URI")


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_an_unverified_client_uri_host_is_unmet_with_the_txt_record_to_add(status):
    [unmet] = promotion_requirements(client(client_uri_verification={"status": status, "text": TXT}))
    assert f'(now "{status}")' in unmet and f'on "app.example.com" with the value "{TXT}"' in unmet
    assert "prefix included" in unmet and "up to two days" in unmet


def test_an_absent_client_uri_is_unmet_saying_to_set_it_first():
    [unmet] = promotion_requirements(client(client_uri=None, client_uri_verification=None))
    assert unmet.startswith("a verified client URI host: set client_uri first")


@pytest.mark.parametrize(("verification", "shown"), [(None, "unknown"), ({"status": "pending"}, "pending")])
def test_a_client_uri_host_without_a_verification_code_is_unmet_saying_to_read_again(verification, shown):
    [unmet] = promotion_requirements(client(client_uri_verification=verification))
    assert f'("app.example.com", status "{shown}")' in unmet and "read the client again" in unmet


@pytest.mark.parametrize("scopes", [None, [], ["openid", "profile", "offline_access"]])
def test_identity_scopes_alone_leave_the_api_scope_requirement_unmet(scopes):
    [unmet] = promotion_requirements(client(scopes=scopes))
    assert unmet.startswith("at least one non-identity scope")


def test_every_unmet_requirement_is_listed_in_the_refusal():
    bare = OAuthClient.model_validate({"client_id": "c1", "visibility": "private"})
    with pytest.raises(Refused) as caught:
        check_promotion_ready(bare)
    assert caught.value.message.count("\n- ") == 4
    assert "Nothing was written" in caught.value.message and "meet every requirement" in caught.value.next_step


# --- a person's approval of the irreversible ---------------------------------------------------------

OPERATOR = Settings(allow_unattended_promotion=True)
ACTS = ["the promotion", "the deletion of the client", "the deletion of the previous secret"]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("settings", [Settings(), OPERATOR])
def test_a_person_who_approved_lets_each_irreversible_step_through(settings, act):
    check_approved(settings, Approval(Consent.APPROVED), act)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize(("consent", "said"), [(Consent.DECLINED, "declined"), (Consent.CANCELLED, "cancelled")])
def test_a_declined_or_cancelled_consent_is_final_even_with_the_operator_flag_and_confirm(consent, said, act):
    with pytest.raises(Refused) as caught:
        check_approved(OPERATOR, Approval(consent, confirm_irreversible=True), act)
    assert caught.value.message == f"The person {said} {act}. Nothing was written."
    assert "unless the person asks again" in caught.value.next_step


def test_without_a_person_the_operator_flag_and_confirm_together_let_it_through():
    check_approved(OPERATOR, Approval(Consent.NOT_ASKED, confirm_irreversible=True), "the promotion")


@pytest.mark.parametrize(("settings", "confirm"), [(OPERATOR, False), (Settings(), True), (Settings(), False)])
def test_without_a_person_the_flag_or_confirm_alone_is_refused_explaining_both(settings, confirm):
    with pytest.raises(Refused) as caught:
        check_approved(
            settings, Approval(Consent.NOT_ASKED, confirm_irreversible=confirm), "the deletion of the client"
        )
    assert caught.value.message.startswith("The deletion of the client cannot be undone")
    assert "--allow-unattended-promotion" in caught.value.next_step and "confirm_irreversible" in caught.value.next_step


def test_the_refusal_names_why_no_person_could_be_asked_and_what_to_do_instead():
    asking = Asking("the protocol version cannot carry a question", next_step="ask the person to reconnect")
    with pytest.raises(Refused) as caught:
        check_approved(Settings(), Approval(asking=asking), "the promotion")
    assert "the protocol version cannot carry a question" in caught.value.message
    assert caught.value.next_step.startswith("ask the person to reconnect, or to do it themselves")


@pytest.mark.parametrize(
    ("consent", "confirm", "passes"),
    [(Consent.APPROVED, False, True), (Consent.DECLINED, True, False), (Consent.NOT_ASKED, True, True)],
)
def test_promotion_consent_is_the_same_rule_named_the_promotion(consent, confirm, passes):
    if passes:
        check_promotion_consent(OPERATOR, consent, confirm_irreversible=confirm)
        return
    with pytest.raises(Refused) as caught:
        check_promotion_consent(OPERATOR, consent, confirm_irreversible=confirm)
    assert caught.value.message.startswith("The person declined the promotion")


# --- the scope catalogue --------------------------------------------------------------------------

anyio = pytest.mark.anyio


class Catalogue:
    """A stand-in Cloudflare client answering `list_scopes` from a list of answers."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    async def list_scopes(self) -> APIResult:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return APIResult(answer, None, 1)


SCOPES = [{"id": "account.read"}, {"id": "zone.read"}]


@anyio
async def test_the_catalogue_is_fetched_once():
    cloudflare, catalogue = Catalogue(SCOPES), ScopeCatalogue()
    assert await catalogue.ids(cloudflare) == {"account.read", "zone.read"}
    assert await catalogue.ids(cloudflare) == {"account.read", "zone.read"}
    assert cloudflare.calls == 1


@anyio
async def test_an_unreadable_catalogue_is_not_cached_and_is_tried_again():
    cloudflare, catalogue = Catalogue(TransportFailure("down"), SCOPES), ScopeCatalogue()
    assert await catalogue.ids(cloudflare) is None
    assert await catalogue.ids(cloudflare) == {"account.read", "zone.read"}


@anyio
@pytest.mark.parametrize("answer", [{"id": "account.read"}, [], [{"id": "account.read"}, {"id": 7}], ["junk"]])
async def test_a_catalogue_of_the_wrong_shape_counts_as_unreadable(answer):
    assert await ScopeCatalogue().ids(Catalogue(answer)) is None


@anyio
async def test_identity_scopes_alone_need_no_catalogue():
    cloudflare = Catalogue(SCOPES)
    assert await ScopeCatalogue().check(cloudflare, "scopes", ["openid", "email"]) is None
    assert cloudflare.calls == 0


@anyio
async def test_known_scopes_pass():
    assert await ScopeCatalogue().check(Catalogue(SCOPES), "scopes", ["openid", "account.read"]) is None


@anyio
async def test_unknown_scopes_are_refused_each_with_the_closest_known_ones():
    known = [{"id": s} for s in ("account.read", "account.write", "accounts.read", "zone.read", "user.read")]
    with pytest.raises(InvalidInput) as caught:
        await ScopeCatalogue().check(Catalogue(known), "optional_scopes", ["account.raed", "qqqq.xxxx"])
    lines = caught.value.message.splitlines()
    assert lines[0] == "Unknown scopes, nothing was sent:"
    assert lines[1] == (  # at most three, closest first
        '- optional_scopes: "account.raed" is not a Cloudflare OAuth scope; closest: "account.read", "accounts.read", '
        '"account.write"'
    )  # the caller's scope and the catalogue's ids are outside text: quoted
    assert lines[2] == '- optional_scopes: "qqqq.xxxx" is not a Cloudflare OAuth scope'
    assert "list_oauth_scopes" in caught.value.next_step


@anyio
async def test_an_unreadable_catalogue_leaves_the_check_to_cloudflare_with_a_note():
    note = await ScopeCatalogue().check(Catalogue(TransportFailure("down")), "scopes", ["account.read"])
    assert "Cloudflare will check them itself" in note


@anyio
async def test_the_catalogue_is_kept_for_exactly_ten_minutes_from_when_it_was_read():
    now = [10_000.0]
    cloudflare = Catalogue(SCOPES, [{"id": "brand.new"}])
    catalogue = ScopeCatalogue(clock=lambda: now[0])
    assert await catalogue.ids(cloudflare) == {"account.read", "zone.read"}
    now[0] += 599.5
    assert await catalogue.ids(cloudflare) == {"account.read", "zone.read"}  # still within the ten minutes
    assert cloudflare.calls == 1
    now[0] += 0.5  # 600 s after the read: expired
    assert await catalogue.ids(cloudflare) == {"brand.new"}
    assert cloudflare.calls == 2


def near_misses(count: int) -> tuple[list[dict], list[str]]:
    """`count` known scopes and, for each, a misspelling that is plainly close to it."""
    known = [f"service{i}.read" for i in range(count)]
    return [{"id": s} for s in known], [s.replace(".read", ".raed") for s in known]


async def refusal_lines(known: list[dict], scopes: list[str]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        await ScopeCatalogue().check(Catalogue(known), "scopes", scopes)
    return caught.value.message.splitlines()[1:]


@anyio
async def test_only_the_first_five_unknown_scopes_get_suggestions_but_every_one_is_listed():
    known, misspelt = near_misses(6)
    lines = await refusal_lines(known, misspelt)
    assert len(lines) == 6
    assert all("closest: " in line for line in lines[:5])
    assert "closest" not in lines[5] and f'"{misspelt[5]}"' in lines[5]


@anyio
@pytest.mark.parametrize(("length", "suggested"), [(64, True), (65, False)])
async def test_an_unknown_scope_longer_than_64_characters_gets_no_suggestion(length, suggested):
    stored = "x" * (length - 5) + ".read"
    lines = await refusal_lines([{"id": stored}], [stored.replace(".read", ".raed")])
    assert len(stored) == length and len(lines) == 1
    assert (f'closest: "{stored}"' in lines[0]) is suggested


@anyio
@pytest.mark.parametrize(("size", "suggested"), [(2000, True), (2001, False)])
async def test_a_catalogue_of_more_than_2000_scopes_gives_no_suggestions(size, suggested):
    known = [{"id": "account.read"}] + [{"id": f"filler{i:05d}.write"} for i in range(size - 1)]
    lines = await refusal_lines(known, ["account.raed"])
    assert ('closest: "account.read"' in lines[0]) is suggested
