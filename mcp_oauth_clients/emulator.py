"""An in-memory emulation of Cloudflare's OAuth-client routes, for `--sandbox` and for the tests.

It follows the documented envelope, errors and rules (see `../shared/reference/`), nothing more:
where Cloudflare's behaviour is undocumented (the exact error codes of a refused field, for one),
it answers in the documented envelope shape with a plausible code and says so in `message`.
Routes: list and create (`/accounts/{a}/oauth_clients`), get, update and delete (`.../{id}`), rotate a
secret and delete the rotated one (`.../{id}/rotate_secret`), the scope catalogue and token verification.
A client secret appears only in the answer that issues it: never in a stored client, a recorded request
or a log (the emulator logs nothing).
The same `handle()` serves an `httpx.MockTransport` (the sandbox) and a loopback HTTP server
(the end-to-end tests), so both exercise the real client code above the transport.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from mcp_oauth_clients.config import SANDBOX_ACCOUNT_ID
from mcp_oauth_clients.emulator_rules import (
    CREATABLE,
    UPDATABLE,
    field_errors,
    missing_fields,
    promotion_errors,
    settle_scopes,
)

DEMO_ACCOUNT_ID = SANDBOX_ACCOUNT_ID
DEMO_CLIENT_ID = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"  # private, host verification pending
VERIFIED_CLIENT_ID = "b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5"  # private, host verified: ready to promote
PUBLIC_CLIENT_ID = "c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6"  # already public

# Sandbox catalogue of API scopes. Cloudflare's real list comes from GET /oauth/scopes.
DEFAULT_SCOPES: list[dict[str, Any]] = [
    {"id": "account.read", "name": "Account Read", "category": "Account"},
    {"id": "account.write", "name": "Account Write", "category": "Account"},
    {"id": "zone.read", "name": "Zone Read", "category": "Zone"},
    {"id": "zone.write", "name": "Zone Write", "category": "Zone"},
    {"id": "dns_records.read", "name": "DNS Read", "category": "Zone"},
    {"id": "dns_records.write", "name": "DNS Write", "category": "Zone"},
    {"id": "user.read", "name": "User Details Read", "category": "User"},
    {"id": "workers_scripts.write", "name": "Workers Scripts Write", "category": "Workers"},
]

_ROUTE = re.compile(
    r"^(?:/client/v4)?/accounts/(?P<account>[^/]+)/oauth_clients(?:/(?P<client>[^/]+)(?P<rotate>/rotate_secret)?)?$"
)
_SCOPES_ROUTE = re.compile(r"^(?:/client/v4)?/oauth/scopes$")
_VERIFY_ROUTE = re.compile(r"^(?:/client/v4)?/user/tokens/verify$")


_Key = tuple[str, str]  # (account id, client id) as the path names them


@dataclass
class RecordedRequest:
    """What the emulator saw, for tests to assert on (headers included, so tests can check auth)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def verification_text(host: str) -> str:
    digest = hashlib.sha256(host.encode()).hexdigest()[:32]
    return f"cloudflare_oauth_client_publisher={digest}"


def demo_client(client_id: str = DEMO_CLIENT_ID, host: str = "app.example.com") -> dict[str, Any]:
    """A private client whose host is not yet verified: the sandbox's starting point."""
    return {
        "client_id": client_id,
        "visibility": "private",
        "allowed_cors_origins": [f"https://{host}"],
        "client_name": "Demo OAuth App",
        "client_uri": f"https://{host}",
        "client_uri_verification": {"status": "pending", "text": verification_text(host)},
        "created_at": "2026-01-01T00:00:00Z",
        "grant_types": ["authorization_code", "refresh_token"],
        "has_rotated_secret": False,
        "logo_uri": f"https://{host}/logo.png",
        "policy_uri": f"https://{host}/privacy",
        "post_logout_redirect_uris": [f"https://{host}/logout"],
        "redirect_uris": [f"https://{host}/callback", "http://127.0.0.1:8976/callback"],
        "response_types": ["code"],
        "scopes": ["account.read", "offline_access"],
        "token_endpoint_auth_method": "client_secret_basic",
        "tos_uri": f"https://{host}/tos",
        "updated_at": "2026-01-01T00:00:00Z",
    }


