"""The emulator's lifecycle routes (create, rotate the secret, delete the rotated secret, delete), held to
the published schema, to the update's own field rules, and to the rule that a secret appears only in the
answer that issues it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, CloudflareEmulator
from tests.fake_cloudflare import TOKEN, FakeCloudflare, Fault

ACCOUNT = DEMO_ACCOUNT_ID
BASE = f"/client/v4/accounts/{ACCOUNT}/oauth_clients"
SPEC = Path(__file__).resolve().parent / "reference" / "oauth_clients.openapi.json"
NEW = {
    "client_name": "New App",
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://new.example.com/callback"],
    "response_types": ["code"],
    "scopes": ["account.read"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def call(emulator: CloudflareEmulator, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    raw = b"" if body is None else json.dumps(body).encode()
    answer = emulator.handle(method, path, {"authorization": f"Bearer {TOKEN}"}, raw)
    return answer.status, json.loads(answer.body)


def create(emulator: CloudflareEmulator, **changes: Any) -> dict[str, Any]:
    status, answer = call(emulator, "POST", BASE, {**NEW, **changes})
    assert status == 200, answer
    return answer["result"]


def problems(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(e["code"], e["source"]["pointer"]) for e in answer["errors"]]


@pytest.fixture
def emulator() -> CloudflareEmulator:
    return CloudflareEmulator(tokens={TOKEN})


def _openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` is JSON Schema's `null` type; nothing else needs translating here."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_json_schema(v) for k, v in node.items()}
    if out.pop("nullable", False):
        out["type"] = [out["type"], "null"] if "type" in out else ["object", "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None] if None not in out["enum"] else out["enum"]
    return out


SCHEMA_DOC = _openapi_to_json_schema(json.loads(SPEC.read_text()))
REGISTRY = Registry().with_resource("spec", DRAFT202012.create_resource(SCHEMA_DOC))


def fits(answer: dict[str, Any], method: str, route: str, status: int) -> None:
    """The answer is what the published schema says this route answers with this status."""
    responses = SCHEMA_DOC["paths"][route][method.lower()]["responses"]
    schema = responses["200" if status == 200 else "4XX"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({"$ref": "spec" + schema["$ref"]}, registry=REGISTRY)
    errors = [e.message for e in validator.iter_errors(answer)]
    assert not errors, (errors, answer)


COLLECTION = "/accounts/{account_id}/oauth_clients"
ONE = "/accounts/{account_id}/oauth_clients/{oauth_client_id}"
ROTATE = "/accounts/{account_id}/oauth_clients/{oauth_client_id}/rotate_secret"


def test_a_create_answers_a_new_private_client_with_its_secret_and_keeps_the_secret_out_of_later_reads(emulator):
    status, answer = call(emulator, "POST", BASE, {**NEW, "client_uri": "https://new.example.com/home"})
    assert status == 200 and answer["success"] is True and answer["errors"] == []
    fits(answer, "POST", COLLECTION, 200)
    client = answer["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", client["client_id"])
    assert client["visibility"] == "private" and client["has_rotated_secret"] is False
    assert client["client_uri_verification"]["status"] == "pending"
    assert client["client_uri_verification"]["text"].startswith("cloudflare_oauth_client_publisher=")
    assert client["client_secret"] == emulator.issued_secrets(ACCOUNT, client["client_id"])[0]
    status, read = call(emulator, "GET", f"{BASE}/{client['client_id']}")
    assert status == 200 and "client_secret" not in read["result"]
    fits(read, "GET", ONE, 200)
    _, listed = call(emulator, "GET", BASE)
    assert client["client_id"] in [c["client_id"] for c in listed["result"]]
    assert client["client_secret"] not in json.dumps(listed) + json.dumps(read)


def test_a_create_keeps_every_field_it_was_given_and_adds_the_protocol_scopes_as_an_update_would(emulator):
    extra = {"logo_uri": "https://new.example.com/l.png", "optional_scopes": ["zone.read"]}
    client = create(emulator, scopes=["account.read", "zone.read"], response_types=["code", "id_token"], **extra)
    assert client["scopes"] == ["account.read", "zone.read", "offline_access", "openid"]
    for name, value in {**NEW, **extra}.items():
        if name != "scopes":
            assert client[name] == (["code", "id_token"] if name == "response_types" else value)
    assert client["created_at"] == client["updated_at"]


def test_a_create_without_a_client_uri_has_no_verification_to_do(emulator):
    assert "client_uri_verification" not in create(emulator)


def test_two_creates_of_the_same_name_make_two_clients_with_different_ids_and_secrets(emulator):
    first, second = create(emulator), create(emulator)
    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert len(first["client_secret"]) >= 43  # secrets.token_urlsafe(32): 256 random bits


def test_a_create_missing_required_fields_names_each_of_them_and_creates_nothing(emulator):
    before = dict(emulator.clients)
    status, answer = call(emulator, "POST", BASE, {"client_name": "Half", "scopes": ["account.read"]})
    assert status == 400 and answer["success"] is False and answer["result"] is None
    fits(answer, "POST", COLLECTION, 400)
    assert problems(answer) == [
        (1014, "/grant_types"),
        (1014, "/redirect_uris"),
        (1014, "/response_types"),
        (1014, "/token_endpoint_auth_method"),
    ]
    assert emulator.clients == before


BAD_FIELDS = [
    {"grant_types": ["refresh_token"]},
    {"grant_types": ["password"]},
    {"scopes": ["account:read", "no.such.scope"]},
    {"optional_scopes": ["openid"]},
    {"optional_scopes": ["zone.read"]},
    {"redirect_uris": "https://bare.example.com"},
    {"token_endpoint_auth_method": "private_key_jwt", "client_name": 5},
    {"response_types": ["code", "device"]},
]


@pytest.mark.parametrize("bad", BAD_FIELDS)
def test_a_create_is_refused_for_exactly_what_an_update_is_refused_for(emulator, bad):
    status, created = call(emulator, "POST", BASE, {**NEW, **bad})
    updated_status, updated = call(emulator, "PATCH", f"{BASE}/{DEMO_CLIENT_ID}", bad)
    assert status == updated_status == 400
    assert sorted(problems(created)) == sorted(problems(updated)) != []
    assert len(emulator.clients) == 3


def test_visibility_in_a_create_is_not_a_field_of_the_create_and_the_client_is_private(emulator):
    assert create(emulator, visibility="public")["visibility"] == "private"


def test_a_create_whose_body_is_not_an_object_is_refused(emulator):
    status, answer = call(emulator, "POST", BASE, ["client_name"])
    assert status == 400 and answer["errors"][0]["code"] == 1001 and len(emulator.clients) == 3


def test_a_create_with_an_unparseable_client_uri_is_answered_not_crashed_on(emulator):
    client = create(emulator, client_uri="https://[broken")
    assert client["client_uri_verification"]["status"] == "pending"


def test_a_rotation_answers_a_second_secret_and_both_keep_working_until_the_rotated_one_is_deleted(emulator):
    client = create(emulator)
    one = f"{BASE}/{client['client_id']}"
    status, rotated = call(emulator, "POST", f"{one}/rotate_secret")
    assert status == 200 and set(rotated["result"]) == {"client_secret"}
    fits(rotated, "POST", ROTATE, 200)
    new = rotated["result"]["client_secret"]
    assert new != client["client_secret"]
    assert emulator.issued_secrets(ACCOUNT, client["client_id"]) == (new, client["client_secret"])
    assert call(emulator, "GET", one)[1]["result"]["has_rotated_secret"] is True

    status, deleted = call(emulator, "DELETE", f"{one}/rotate_secret")
    assert status == 200 and deleted["result"] == {"id": client["client_id"]}
    fits(deleted, "DELETE", ROTATE, 200)
    assert emulator.issued_secrets(ACCOUNT, client["client_id"]) == (new,)
    assert call(emulator, "GET", one)[1]["result"]["has_rotated_secret"] is False


def test_a_second_rotation_while_one_is_pending_is_refused_and_keeps_both_secrets(emulator):
    client = create(emulator)
    one = f"{BASE}/{client['client_id']}"
    call(emulator, "POST", f"{one}/rotate_secret")
    both = emulator.issued_secrets(ACCOUNT, client["client_id"])
    status, answer = call(emulator, "POST", f"{one}/rotate_secret")
    assert status == 400 and answer["errors"][0]["code"] == 1015
    fits(answer, "POST", ROTATE, 400)
    assert emulator.issued_secrets(ACCOUNT, client["client_id"]) == both


def test_deleting_a_rotated_secret_when_none_is_pending_is_refused_and_changes_nothing(emulator):
    one = f"{BASE}/{DEMO_CLIENT_ID}"
    before = json.dumps(emulator.clients[(ACCOUNT, DEMO_CLIENT_ID)])
    status, answer = call(emulator, "DELETE", f"{one}/rotate_secret")
    assert status == 400 and answer["errors"][0]["code"] == 1016
    fits(answer, "DELETE", ROTATE, 400)
    assert json.dumps(emulator.clients[(ACCOUNT, DEMO_CLIENT_ID)]) == before


def test_a_seeded_client_can_be_rotated_though_its_first_secret_was_never_issued_here(emulator):
    status, rotated = call(emulator, "POST", f"{BASE}/{DEMO_CLIENT_ID}/rotate_secret")
    assert status == 200
    assert emulator.issued_secrets(ACCOUNT, DEMO_CLIENT_ID) == (rotated["result"]["client_secret"],)


def test_a_deleted_client_is_gone_with_its_secrets_and_a_later_read_is_the_documented_not_found(emulator):
    client = create(emulator)
    one = f"{BASE}/{client['client_id']}"
    status, deleted = call(emulator, "DELETE", one)
    assert status == 200 and deleted["success"] is True and deleted["result"] == {"id": client["client_id"]}
    fits(deleted, "DELETE", ONE, 200)
    for method, path in [("GET", one), ("DELETE", one), ("POST", f"{one}/rotate_secret"), ("PATCH", one)]:
        status, gone = call(emulator, method, path, {} if method == "PATCH" else None)
        assert status == 404 and gone["errors"][0]["code"] == 7003, (method, path)
    fits(gone, "PATCH", ONE, 404)
    assert emulator.issued_secrets(ACCOUNT, client["client_id"]) == ()
    assert client["client_id"] not in [c["client_id"] for c in call(emulator, "GET", BASE)[1]["result"]]


def test_a_client_in_another_account_is_not_found_by_its_id(emulator):
    client = create(emulator)
    other = BASE.replace(ACCOUNT, "f" * 32)
    assert call(emulator, "DELETE", f"{other}/{client['client_id']}")[0] == 404
    assert (ACCOUNT, client["client_id"]) in emulator.clients


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", "/rotate_secret"), ("PATCH", "/rotate_secret"), ("PUT", ""), ("DELETE", "/..")]
)
def test_a_method_the_routes_do_not_serve_is_refused(emulator, method, suffix):
    status, answer = call(emulator, method, f"{BASE}/{DEMO_CLIENT_ID}{suffix}")
    assert status in (404, 405) and answer["success"] is False
    assert (ACCOUNT, DEMO_CLIENT_ID) in emulator.clients


def test_a_token_that_may_only_read_can_create_rotate_or_delete_nothing():
    emulator = CloudflareEmulator(tokens={TOKEN: {"read"}})
    one = f"{BASE}/{DEMO_CLIENT_ID}"
    for method, path, body in [
        ("POST", BASE, NEW),
        ("POST", f"{one}/rotate_secret", None),
        ("DELETE", f"{one}/rotate_secret", None),
        ("DELETE", one, None),
    ]:
        status, answer = call(emulator, method, path, body)
        assert status == 403 and answer["errors"][0]["code"] == 10000
    assert len(emulator.clients) == 3 and emulator.issued_secrets(ACCOUNT, DEMO_CLIENT_ID) == ()


def test_the_loopback_fake_serves_the_whole_lifecycle_and_records_no_secret():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with FakeCloudflare() as fake, httpx.Client(base_url=fake.base_url, headers=auth) as http:
        created = http.post(f"/accounts/{ACCOUNT}/oauth_clients", json=NEW)
        one = f"/accounts/{ACCOUNT}/oauth_clients/{created.json()['result']['client_id']}"
        rotated = http.post(f"{one}/rotate_secret")
        statuses = [
            created.status_code,
            rotated.status_code,
            http.delete(f"{one}/rotate_secret").status_code,
            http.delete(one).status_code,
            http.get(one).status_code,
        ]
        issued = [created.json()["result"]["client_secret"], rotated.json()["result"]["client_secret"]]
    assert statuses == [200, 200, 200, 200, 404]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.writes()][1:3] == [
        ("POST", "rotate_secret"),
        ("DELETE", "rotate_secret"),
    ]
    seen = repr(fake.requests) + json.dumps(list(fake.emulator.clients.values()))
    assert not any(secret in seen for secret in issued)


@pytest.mark.outside
def test_prism_finds_no_violation_in_the_lifecycle_requests_or_answers(tmp_path):
    """Cloudflare's published schema as the judge, as in tests/test_schema_judge.py, for the new routes."""
    from tests.test_schema_judge import VIOLATION_MARKERS, prism_in_front_of

    auth = {"Authorization": f"Bearer {TOKEN}"}
    log = tmp_path / "prism.log"
    with (
        FakeCloudflare() as fake,
        prism_in_front_of(fake.base_url.removesuffix("/client/v4"), log) as base,
        httpx.Client(base_url=base, headers=auth, timeout=30) as http,
    ):
        created = http.post(f"/accounts/{ACCOUNT}/oauth_clients", json={**NEW, "client_uri": "https://n.example"})
        one = f"/accounts/{ACCOUNT}/oauth_clients/{created.json()['result']['client_id']}"
        answers = [
            created,
            # Fits the schema, broken by a documented rule: the emulator's refusal, not Prism's.
            http.post(f"/accounts/{ACCOUNT}/oauth_clients", json={**NEW, "grant_types": ["refresh_token"]}),
            http.post(f"{one}/rotate_secret"),
            http.post(f"{one}/rotate_secret"),
            http.delete(f"{one}/rotate_secret"),
            http.delete(f"{one}/rotate_secret"),
            http.delete(one),
            http.delete(one),
        ]
    assert [a.status_code for a in answers] == [200, 400, 200, 400, 200, 400, 200, 404], [a.text for a in answers]
    for answer in answers:
        assert not any(marker in answer.text for marker in VIOLATION_MARKERS), answer.text
    assert not any(marker in log.read_text() for marker in VIOLATION_MARKERS), log.read_text()[-3000:]


