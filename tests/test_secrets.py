"""No secret anywhere: every fault case and guard rail, over stdio with DEBUG logging, with a token and with
the legacy key + email, scanning stdout, stderr, every result and the audit log."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mcp_oauth_clients.emulator import CloudflareEmulator
from tests.conftest import ACCOUNT, CLIENT
from tests.fake_cloudflare import TOKEN, FakeCloudflare
from tests.fault_cases import BACKOFF, CASES, CONNECT_TIMEOUT, MAX_RETRY_WAIT, TIMEOUT
from tests.stdio_client import RawClient, fake_env

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


def run_everything(credentials: dict[str, str], audit: Path, collected: dict) -> None:
    emulator = CloudflareEmulator(tokens={TOKEN, f"{EMAIL}:{API_KEY}"})
    with FakeCloudflare(emulator) as fake:
        env = fake_env(
            fake,
            MCP_OAUTH_CLIENTS_TIMEOUT=str(TIMEOUT),
            MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
            MCP_OAUTH_CLIENTS_RETRY_BACKOFF=str(BACKOFF),
            MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT=str(MAX_RETRY_WAIT),
            **credentials,
        )
        client = RawClient(env, args=("--audit-log", str(audit)))
        results = []
        try:
            client.initialize()
            for case in CASES:
                if case.target != "fake":
                    continue
                fake.script(*case.faults())
                name = "get_oauth_client" if case.operation == "read" else "update_oauth_client"
                arguments = {"oauth_client_id": CLIENT}
                if name == "update_oauth_client":
                    arguments["client_name"] = "Secret scan"
                results.append(client.call(name, arguments))
                fake.faults.clear()
            for name, arguments in GUARD_RAIL_CALLS:
                results.append(client.call(name, arguments))
            emulator.tokens = {"someone-else"}
            results.append(client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "denied"}))
        finally:
            stderr = client.close()
        collected.update(
            stdout="".join(client.stdout_lines),
            stderr=stderr,
            results=json.dumps(results),
            audit=audit.read_text() if audit.exists() else "",
            calls=len(results),
            requests=len(fake.requests),
        )


@pytest.mark.e2e
def test_no_secret_in_stdout_stderr_results_or_audit_log(tmp_path):
    runs = {
        "token": {"CLOUDFLARE_API_TOKEN": TOKEN},
        "key+email": {"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_API_KEY": API_KEY, "CLOUDFLARE_EMAIL": EMAIL},
    }
    collected: dict[str, dict] = {name: {} for name in runs}
    threads = [
        threading.Thread(target=run_everything, args=(creds, tmp_path / f"{name}.audit", collected[name]))
        for name, creds in runs.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    hits = []
    for name, found in collected.items():
        assert found.get("calls", 0) >= len(CASES) - 2 + len(GUARD_RAIL_CALLS), (name, found.get("calls"))
        assert found["requests"] > 0 and found["audit"], name  # the fake was used, the audit log written
        configured = [v for v in runs[name].values() if v]  # fault cases echo the token: a secret only where it is one
        for where in ("stdout", "stderr", "results", "audit"):
            hits += [(name, where, secret[:6]) for secret in configured if secret in found[where]]
    print(
        f"secret scan: {sum(f['calls'] for f in collected.values())} calls, "
        f"{sum(len(f['stderr']) for f in collected.values())} bytes of DEBUG stderr, {len(hits)} hits"
    )
    assert hits == []
    assert ACCOUNT in collected["token"]["audit"]
