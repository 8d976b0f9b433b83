"""An in-memory emulation of Cloudflare's OAuth-client routes, for `--sandbox` and for the tests.

It follows the documented envelope, errors and rules (see `../shared/reference/`), nothing more:
where Cloudflare's behaviour is undocumented (the exact error codes of a refused field, for one),
it answers in the documented envelope shape with a plausible code and says so in `message`.
The same `handle()` serves an `httpx.MockTransport` (the sandbox) and a loopback HTTP server
(the end-to-end tests), so both exercise the real client code above the transport.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from mcp_oauth_clients.config import SANDBOX_ACCOUNT_ID

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

_ROUTE = re.compile(r"^(?:/client/v4)?/accounts/(?P<account>[^/]+)/oauth_clients(?:/(?P<client>[^/]+))?$")
_SCOPES_ROUTE = re.compile(r"^(?:/client/v4)?/oauth/scopes$")
_VERIFY_ROUTE = re.compile(r"^(?:/client/v4)?/user/tokens/verify$")
_UPDATABLE = {
    "allowed_cors_origins": list,
    "client_name": str,
    "client_uri": str,
    "grant_types": list,
    "logo_uri": str,
    "optional_scopes": list,
    "policy_uri": str,
    "post_logout_redirect_uris": list,
    "redirect_uris": list,
    "response_types": list,
    "scopes": list,
    "token_endpoint_auth_method": str,
    "tos_uri": str,
    "visibility": str,
}
_ENUMS = {
    "grant_types": {"authorization_code", "refresh_token"},
    "response_types": {"token", "id_token", "code"},
    "token_endpoint_auth_method": {"none", "client_secret_basic", "client_secret_post"},
    "visibility": {"public"},
}


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
        self._lock = threading.Lock()
        if seed:
            for client in seeded_clients():
                self.clients[(DEMO_ACCOUNT_ID, client["client_id"])] = client

    def mark_verified(self, account_id: str, client_id: str) -> None:
        """Stand-in for Cloudflare finding the TXT record."""
        with self._lock:
            self.clients[(account_id, client_id)]["client_uri_verification"]["status"] = "verified"

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
        if not match:
            return _failure(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
        account, client_id = match["account"], match["client"]
        if len(account) != 32:
            return _failure(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
        if client_id is None:
            if method == "GET":
                every = [c for (a, _), c in self.clients.items() if a == account]
                page = every[: self.list_page_size]
                info = {"count": len(page), "page": 1, "per_page": self.list_page_size, "total_count": len(every)}
                return _success(page, result_info=info)
            return _failure(405, 10405, f"Method {method} not allowed in the sandbox")
        stored = self.clients.get((account, client_id))
        if stored is None:
            return _failure(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
        if method == "GET":
            return _success(stored)
        if method == "PATCH":
            return self._update(stored, body)
        return _failure(405, 10405, f"Method {method} not allowed in the sandbox")

    def _update(self, stored: dict[str, Any], body: Any) -> Answer:
        # Unset optional fields are left out of answers, never null: the published schema types them as
        # plain strings, and Prism (tests/test_schema_judge.py) holds the emulator to that.
        if not isinstance(body, dict):
            return _failure(400, 1001, "Request body must be a JSON object")
        errors = list(self._field_errors(body))
        merged = {**stored, **{k: v for k, v in body.items() if k in _UPDATABLE}}
        if body.get("visibility") == "public" and stored["visibility"] != "public":
            errors += self._promotion_errors(merged)
        if errors:
            return _failure_many(400, errors)

        old_host = urlsplit(stored.get("client_uri") or "").hostname
        verification = stored.get("client_uri_verification") or {}
        if "client_uri" in body:
            new_host = urlsplit(body["client_uri"]).hostname
            if new_host != old_host:
                if verification.get("status") == "verified" or stored["visibility"] == "public":
                    return _failure_many(
                        400, [(1004, "The domain of a verified client URI cannot change", "/client_uri")]
                    )
                merged["client_uri_verification"] = {"status": "pending", "text": verification_text(new_host or "")}
            elif verification.get("status") == "failed":
                merged["client_uri_verification"] = {**verification, "status": "pending"}
        merged["scopes"] = _protocol_scopes(merged)
        optional = set(merged.get("optional_scopes") or [])
        if optional - set(merged["scopes"]):
            return _failure_many(400, [(1009, "optional_scopes must be a subset of scopes", "/optional_scopes")])
        if body.get("visibility") == "public" and stored["visibility"] != "public":
            merged["promoted_at"] = _now()
        merged["updated_at"] = _now()
        stored.clear()
        stored.update(merged)
        return _success(stored)

    def _field_errors(self, body: dict[str, Any]):
        for name, value in body.items():
            if name not in _UPDATABLE:
                continue  # the published schema does not forbid unknown fields
            kind = _UPDATABLE[name]
            if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
                yield (1002, f"{name} must be a {'list of strings' if kind is list else 'string'}", f"/{name}")
                continue
            allowed = _ENUMS.get(name)
            for i, item in enumerate(value if kind is list else [value]):
                if allowed and item not in allowed:
                    yield (
                        1003,
                        f"{item!r} is not one of {sorted(allowed)}",
                        f"/{name}" + (f"/{i}" if kind is list else ""),
                    )
        if (
            "grant_types" in body
            and isinstance(body["grant_types"], list)
            and "authorization_code" not in body["grant_types"]
        ):
            yield (1005, "authorization_code is required in grant_types", "/grant_types")
        known = {s["id"] for s in self.scopes}
        for i, scope in enumerate(body.get("scopes") or []):
            if not isinstance(scope, str):
                continue
            if ":" in scope:
                yield (1006, f"Colon-delimited scope {scope!r} is not accepted", f"/scopes/{i}")
            elif "." in scope and scope not in known:
                yield (1007, f"Unknown scope {scope!r}", f"/scopes/{i}")
        for i, scope in enumerate(body.get("optional_scopes") or []):
            if scope in ("openid", "offline", "offline_access"):
                yield (1008, f"{scope!r} cannot be optional", f"/optional_scopes/{i}")

    @staticmethod
    def _promotion_errors(client: dict[str, Any]) -> list[tuple[int, str, str]]:
        errors = []
        if not (client.get("client_name") or "").strip():
            errors.append((1010, "Promotion requires a non-empty client name", "/client_name"))
        if not client.get("logo_uri"):
            errors.append((1011, "Promotion requires a logo URI", "/logo_uri"))
        if (client.get("client_uri_verification") or {}).get("status") != "verified":
            errors.append((1012, "Promotion requires a verified client URI host", "/client_uri"))
        if not any("." in s for s in client.get("scopes") or []):
            errors.append((1013, "Promotion requires at least one non-identity scope", "/scopes"))
        return errors


def _protocol_scopes(client: dict[str, Any]) -> list[str]:
    """`offline_access` follows refresh_token in grant_types, `openid` follows id_token in response_types."""
    scopes = [s for s in client.get("scopes") or [] if s not in ("offline_access", "openid")]
    if "refresh_token" in (client.get("grant_types") or []):
        scopes.append("offline_access")
    if "id_token" in (client.get("response_types") or []):
        scopes.append("openid")
    return scopes


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