def test_a_fault_kept_for_a_create_lets_the_list_after_it_pass_and_makes_no_client():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with FakeCloudflare() as fake, httpx.Client(base_url=fake.base_url, headers=auth) as http:
        fake.script(Fault(status=502, body="bad gateway", path_suffix="/oauth_clients", method="POST"))
        listed = http.get(f"/accounts/{ACCOUNT}/oauth_clients")
        created = http.post(f"/accounts/{ACCOUNT}/oauth_clients", json=NEW)
    assert (listed.status_code, created.status_code) == (200, 502)
    assert len(fake.emulator.clients) == 3 and [r.method for r in fake.requests] == ["GET", "POST"]


def test_a_fault_that_lands_makes_the_client_and_loses_the_answer_with_its_secret():
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with FakeCloudflare() as fake, httpx.Client(base_url=fake.base_url, headers=auth) as http:
        fake.script(Fault(status=502, body="bad gateway", method="POST", lands=True))
        created = http.post(f"/accounts/{ACCOUNT}/oauth_clients", json=NEW)
        listed = http.get(f"/accounts/{ACCOUNT}/oauth_clients").json()["result"]
    assert created.status_code == 502 and "client_secret" not in created.text
    made = [c for c in listed if c["client_name"] == NEW["client_name"]]
    assert len(made) == 1 and len(fake.emulator.issued_secrets(ACCOUNT, made[0]["client_id"])) == 1
    assert len(fake.requests) == 2


def test_the_path_names_the_client_a_route_acts_on_even_when_its_stored_id_is_odd(emulator):
    """Tests plant odd clients (a hostile `client_id` field) under a plain key; the routes act on the key."""
    emulator.clients[(ACCOUNT, "d" * 32)] = {**emulator.clients[(ACCOUNT, DEMO_CLIENT_ID)], "client_id": "x/../y"}
    one = f"{BASE}/{'d' * 32}"
    assert call(emulator, "POST", f"{one}/rotate_secret")[0] == 200
    assert call(emulator, "DELETE", f"{one}/rotate_secret")[1]["result"] == {"id": "d" * 32}
    assert call(emulator, "DELETE", one)[1]["result"] == {"id": "d" * 32}
    assert (ACCOUNT, "d" * 32) not in emulator.clients and (ACCOUNT, DEMO_CLIENT_ID) in emulator.clients
