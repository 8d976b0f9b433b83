"""A server's life as an operator sees it: what it says on stderr when it starts, how it stops.

Real processes where only a process shows it: the console script over stdio and over HTTP, its start-up lines
and stdout, real SIGINT and SIGTERM, stdin framing. What the start-up lines say for given settings, the log
format, and the HTTP app's answers to GET are shown in this process (`cli`, `server_stderr`, the app in memory).
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time

import anyio
import httpx
import pytest

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.startup import announce, sandbox_clients
from tests.conftest import ACCOUNT, CLIENT, MemoryClient, http_served, server_stderr
from tests.fake_cloudflare import TOKEN, Fault
from tests.stdio_client import SCRIPT, RawClient, clean_env, fake_env
from tests.test_http import HTTP_TOKEN, raw_client, start_http

# Hang detection only, never a measure of speed: a server still running this long after a signal is stuck.
HANG = 60.0
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def stop(proc: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    """Send the signal; return (exit code, stdout, stderr) once the process has ended."""
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running {HANG:g} s after signal {signum}") from None
    return proc.returncode, out, err


@pytest.mark.e2e
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


def test_start_up_lines_state_the_guard_rails_in_force_and_never_the_token(fake, tmp_path, cli):
    audit = tmp_path / "audit.jsonl"
    env = fake_env(fake, MCP_OAUTH_CLIENTS_LOG_LEVEL="WARNING")
    flags = ["--read-only", "--allowed-accounts", ACCOUNT, "--allow-unattended-promotion", "--audit-log", str(audit)]
    stderr = cli(flags, env).stderr
    assert f"default account {ACCOUNT}" in stderr and "credentials: CLOUDFLARE_API_TOKEN" in stderr
    assert "read-only on" in stderr and f"allowed accounts: {ACCOUNT}" in stderr
    assert "unattended promotion: allowed with confirm_irreversible: true" in stderr
    assert f"audit log: {audit}" in stderr
    assert "sandbox" not in stderr and TOKEN not in stderr


@pytest.mark.e2e
def test_http_start_up_lines_give_the_address_on_stderr_and_nothing_on_stdout():
    proc, base = start_http(clean_env(), "--sandbox")
    code, out, err = stop(proc, signal.SIGTERM)
    assert out == ""
    assert f"serving MCP over streamable HTTP at {base}/mcp" in err
    assert f"oauth_client_id {CLIENT}" in err


def test_log_level_error_silences_the_start_up_lines(cli):
    done = cli(["--sandbox"], clean_env(MCP_OAUTH_CLIENTS_LOG_LEVEL="ERROR"))
    assert done.returncode == 0 and done.stderr == ""


def test_json_log_format_writes_one_json_object_per_stderr_line_and_never_the_token(fake):
    env = fake_env(fake, MCP_OAUTH_CLIENTS_LOG_FORMAT="json")  # DEBUG, against the loopback fake
    settings = Settings.load(env)
    with server_stderr(settings) as captured:
        announce(settings, "stdio")  # what serve_stdio says first
        client = MemoryClient(env)
        try:
            client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Shipped"})  # and audits
        finally:
            client.close()
    stderr = captured.getvalue()
    entries = [json.loads(line) for line in stderr.splitlines()]
    logs = [e for e in entries if "logger" in e]
    assert any(e["logger"] == "mcp_oauth_clients.startup" and "serving MCP on stdio" in e["message"] for e in logs)
    assert any(e["level"] == "DEBUG" for e in logs)
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in logs)
    assert {"write_intent", "write_outcome"} <= {e.get("event") for e in entries}  # the audit lines too
    assert TOKEN not in stderr


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stdio_server_stops_on_a_signal_with_its_exit_code_and_no_traceback(signum):
    client = RawClient(clean_env(), args=("--sandbox",))
    client.initialize()  # idle, stdin open: the case where Ctrl-C used to do nothing
    code, _, err = stop(client.proc, signum)
    assert code == EXIT_CODES[signum]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_http_server_stops_on_a_signal_with_its_exit_code_and_no_traceback(signum):
    proc, base = start_http(clean_env(), "--sandbox")
    assert httpx.get(f"{base}/healthz", timeout=30).json()["status"] == "ok"
    code, _, err = stop(proc, signum)
    assert code == EXIT_CODES[signum]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.e2e
def test_ctrl_c_at_a_terminal_stops_the_stdio_server_the_first_time():
    """A person who started the server by hand: stdin is a terminal, nothing typed, one Ctrl-C."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [SCRIPT, "--sandbox"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
        )
        # Wait for the start-up lines: the server is then reading the terminal.
        select.select([proc.stderr], [], [], HANG)
        time.sleep(0.3)
        code, _, err = stop(proc, signal.SIGINT)
        assert code == 130
        assert b"Traceback" not in err and b"serving MCP on stdio" in err
        assert os.get_blocking(terminal)  # the terminal is left as it was found, for the shell that owns it
    finally:
        os.close(controller)
        os.close(terminal)


@pytest.mark.e2e
def test_a_signal_during_a_write_stops_the_server_and_the_audit_log_keeps_the_attempt(fake, tmp_path):
    audit = tmp_path / "audit.jsonl"
    fake.script(Fault(delay=10, method="PATCH"))  # Cloudflare takes its time answering the PATCH (not the read)
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
    deadline = time.monotonic() + HANG
    while fake.hits < 2 and time.monotonic() < deadline:  # the read, then the PATCH
        time.sleep(0.02)
    assert [r.method for r in fake.requests] == ["GET", "PATCH"], "the write never reached the fake"
    code, _, err = stop(client.proc, signal.SIGTERM)
    assert code == 143 and "Traceback" not in err
    lines = [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    assert [(line["event"], line.get("outcome")) for line in lines] == [
        ("write_intent", None),
        ("write_outcome", "unknown"),
    ], lines


@pytest.mark.anyio
async def test_get_on_the_mcp_endpoint_answers_405_at_once_instead_of_holding_a_stream():
    async with http_served(clean_env(MCP_OAUTH_CLIENTS_SANDBOX="1")) as app, raw_client(app) as http:
        with anyio.fail_after(HANG):  # the SDK would hold the stream open: a hang
            answer = await http.get("/mcp", headers={"Accept": "text/event-stream"})
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"


@pytest.mark.anyio
async def test_get_on_the_mcp_endpoint_still_needs_the_bearer_token_first():
    env = clean_env(MCP_OAUTH_CLIENTS_SANDBOX="1", MCP_OAUTH_CLIENTS_HTTP_TOKEN=HTTP_TOKEN)
    async with http_served(env) as app, raw_client(app) as http:
        with anyio.fail_after(HANG):
            unauthorized = await http.get("/mcp")
            authorized = await http.get("/mcp", headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
    assert unauthorized.status_code == 401
    assert authorized.status_code == 405


@pytest.mark.e2e
def test_a_stdin_line_beyond_the_limit_is_dropped_and_the_server_keeps_serving():
    from mcp_oauth_clients.stdio_transport import MAX_LINE

    client = RawClient(clean_env(), args=("--sandbox",))
    client.proc.stdin.write("x" * (MAX_LINE + 1) + "\n")
    assert client.initialize()["result"]["serverInfo"]["name"] == "mcp-oauth-clients"
    stderr = client.close()
    assert "dropped a JSON-RPC line longer than" in stderr and "Traceback" not in stderr
