"""A line-delimited JSON-RPC client for the console script, speaking protocol 2025-06-18 as desktop clients do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ACCOUNT
from tests.fake_cloudflare import TOKEN

SCRIPT = str(Path(sys.executable).with_name("mcp-oauth-clients"))


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any Cloudflare or server settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "MCP_OAUTH_CLIENTS_"))}
    env.update(extra)
    return env


def fake_env(fake, **extra: str) -> dict[str, str]:
    """Settings pointing the script at the loopback fake with a good token; `extra` overrides any of them."""
    settings = {
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_BASE_URL": fake.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "MCP_OAUTH_CLIENTS_LOG_LEVEL": "DEBUG",
        "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT": "1",
    }
    return clean_env(**{**settings, **extra})


class RawClient:
    """A line-delimited JSON-RPC client speaking protocol 2025-06-18 over the script's stdio."""

    def __init__(
        self,
        env: dict[str, str],
        args: tuple[str, ...] = (),
        cwd: str | None = None,
        on_elicit: Callable[[dict], dict] | None = None,
    ) -> None:
        self.on_elicit = on_elicit  # None: the client declares no elicitation capability
        self.elicitations: list[dict] = []
        self.proc = subprocess.Popen(
            [SCRIPT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr  # all three are pipes
        self.stdin, self.stdout, self.stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        self.next_id = 0
        self.stdout_lines: list[str] = []

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        while True:
            line = self.stdout.readline()
            assert line, f"server closed stdout; stderr: {self.stderr.read()[-2000:]}"
            self.stdout_lines.append(line)
            message = json.loads(line)  # every stdout line must be JSON
            assert message["jsonrpc"] == "2.0"
            if message.get("method") == "elicitation/create" and "id" in message:
                self.elicitations.append(message["params"])
                assert self.on_elicit is not None, "server asked a client that declared no elicitation"
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": self.on_elicit(message["params"])})
            elif "method" in message and "id" in message:
                self._send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "no"}})
            elif message.get("id") == self.next_id:
                return message

    def notify(self, method: str) -> None:
        self._send({"jsonrpc": "2.0", "method": method})

    def _send(self, message: dict) -> None:
        self.stdin.write(json.dumps(message) + "\n")
        self.stdin.flush()

    def initialize(self) -> dict:
        answer = self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {"elicitation": {}} if self.on_elicit else {},
                "clientInfo": {"name": "field-desktop-client", "version": "1.0"},
            },
        )
        self.notify("notifications/initialized")
        return answer

    def call(self, name: str, arguments: dict) -> dict:
        return self.request("tools/call", {"name": name, "arguments": arguments})["result"]

    def text(self, name: str, arguments: dict) -> tuple[bool, str, dict | None]:
        """Call a tool; return (is_error, text, structuredContent)."""
        result = self.call(name, arguments)
        return bool(result.get("isError")), result["content"][0]["text"], result.get("structuredContent")

    def close(self) -> str:
        self.stdin.close()
        rest = self.stdout.read()
        self.stdout_lines.extend(rest.splitlines(keepends=True))
        stderr = self.stderr.read()
        self.proc.wait(timeout=10)
        return stderr
