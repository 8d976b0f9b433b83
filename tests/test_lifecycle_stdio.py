"""The one process test of the lifecycle tools: what only a real console script shows (stdout, stderr)."""

from __future__ import annotations

import stat

import pytest

from tests.conftest import ACCOUNT
from tests.stdio_client import RawClient, fake_env

pytestmark = pytest.mark.e2e  # a real console script: stdout and stderr are what it proves


def test_a_created_secret_is_in_exactly_one_0600_file_and_nowhere_in_stdout_stderr_logs_or_audit(fake, tmp_path):
    secrets_dir, audit = tmp_path / "secrets", tmp_path / "audit.jsonl"
    env = fake_env(fake, MCP_OAUTH_CLIENTS_SECRETS_DIR=str(secrets_dir), MCP_OAUTH_CLIENTS_LOG_LEVEL="DEBUG")
    client = RawClient(env, args=("--audit-log", str(audit)))
    try:
        client.initialize()
        error, text, structured = client.text(
            "create_oauth_client",
            {"client_name": "Stdio App", "redirect_uris": ["https://stdio.example.com/cb"], "scopes": ["account.read"]},
        )
    finally:
        stderr = client.close()
    assert not error, text
    new_id = structured["client"]["client_id"]
    (secret,) = fake.emulator.issued_secrets(ACCOUNT, new_id)
    holding = [f for f in tmp_path.rglob("*") if f.is_file() and secret in f.read_text()]
    assert holding == list(secrets_dir.glob("*.secret")) and len(holding) == 1
    assert stat.S_IMODE(holding[0].stat().st_mode) == 0o600
    assert secret not in "".join(client.stdout_lines) and secret not in stderr
    assert "Cloudflare answered" in stderr and audit.read_text().count("create_oauth_client") == 2
