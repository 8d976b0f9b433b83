"""A server's life as an operator sees it: what it says on stderr when it starts, how it stops.

Real processes only: the console script over stdio and over HTTP, sent real SIGINT and SIGTERM.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time

import httpx
import pytest

from mcp_oauth_clients.startup import sandbox_clients
from tests.conftest import ACCOUNT, CLIENT
from tests.fake_cloudflare import TOKEN, Fault
from tests.stdio_client import SCRIPT, RawClient, clean_env, fake_env
from tests.test_http import HTTP_TOKEN, start_http

# Hang detection, not a performance promise: a stopped server must be gone well within this.
STOP_WITHIN = 2.0
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def stop(proc: subprocess.Popen, signum: int) -> tuple[int, float, str, str]:
    """Send the signal; return (exit code, seconds until exit, stdout, stderr)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running 10 s after signal {signum}") from None
    took = time.monotonic() - sent
    out, err = proc.communicate()
    return proc.returncode, took, out, err


def test_stdio_start_up_lines_go_to_stderr_and_stdout_carries_only_json_rpc():
    client = RawClient(clean_env(), args=("--sandbox",))
    client.initialize()
    client.request("tools/list")
    stderr = client.close()
    assert client.proc.returncode == 0  # stdin closed by the client: a normal end
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in client.stdout_lines)
    assert "serving MCP on stdio" in stderr and "Stop with Ctrl-C" in stderr
    assert "in-memory sandbox" in stderr and "as long as this process" in stderr
    assert "read-only off" in stderr and "allowed accounts: any" in stderr and "audit log: stderr" in stderr
    for account, client_id, _name in sandbox_clients():
        assert f"account_id {account}, oauth_client_id {client_id}" in stderr


def test_sandbox_start_up_lines_name_every_seeded_client():
    seeded = sandbox_clients()
    assert (ACCOUNT, CLIENT) in [(account, client) for account, client, _ in seeded]


def test_start_up_lines_state_the_guard_rails_in_force_and_never_the_token(fake, tmp_path):
    audit = tmp_path / "audit.jsonl"
    env = fake_env(fake, MCP_OAUTH_CLIENTS_LOG_LEVEL="WARNING")
    client = RawClient(
        env,
        args=("--read-only", "--allowed-accounts", ACCOUNT, "--allow-unattended-promotion", "--audit-log", str(audit)),
    )
    client.initialize()
    stderr = client.close()
    assert f"default account {ACCOUNT}" in stderr and "credentials: CLOUDFLARE_API_TOKEN" in stderr
    assert "read-only on" in stderr and f"allowed accounts: {ACCOUNT}" in stderr
    assert "unattended promotion: allowed with confirm_irreversible: true" in stderr
    assert f"audit log: {audit}" in stderr
    assert "sandbox" not in stderr and TOKEN not in stderr


def test_http_start_up_lines_give_the_address_on_stderr_and_nothing_on_stdout():
    proc, base = start_http(clean_env(), "--sandbox")
    code, _, out, err = stop(proc, signal.SIGTERM)
    assert out == ""
    assert f"serving MCP over streamable HTTP at {base}/mcp" in err
    assert f"oauth_client_id {CLIENT}" in err


def test_log_level_error_silences_the_start_up_lines():
    client = RawClient(clean_env(MCP_OAUTH_CLIENTS_LOG_LEVEL="ERROR"), args=("--sandbox",))
    client.initialize()
    assert client.close() == ""


