"""Every write attempt leaves exactly one audit line, whatever ends it, and the line is one line for any reader.

Through the console script (`--audit-log PATH`) against the loopback fake: each outcome path, a call
cancelled mid-write, a server shut down mid-write, and an audit file that cannot take the line yet.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from mcp import Client

from mcp_oauth_clients import operations
from mcp_oauth_clients.audit import AuditLog
from mcp_oauth_clients.emulator import CloudflareEmulator, demo_client, mock_transport
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN, FakeCloudflare, Fault
from tests.stdio_client import RawClient, fake_env

ENVELOPE = {"success": True, "errors": [], "messages": [], "result": demo_client(CLIENT)}
REFUSAL = {"success": False, "errors": [{"code": 1004, "message": "no"}], "messages": [], "result": None}
SERVER_ERROR = {"success": False, "errors": [{"code": 1000, "message": "oops"}], "messages": [], "result": None}
NULL_RESULT = {"success": True, "errors": [], "messages": [], "result": None}


def audit_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rename(name: str = "Audited", **extra) -> dict:
    return {"oauth_client_id": CLIENT, "client_name": name, **extra}


def env_for(fake: FakeCloudflare) -> dict[str, str]:
    return fake_env(fake, MCP_OAUTH_CLIENTS_RETRY_BACKOFF="0.01")


def test_each_outcome_path_leaves_exactly_one_line_and_a_dry_run_none(tmp_path):
    audit = tmp_path / "audit.jsonl"
    with FakeCloudflare() as fake:
        client = RawClient(env_for(fake), args=("--audit-log", str(audit)))
        try:
            client.initialize()
            client.call("update_oauth_client", rename())  # applied
            fake.script(Fault(400, REFUSAL))
            client.call("update_oauth_client", rename())  # failed: Cloudflare said no
            client.call("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})  # refused
            fake.script(*[Fault(500, SERVER_ERROR)] * 3)
            client.call("update_oauth_client", rename())  # unknown: a server error after the request arrived
            fake.script(Fault(200, NULL_RESULT))
            client.call("update_oauth_client", rename())  # unknown: accepted, but the answer cannot be used
            client.call("update_oauth_client", rename(dry_run=True))  # a preview writes nothing: no line
        finally:
            client.close()
    lines = audit_lines(audit)
    assert [line["outcome"] for line in lines] == ["applied", "failed", "refused", "unknown", "unknown"]


def test_a_call_cancelled_mid_write_leaves_one_unknown_line(tmp_path):
    audit = tmp_path / "audit.jsonl"
    with FakeCloudflare() as fake:
        client = RawClient(env_for(fake), args=("--audit-log", str(audit)))
        try:
            client.initialize()
            fake.script(Fault(200, ENVELOPE, delay=3))
            client.next_id += 1
            cancelled_id = client.next_id
            client._send(
                {
                    "jsonrpc": "2.0",
                    "id": cancelled_id,
                    "method": "tools/call",
                    "params": {"name": "update_oauth_client", "arguments": rename()},
                }
            )
            wait_for(lambda: fake.hits >= 1)  # the PATCH has left
            client._send(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": cancelled_id, "reason": "user"},
                }
            )
            after = client.text("get_oauth_client", {"oauth_client_id": CLIENT})  # the server goes on
        finally:
            client.close()
    assert not after[0]
    lines = audit_lines(audit)
    assert [(line["outcome"], line["reason"]) for line in lines] == [("unknown", "cancelled")]


def test_a_server_shut_down_mid_write_still_writes_its_one_unknown_line(tmp_path):
    audit = tmp_path / "audit.jsonl"
    with FakeCloudflare() as fake:
        client = RawClient(env_for(fake), args=("--audit-log", str(audit)))
        client.initialize()
        fake.script(Fault(200, ENVELOPE, delay=3))
        client.next_id += 1
        client._send(
            {
                "jsonrpc": "2.0",
                "id": client.next_id,
                "method": "tools/call",
                "params": {"name": "update_oauth_client", "arguments": rename()},
            }
        )
        wait_for(lambda: fake.hits >= 1)
        client.close()  # stdin closes: the MCP client went away mid-write
    assert [line["outcome"] for line in audit_lines(audit)] == ["unknown"]


@pytest.mark.anyio
async def test_our_own_failure_after_the_request_left_is_recorded_as_unknown(tmp_path, monkeypatch):
    def broken(client):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(operations, "guidance_for", broken)
    emulator = CloudflareEmulator(tokens={TOKEN})
    audit = tmp_path / "audit.jsonl"
    server = build_server(
        settings_for("https://api.example.test/client/v4", audit_log=str(audit)), transport=mock_transport(emulator)
    )
    async with Client(server) as client:
        result = await client.call_tool("update_oauth_client", rename())
    assert result.is_error and "Internal error" in result.content[0].text
    assert [(r.method, r.body) for r in emulator.requests] == [("PATCH", {"client_name": "Audited"})]
    assert [(line["outcome"], line["reason"]) for line in audit_lines(audit)] == [("unknown", "internal_error")]


def test_line_separators_in_a_value_never_split_the_audit_line(tmp_path):
    # A caller's name with these characters is refused before anything is sent; Cloudflare's stored one is the
    # value that reaches the audit line (as "before"), so that is where they are planted.
    audit = tmp_path / "audit.jsonl"
    name = "a\u2028b\u2029c\u0085d\x1be"
    with FakeCloudflare() as fake:
        fake.emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = name
        client = RawClient(env_for(fake), args=("--audit-log", str(audit)))
        try:
            client.initialize()
            # with a list edit, so the client is read first and its stored name becomes the "before"
            client.call("update_oauth_client", rename("Plain", add={"scopes": ["profile"]}))
        finally:
            client.close()
    text = audit.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 1  # str.splitlines breaks on U+2028, U+2029 and U+0085
    before = next(c["before"] for c in json.loads(text)["changes"] if c["field"] == "client_name")
    assert before == "a\\u2028b\\u2029c\\u0085d\\u001be"  # escaped where it came in, visible, not dropped


def test_an_audit_log_that_cannot_take_the_line_yet_does_not_stall_other_calls(tmp_path):
    audit = tmp_path / "audit.fifo"
    os.mkfifo(audit)  # opening it for writing blocks until a reader comes: a disk that hangs
    answers: list = []
    with FakeCloudflare() as fake:
        client = RawClient(env_for(fake), args=("--audit-log", str(audit)))

        def calls() -> None:
            client.initialize()
            answers.append(client.text("update_oauth_client", rename()))
            answers.append(client.text("get_oauth_client", {"oauth_client_id": CLIENT}))

        worker = threading.Thread(target=calls, daemon=True)
        worker.start()
        worker.join(timeout=10)  # hang detection only
        stalled = worker.is_alive()
        with open(audit, encoding="utf-8") as reader:  # now a reader comes; the line arrives
            if stalled:
                client.proc.kill()
            else:
                client.proc.stdin.close()
            line = reader.readline()
        client.proc.wait(timeout=10)
    assert not stalled and [a[0] for a in answers] == [False, False]
    assert json.loads(line)["outcome"] == "applied"


def test_audit_line_escapes_every_hidden_character_and_reads_back_unchanged():
    value = "x\u2028\u2029\u0085\x00\x1b\u202e\u200b\ud800\U000e0041\ue000y"
    line = AuditLog(secrets=[TOKEN]).line({"value": value, "token": f"echo {TOKEN}"})
    assert line.isprintable() and len(line.splitlines()) == 1
    entry = json.loads(line)
    assert entry["value"] == value and entry["token"] == "echo [REDACTED]"


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
