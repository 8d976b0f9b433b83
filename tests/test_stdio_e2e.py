"""End to end: the installed console script over stdio against the loopback fake.

Two clients: a raw JSON-RPC client that sends `initialize` with protocol 2025-06-18, as desktop
clients in the field do, and the SDK's default `Client`. Every byte on stdout must be JSON-RPC, and
the token must appear nowhere: not on stdout, not on stderr (logging at DEBUG), not in any result. What the
server does with a missing token, a found `.env` or `--sandbox`, and `--help`, are shown in this process.
"""

from __future__ import annotations

import json

import pytest
from mcp import Client, StdioServerParameters

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.tools import tool_table
from tests.conftest import ACCOUNT, CLIENT, MemoryClient, server_stderr
from tests.fake_cloudflare import TOKEN, Fault
from tests.stdio_client import SCRIPT, RawClient, clean_env, fake_env


@pytest.mark.e2e
def test_desktop_client_on_2025_06_18_lists_calls_and_sees_no_secret(fake):
    client = RawClient(fake_env(fake))
    try:
        init = client.initialize()
        assert init["result"]["protocolVersion"] == "2025-06-18"
        assert init["result"]["serverInfo"]["name"] == "mcp-oauth-clients"
        tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
        schema = tools["update_oauth_client"]["inputSchema"]
        assert len(schema["properties"]) == 21 and schema["required"] == ["oauth_client_id"]
        assert tools["update_oauth_client"]["annotations"]["destructiveHint"] is True

        renamed = client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Over stdio"})
        assert not renamed.get("isError")
        assert renamed["structuredContent"]["client"]["client_name"] == "Over stdio"
        assert 'client_name: "Demo OAuth App" -> "Over stdio"' in renamed["content"][0]["text"]  # read first

        refused = client.call("update_oauth_client", {"oauth_client_id": CLIENT, "redirect_uri": ["https://x.io/cb"]})
        assert refused["isError"] and "did you mean 'redirect_uris'" in refused["content"][0]["text"]

        fake.script(Fault(status=503, body="<html><h1>503</h1></html>", headers={"content-type": "text/html"}))
        retried = client.call("get_oauth_client", {"oauth_client_id": CLIENT})
        assert not retried.get("isError")
    finally:
        stderr = client.close()
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert [r.body for r in patches] == [{"client_name": "Over stdio"}]  # the refused call sent nothing
    assert patches[0].path == f"/client/v4/accounts/{ACCOUNT}/oauth_clients/{CLIENT}"
    assert patches[0].headers["authorization"] == f"Bearer {TOKEN}"
    stdout = "".join(client.stdout_lines)
    assert TOKEN not in stdout and TOKEN not in stderr
    assert "DEBUG" in stderr or "INFO" in stderr or stderr == ""  # logs go to stderr only
    assert client.proc.returncode == 0


@pytest.mark.e2e
@pytest.mark.anyio
async def test_sdk_default_client_over_stdio(fake, tmp_path):
    stderr_file = tmp_path / "stderr.log"
    params = StdioServerParameters(command="sh", args=["-c", f'exec "{SCRIPT}" 2>>"{stderr_file}"'], env=fake_env(fake))
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        assert [t.name for t in tools] == [spec.name for spec in tool_table(Settings())] and len(tools) == 9
        ok = await client.call_tool(
            "update_oauth_client", {"oauth_client_id": CLIENT, "redirect_uris": ["https://app.example.com/cb"]}
        )
        assert not ok.is_error and ok.structured_content["sent"] == {"redirect_uris": ["https://app.example.com/cb"]}

        fake.script(
            Fault(
                status=429,
                body={
                    "success": False,
                    "errors": [{"code": 971, "message": "Rate limited"}],
                    "messages": [],
                    "result": None,
                },
                headers={"retry-after": "300"},
            )
        )
        limited = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
        assert limited.is_error and "wait until" in limited.content[0].text

        fake.emulator.tokens = {"another-token"}
        denied = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
        assert denied.is_error and "OAuth Client Read" in denied.content[0].text
        texts = json.dumps([ok.structured_content, limited.content[0].text, denied.content[0].text])
    assert TOKEN not in texts
    assert TOKEN not in stderr_file.read_text()


def test_missing_token_server_starts_and_explains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client = MemoryClient(clean_env(CLOUDFLARE_ACCOUNT_ID=ACCOUNT, CLOUDFLARE_BASE_URL="http://127.0.0.1:9/client/v4"))
    try:
        result = client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    finally:
        client.close()
    assert result["isError"] and "CLOUDFLARE_API_TOKEN" in result["content"][0]["text"]


def test_dotenv_in_the_working_directory_is_loaded(fake, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"CLOUDFLARE_API_TOKEN={TOKEN}\nCLOUDFLARE_ACCOUNT_ID={ACCOUNT}\n")
    monkeypatch.chdir(tmp_path)
    # Where requests go is the operator's: a .env found in the working directory may not set it.
    env = clean_env(CLOUDFLARE_BASE_URL=fake.base_url, MCP_OAUTH_CLIENTS_LOG_LEVEL="DEBUG")
    with server_stderr(Settings.load(env)) as stderr:
        client = MemoryClient(env)
        try:
            result = client.call("get_oauth_client", {"oauth_client_id": CLIENT})
        finally:
            client.close()
    assert not result.get("isError"), result
    assert fake.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in stderr.getvalue() + json.dumps(result)


def test_sandbox_needs_no_credentials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client = MemoryClient(clean_env(MCP_OAUTH_CLIENTS_SANDBOX="1"))  # what --sandbox sets
    try:
        result = client.call("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Tried"})
    finally:
        client.close()
    assert not result.get("isError"), result
    assert result["content"][0]["text"].startswith("[SANDBOX]")
    assert result["structuredContent"]["sandbox"] is True


def test_help_lists_every_flag_and_variable(cli):
    from mcp_oauth_clients.config import VARIABLES

    done = cli(["--help"], clean_env())
    out = done.stdout
    assert done.returncode == 0
    for name in [*VARIABLES, "--sandbox", "--env-file"]:
        assert name in out