def test_json_log_format_writes_one_json_object_per_stderr_line_and_never_the_token(fake):
    client = RawClient(fake_env(fake, MCP_OAUTH_CLIENTS_LOG_FORMAT="json"))  # DEBUG, against the loopback fake
    client.initialize()
    client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Shipped"})  # an audit line too
    stderr = client.close()
    entries = [json.loads(line) for line in stderr.splitlines()]
    logs = [e for e in entries if "logger" in e]
    assert any(e["logger"] == "mcp_oauth_clients.startup" and "serving MCP on stdio" in e["message"] for e in logs)
    assert any(e["level"] == "DEBUG" for e in logs)
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in logs)
    assert any(e.get("event") == "write_attempt" for e in entries)
    assert TOKEN not in stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stdio_server_stops_at_once_on_a_signal_without_a_traceback(signum):
    client = RawClient(clean_env(), args=("--sandbox",))
    client.initialize()  # idle, stdin open: the case where Ctrl-C used to do nothing
    code, took, _, err = stop(client.proc, signum)
    assert code == EXIT_CODES[signum]
    assert took < STOP_WITHIN
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_http_server_stops_at_once_on_a_signal_without_a_traceback(signum):
    proc, base = start_http(clean_env(), "--sandbox")
    assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    code, took, _, err = stop(proc, signum)
    assert code == EXIT_CODES[signum]
    assert took < STOP_WITHIN
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_ctrl_c_at_a_terminal_stops_the_stdio_server_the_first_time():
    """A person who started the server by hand: stdin is a terminal, nothing typed, one Ctrl-C."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [SCRIPT, "--sandbox"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
        )
        for _ in range(200):  # wait for the start-up lines: the server is then reading the terminal
            if proc.poll() is not None or select.select([proc.stderr], [], [], 0.05)[0]:
                break
        time.sleep(0.3)
        code, took, _, err = stop(proc, signal.SIGINT)
        assert code == 130 and took < STOP_WITHIN
        assert b"Traceback" not in err and b"serving MCP on stdio" in err
        assert os.get_blocking(terminal)  # the terminal is left as it was found, for the shell that owns it
    finally:
        os.close(controller)
        os.close(terminal)


def test_a_signal_during_a_write_stops_the_server_and_the_audit_log_keeps_the_attempt(fake, tmp_path):
    audit = tmp_path / "audit.jsonl"
    fake.script(Fault(delay=5))  # Cloudflare takes its time answering the PATCH
    client = RawClient(fake_env(fake), args=("--audit-log", str(audit)))
    client.initialize()
    client._send(
        {
            "jsonrpc": "2.0",
            "id": 99,
            "method": "tools/call",
            "params": {"name": "update_oauth_client", "arguments": {"oauth_client_id": CLIENT, "client_name": "X"}},
        }
    )
    for _ in range(200):
        if fake.hits:
            break
        time.sleep(0.02)
    assert fake.hits == 1, "the write never reached the fake"
    code, took, _, err = stop(client.proc, signal.SIGTERM)
    assert code == 143 and took < STOP_WITHIN and "Traceback" not in err
    lines = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    assert [line["outcome"] for line in lines] == ["unknown"]


def test_get_on_the_mcp_endpoint_answers_405_at_once_instead_of_holding_a_stream():
    proc, base = start_http(clean_env(), "--sandbox")
    try:
        answer = httpx.get(f"{base}/mcp", headers={"Accept": "text/event-stream"}, timeout=5)
        assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    finally:
        stop(proc, signal.SIGTERM)


def test_get_on_the_mcp_endpoint_still_needs_the_bearer_token_first():
    env = clean_env(MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)
    proc, base = start_http(env, "--sandbox")
    try:
        assert httpx.get(f"{base}/mcp", timeout=5).status_code == 401
        authorized = httpx.get(f"{base}/mcp", headers={"Authorization": f"Bearer {HTTP_TOKEN}"}, timeout=5)
        assert authorized.status_code == 405
    finally:
        stop(proc, signal.SIGTERM)


def test_a_stdin_line_beyond_the_limit_is_dropped_and_the_server_keeps_serving():
    from mcp_oauth_clients.stdio_transport import MAX_LINE

    client = RawClient(clean_env(), args=("--sandbox",))
    client.proc.stdin.write("x" * (MAX_LINE + 1) + "\n")
    assert client.initialize()["result"]["serverInfo"]["name"] == "mcp-oauth-clients"
    stderr = client.close()
    assert "dropped a JSON-RPC line longer than" in stderr and "Traceback" not in stderr
