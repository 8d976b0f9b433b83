"""The token never comes back out: Cloudflare (or a proxy) echoing a secret in a JSON error, an HTML page, a
header or a client field does not put it in any result, log line, audit line or doctor line."""

from __future__ import annotations

import subprocess
from urllib.parse import quote

import pytest

from mcp_oauth_clients.emulator import CloudflareEmulator, demo_client
from tests.conftest import CLIENT
from tests.fake_cloudflare import TOKEN, FakeCloudflare, Fault
from tests.stdio_client import SCRIPT, RawClient, fake_env

API_KEY = "cf-global-key-7f3e9a1c5b"
EMAIL = "owner-secret@example.com"
HTTP_TOKEN = "mcp-bearer-Yh3PqL8sWc2Nd6Vr9Tk4Bx7Mf1Gz5Je0"
CREDENTIALS = {
    "token": {"CLOUDFLARE_API_TOKEN": TOKEN},
    "key+email": {"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_API_KEY": API_KEY, "CLOUDFLARE_EMAIL": EMAIL},
}


def echo(secrets: list[str]) -> str:
    """Every secret, as given and percent-encoded, inside a sentence."""
    return " ".join(f"you sent {s} ({quote(s, safe='')})" for s in secrets)


def error(secrets: list[str]) -> dict:
    message = {"code": 10000, "message": echo(secrets), "documentation_url": f"https://x.example/?t={secrets[0]}"}
    return {"success": False, "errors": [message], "messages": [], "result": None}


@pytest.mark.e2e
@pytest.mark.parametrize("credentials", CREDENTIALS, ids=list(CREDENTIALS))
def test_an_echoed_secret_reaches_no_result_log_or_audit_line_of_the_console_script(credentials, tmp_path):
    secrets = [*(v for v in CREDENTIALS[credentials].values() if v), HTTP_TOKEN]
    html = f"<html><body><h1>502 Bad Gateway</h1><p>{echo(secrets)}</p></body></html>"
    client_echo = {**demo_client(CLIENT), "client_name": echo(secrets), "logo_uri": f"https://x.example/{secrets[0]}"}
    envelope = {"success": True, "errors": [], "messages": [], "result": client_echo}
    headers = {"cf-ray": f"ray-{secrets[0]}"}
    audit = tmp_path / "audit.jsonl"
    emulator = CloudflareEmulator(tokens={TOKEN, f"{EMAIL}:{API_KEY}"})
    with FakeCloudflare(emulator) as fake:
        env = fake_env(
            fake,
            MCP_OAUTH_CLIENTS_RETRY_BACKOFF="0.01",
            MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN,
            **CREDENTIALS[credentials],
        )
        client = RawClient(env, args=("--audit-log", str(audit)))
        results = []
        try:
            client.initialize()
            fake.script(Fault(403, error(secrets), headers))  # a JSON error message and a header
            results.append(client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "a"}))
            fake.script(*[Fault(502, html, {"content-type": "text/html", **headers})] * 3)  # an HTML 5xx page
            results.append(client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "b"}))
            fake.script(Fault(200, envelope, headers))  # a client field
            results.append(client.text("get_oauth_client", {"oauth_client_id": CLIENT}))
            fake.script(Fault(200, envelope, headers), Fault(200, envelope, headers))  # a dry run shows it twice
            results.append(
                client.text("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": [], "dry_run": True})
            )
        finally:
            stderr = client.close()
    outputs = {
        "stdout": "".join(client.stdout_lines),
        "stderr": stderr,
        "results": repr(results),
        "audit": audit.read_text(encoding="utf-8"),
    }
    leaks = [
        (where, s[:8]) for where, text in outputs.items() for s in secrets if s in text or quote(s, safe="") in text
    ]
    assert leaks == []
    assert all("[REDACTED]" in text + repr(structured) for _, text, structured in results), results
    assert outputs["audit"].count("\n") == 2 and "ray-[REDACTED]" in outputs["audit"]


def run_doctor(fake: FakeCloudflare) -> subprocess.CompletedProcess:
    env = fake_env(fake, MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)
    return subprocess.run([SCRIPT, "doctor"], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.e2e
def test_doctor_never_prints_a_secret_that_cloudflare_echoes():
    secrets = [TOKEN, HTTP_TOKEN]
    with FakeCloudflare() as fake:
        fake.script(Fault(200, {"success": True, "errors": [], "messages": [], "result": {"status": echo(secrets)}}))
        status_echo = run_doctor(fake)
        fake.script(
            Fault(200, {"success": True, "errors": [], "messages": [], "result": {"status": "active"}}),
            Fault(403, error(secrets), {"cf-ray": TOKEN}),
        )
        error_echo = run_doctor(fake)
    for run in (status_echo, error_echo):
        assert run.returncode == 1 and "[REDACTED]" in run.stdout, run.stdout
        assert not any(s in run.stdout + run.stderr for s in secrets), run.stdout