def seeded_clients() -> list[dict[str, Any]]:
    """The sandbox's three clients, one per state a person meets: pending, verified, public (in that order)."""
    verified = demo_client(VERIFIED_CLIENT_ID, "tools.example.org")
    verified.update(client_name="Internal Tools", scopes=["account.read", "zone.read", "offline_access"])
    verified["client_uri_verification"]["status"] = "verified"
    public = demo_client(PUBLIC_CLIENT_ID, "partner.example.net")
    public.update(
        client_name="Partner Dashboard",
        visibility="public",
        promoted_at="2026-02-01T00:00:00Z",
        scopes=["account.read", "openid"],
        grant_types=["authorization_code"],
        response_types=["code", "id_token"],
    )
    public["client_uri_verification"]["status"] = "verified"
    return [demo_client(), verified, public]


class CloudflareEmulator:
    """The state and rules of the emulated API. Thread-safe: the loopback server calls it from threads."""

    def __init__(self, *, tokens: set[str] | dict[str, set[str]] | None = None, seed: bool = True) -> None:
        # tokens=None accepts any credentials (the sandbox); a set makes auth real (the tests); a dict maps
        # each token to the permissions it holds ("read", "write"), to emulate a token without access.
        self.tokens = tokens
        self.clients: dict[tuple[str, str], dict[str, Any]] = {}
        self.scopes = copy.deepcopy(DEFAULT_SCOPES)
        self.requests: list[RecordedRequest] = []
        # How many clients one list answer holds. Cloudflare documents no paging parameter for the list,
        # only `result_info`; a test lowers this to see an answer that leaves clients out.
        self.list_page_size = 100
        # Secrets live apart from the clients, so no answer but the one that issues a secret can hold it.
        self._secrets: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        if seed:
            for client in seeded_clients():
                self.clients[(DEMO_ACCOUNT_ID, client["client_id"])] = client

    def mark_verified(self, account_id: str, client_id: str) -> None:
        """Stand-in for Cloudflare finding the TXT record."""
        with self._lock:
            self.clients[(account_id, client_id)]["client_uri_verification"]["status"] = "verified"

    def issued_secrets(self, account_id: str, client_id: str) -> tuple[str, ...]:
        """The secrets this emulator issued for a client that still work, newest first (for tests to find
        where a secret went; a seeded client's original secret was never issued here)."""
        with self._lock:
            return tuple(self._secrets.get((account_id, client_id), ()))

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> RecordedRequest:
        """Note a request as seen (also for answers a test scripts instead of the emulator)."""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = ...
        request = RecordedRequest(method, path.split("?")[0], {k.lower(): v for k, v in headers.items()}, parsed)
        with self._lock:
            self.requests.append(request)
        return request

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Serve one request, as Cloudflare would, in its envelope."""
        request = self.record(method, path, headers, body)
        with self._lock:
            if (denied := self._authenticate(request.headers, method, request.path)) is not None:
                return denied
            if request.body is ...:
                return _failure(400, 6007, "Malformed JSON in request body")
            return self._route(method, request.path, request.body)

    def _authenticate(self, headers: dict[str, str], method: str, path: str) -> Answer | None:
        if self.tokens is None:
            return None
        auth = headers.get("authorization", "")
        key, email = headers.get("x-auth-key"), headers.get("x-auth-email")
        if not auth and not (key and email):
            return _failure(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        presented = auth.removeprefix("Bearer ") if auth else f"{email}:{key}"
        if presented not in self.tokens:
            if path.endswith("/user/tokens/verify"):
                return _failure(401, 1000, "Invalid API Token")
            return _failure(403, 10000, "Authentication error")
        if isinstance(self.tokens, dict) and "/oauth_clients" in path:
            needed = "read" if method == "GET" else "write"
            if needed not in self.tokens[presented]:
                return _failure(403, 10000, "Authentication error")
        return None

    def _route(self, method: str, path: str, body: Any) -> Answer:
        if _SCOPES_ROUTE.match(path) and method == "GET":
            return _success(self.scopes)
        if _VERIFY_ROUTE.match(path) and method == "GET":
            return _success({"id": "emulated-token-id", "status": "active"})
        match = _ROUTE.match(path)
        if not match or len(match["account"]) != 32:
            return _no_route(path)
        account, client_id, rotated = match["account"], match["client"], match["rotate"] is not None
        if client_id is None:
            if method == "GET":
                every = [c for (a, _), c in self.clients.items() if a == account]
                page = every[: self.list_page_size]
                info = {"count": len(page), "page": 1, "per_page": self.list_page_size, "total_count": len(every)}
                return _success(page, result_info=info)
            if method == "POST":
                return self._create(account, body)
            return _not_allowed(method)
        key = (account, client_id)
        stored = self.clients.get(key)
        if stored is None:
            return _no_route(path)
        handler = (_ROTATED_HANDLERS if rotated else _CLIENT_HANDLERS).get(method)
        if handler is None:
            return _not_allowed(method)
        return handler(self, key, stored, body)

    def _get(self, key: _Key, stored: dict[str, Any], body: Any) -> Answer:
        return _success(stored)

    def _create(self, account: str, body: Any) -> Answer:
        """A new client is private; a client URI gets a pending verification and the TXT value that proves it.

        Without a client URI the answer has no `client_uri_verification` (nothing to verify; not documented).
        `visibility` in the body is ignored like any field the create schema does not name."""
        if not isinstance(body, dict):
            return _failure(400, 1001, "Request body must be a JSON object")
        errors = [*missing_fields(body), *field_errors(body, self._scope_ids(), CREATABLE)]
        if errors:
            return _failure_many(400, errors)
        client_id = secrets.token_hex(16)
        while (account, client_id) in self.clients:
            client_id = secrets.token_hex(16)
        now = _now()
        client: dict[str, Any] = {"client_id": client_id, "visibility": "private"}
        client.update(copy.deepcopy({k: v for k, v in body.items() if k in CREATABLE}))
        if "client_uri" in client:
            host = _host(client["client_uri"]) or ""
            client["client_uri_verification"] = {"status": "pending", "text": verification_text(host)}
        client.update(created_at=now, updated_at=now, has_rotated_secret=False)
        if problems := settle_scopes(client):
            return _failure_many(400, problems)
        self.clients[(account, client_id)] = client
        secret = secrets.token_urlsafe(32)
        self._secrets[(account, client_id)] = [secret]
        return _success({**client, "client_secret": secret})

    def _update(self, key: _Key, stored: dict[str, Any], body: Any) -> Answer:
        # Unset optional fields are left out of answers, never null: the published schema types them as
        # plain strings, and Prism (tests/test_schema_judge.py) holds the emulator to that.
        if not isinstance(body, dict):
            return _failure(400, 1001, "Request body must be a JSON object")
        errors = list(field_errors(body, self._scope_ids(), UPDATABLE))
        merged = {**stored, **{k: v for k, v in body.items() if k in UPDATABLE}}
        promoting = body.get("visibility") == "public" and stored["visibility"] != "public"
        if promoting:
            errors += promotion_errors(merged)
        if errors:
            return _failure_many(400, errors)

        old_host = _host(stored.get("client_uri") or "")
        verification = stored.get("client_uri_verification") or {}
        if "client_uri" in body:
            new_host = _host(body["client_uri"])
            if new_host != old_host:
                if verification.get("status") == "verified" or stored["visibility"] == "public":
                    return _failure_many(
                        400, [(1004, "The domain of a verified client URI cannot change", "/client_uri")]
                    )
                merged["client_uri_verification"] = {"status": "pending", "text": verification_text(new_host or "")}
            elif verification.get("status") == "failed":
                merged["client_uri_verification"] = {**verification, "status": "pending"}
        if problems := settle_scopes(merged):
            return _failure_many(400, problems)
        if promoting:
            merged["promoted_at"] = _now()
        merged["updated_at"] = _now()
        stored.clear()
        stored.update(merged)
        return _success(stored)

    def _delete(self, key: _Key, stored: dict[str, Any], body: Any) -> Answer:
        """The client and its secrets are gone: a later GET is the same 404 as for an id never seen."""
        del self.clients[key]
        self._secrets.pop(key, None)
        return _success({"id": key[1]})

    def _rotate_secret(self, key: _Key, stored: dict[str, Any], body: Any) -> Answer:
        """A second secret; the first keeps working until the rotated one is deleted.

        Not documented: a rotation while an older secret is still pending. Refused here (400), because
        replacing either secret would break whoever uses it, and a rotation is meant to break nothing."""
        if stored.get("has_rotated_secret"):
            message = "A rotated secret is still pending: delete it before rotating again"
            return _failure(400, 1015, message)
        secret = secrets.token_urlsafe(32)
        self._secrets.setdefault(key, [])[:0] = [secret]
        stored.update(has_rotated_secret=True, updated_at=_now())
        return _success({"client_secret": secret})

    def _delete_rotated_secret(self, key: _Key, stored: dict[str, Any], body: Any) -> Answer:
        """Only the newest secret keeps working. Not documented: the answer when no rotated secret is
        pending. Here a 400 naming it, as Cloudflare refuses other writes that make no sense."""
        if not stored.get("has_rotated_secret"):
            return _failure(400, 1016, "This client has no rotated secret to delete")
        issued = self._secrets.get(key)
        if issued:
            del issued[1:]
        stored.update(has_rotated_secret=False, updated_at=_now())
        return _success({"id": key[1]})

    def _scope_ids(self) -> set[str]:
        return {s["id"] for s in self.scopes}


_Handler = Callable[["CloudflareEmulator", "_Key", dict[str, Any], Any], Answer]
_CLIENT_HANDLERS: dict[str, _Handler] = {
    "GET": CloudflareEmulator._get,
    "PATCH": CloudflareEmulator._update,
    "DELETE": CloudflareEmulator._delete,
}
_ROTATED_HANDLERS: dict[str, _Handler] = {
    "POST": CloudflareEmulator._rotate_secret,
    "DELETE": CloudflareEmulator._delete_rotated_secret,
}


def _host(uri: str) -> str | None:
    try:
        return urlsplit(uri).hostname
    except ValueError:  # an unclosed IPv6 bracket: no host, not a crash of the emulator
        return None


def _no_route(path: str) -> Answer:
    return _failure(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")


def _not_allowed(method: str) -> Answer:
    return _failure(405, 10405, f"Method {method} not allowed in the sandbox")


def _envelope(success: bool, result: Any, errors: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"success": success, "errors": errors, "messages": [], "result": result, **extra}).encode()


def _success(result: Any, **extra: Any) -> Answer:
    """A success envelope; a collection adds `result_info` (count, page, per_page, total_count)."""
    return Answer(200, _envelope(True, copy.deepcopy(result), [], **extra))


def _failure(status: int, code: int, message: str) -> Answer:
    return Answer(status, _envelope(False, None, [{"code": code, "message": message}]))


def _failure_many(status: int, errors: list[tuple[int, str, str]]) -> Answer:
    body = [{"code": code, "message": message, "source": {"pointer": pointer}} for code, message, pointer in errors]
    return Answer(status, _envelope(False, None, body))


def mock_transport(emulator: CloudflareEmulator):
    """An `httpx.MockTransport` serving the emulator in-process (the sandbox)."""
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        answer = emulator.handle(request.method, request.url.path, dict(request.headers), request.content)
        return httpx.Response(answer.status, content=answer.body, headers=answer.headers)

    return httpx.MockTransport(handler)
