"""No secret anywhere: every fault case and guard rail, with DEBUG logging, with a token and with the legacy
key + email, scanning stdout, stderr, every result and the audit log. The server runs in this process with
the settings the console script would read, its stderr as the script writes it (`server_stderr`). The runs,
each split among a few servers, go at once: their stdout and stderr are then one, scanned for every secret
under the masking each run's settings give."""

from __future__ import annotations

import contextlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.emulator import CloudflareEmulator
from tests.conftest import ACCOUNT, CLIENT, MemoryClient, server_stderr
from tests.fake_cloudflare import TOKEN, FakeCloudflare
from tests.fault_cases import BACKOFF, CASES, CONNECT_TIMEOUT, MAX_RETRY_WAIT, TIMEOUT
from tests.stdio_client import fake_env

pytestmark = pytest.mark.slow  # every fault case, twice, waiting out their timeouts

API_KEY = "cf-global-key-7f3e9a1c5b"
EMAIL = "owner-secret@example.com"
SECRETS = (TOKEN, API_KEY, EMAIL)

GUARD_RAIL_CALLS = [
    ("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x", "dry_run": True}),
    ("update_oauth_client", {"oauth_client_id": CLIENT, "add": {"redirect_uris": ["https://s.example.com/cb"]}}),
    ("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"}),
    ("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": ["account.raed"]}),
    ("update_oauth_client", {"oauth_client_id": "../../x", "client_name": "x"}),
    (
        "update_oauth_client",
        {"oauth_client_id": CLIENT, "expected_state_hash": "sha256:" + "0" * 8 + "." + "0" * 32, "client_name": "x"},
    ),
    ("get_oauth_client", {"oauth_client_id": "f" * 32}),
]


GROUPS = 8  # each run's fault cases are split among this many servers at once: most of their time is waiting


def run_cases(credentials: dict[str, str], audit: Path, cases: list, guard_rails: bool) -> dict:
    """Run `cases` (and the guard-rail calls) against a fake of their own, through servers in memory (one per
    timeout the cases use); return the results, the audit log, and counts. stdout and stderr are the
    process's, captured by the caller."""
    emulator = CloudflareEmulator(tokens={TOKEN, f"{EMAIL}:{API_KEY}"})
    with FakeCloudflare(emulator) as fake, contextlib.ExitStack() as clients:
        servers: dict[float, MemoryClient] = {}

        def client_for(timeout: float) -> MemoryClient:
            if timeout not in servers:
                env = fake_env(
                    fake,
                    MCP_OAUTH_CLIENTS_TIMEOUT=str(timeout),
                    MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT=str(min(timeout, CONNECT_TIMEOUT)),
                    MCP_OAUTH_CLIENTS_RETRY_BACKOFF=str(BACKOFF),
                    MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT=str(MAX_RETRY_WAIT),
                    MCP_OAUTH_CLIENTS_AUDIT_LOG=str(audit),
                    **credentials,
                )
                servers[timeout] = MemoryClient(env)
                clients.callback(servers[timeout].close)
            return servers[timeout]

        results = []
        for case in cases:
            fake.script(*case.faults())
            name = "get_oauth_client" if case.operation == "read" else "update_oauth_client"
            arguments = {"oauth_client_id": CLIENT}
            if name == "update_oauth_client":
                arguments["client_name"] = "Secret scan"
            results.append(client_for(case.timeout).call(name, arguments))
            fake.faults.clear()
        if guard_rails:
            client = client_for(TIMEOUT)
            for name, arguments in GUARD_RAIL_CALLS:
                results.append(client.call(name, arguments))
            emulator.tokens = {"someone-else"}
            results.append(client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "denied"}))
        clients.close()  # every line is in the audit file before it is read
        return {
            "results": results,
            "audit": audit.read_text() if audit.exists() else "",
            "requests": len(fake.requests),
        }


def test_no_secret_in_stdout_stderr_results_or_audit_log(tmp_path):
    runs = {
        "token": {"CLOUDFLARE_API_TOKEN": TOKEN},
        "key+email": {"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_API_KEY": API_KEY, "CLOUDFLARE_EMAIL": EMAIL},
    }
    cases = [case for case in CASES if case.target == "fake"]
    # Logging is the process's: one stderr for every run, masking what each run's settings would mask.
    masked = Settings(credentials=Credentials(api_token=TOKEN, api_key=API_KEY, email=EMAIL), log_level="DEBUG")
    stdout = io.StringIO()
    with (
        server_stderr(masked) as stderr,
        contextlib.redirect_stdout(stdout),
        ThreadPoolExecutor(len(runs) * GROUPS) as pool,
    ):
        parts = {
            (name, group): pool.submit(
                run_cases, creds, tmp_path / f"{name}.{group}.audit", cases[group::GROUPS], group == 0
            )
            for name, creds in runs.items()
            for group in range(GROUPS)
        }
        done = {key: part.result(timeout=120) for key, part in parts.items()}
    collected = {
        name: {
            "results": json.dumps([r for g in range(GROUPS) for r in done[name, g]["results"]]),
            "audit": "".join(done[name, g]["audit"] for g in range(GROUPS)),
            "calls": sum(len(done[name, g]["results"]) for g in range(GROUPS)),
            "requests": sum(done[name, g]["requests"] for g in range(GROUPS)),
        }
        for name in runs
    }
    hits = []
    for where, text in (("stdout", stdout.getvalue()), ("stderr", stderr.getvalue())):
        hits += [(where, secret[:6]) for secret in SECRETS if secret in text]
    for name, found in collected.items():
        assert found.get("calls", 0) >= len(CASES) - 2 + len(GUARD_RAIL_CALLS), (name, found.get("calls"))
        assert found["requests"] > 0 and found["audit"], name  # the fake was used, the audit log written
        configured = [v for v in runs[name].values() if v]  # fault cases echo the token: a secret only where it is one
        for where in ("results", "audit"):
            hits += [(name, where, secret[:6]) for secret in configured if secret in found[where]]
    print(
        f"secret scan: {sum(f['calls'] for f in collected.values())} calls, "
        f"{len(stderr.getvalue())} bytes of DEBUG stderr, {len(hits)} hits"
    )
    assert hits == []
    assert ACCOUNT in collected["token"]["audit"]
