"""Shared by the benchmarks: a raw JSON-RPC stdio client, process memory, the machine, medians."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
OURS = [str(BIN / "mcp-oauth-clients")]
FLOOR = [sys.executable, str(Path(__file__).with_name("floor_server.py"))]
FLOOR_MINIMAL = [sys.executable, str(Path(__file__).with_name("floor_minimal.py"))]
INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}


class StdioPeer:
    """A server process spoken to over stdio with line-delimited JSON-RPC."""

    def __init__(self, command: list[str], env: dict[str, str], *, stderr_pipe: bool = False) -> None:
        """`stderr_pipe`: the server's stderr is a pipe this process drains (as an MCP client's log is), not
        /dev/null."""
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr_pipe else subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        self.next_id = 0
        if stderr_pipe:
            threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()

    @staticmethod
    def _drain(stream) -> None:
        while stream.read(65536):
            pass

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user + system), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self.proc.stdin.write(
            json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}) + "\n"
        )
        self.proc.stdin.flush()
        while True:
            message = json.loads(self.proc.stdout.readline())
            if message.get("id") == self.next_id:
                return message

    def initialize(self) -> None:
        self.request("initialize", INIT)
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        self.proc.stdin.flush()

    def call(self, name: str, arguments: dict) -> dict:
        return self.request("tools/call", {"name": name, "arguments": arguments})

    def rss_kib(self) -> tuple[int, int]:
        """(current RSS, peak RSS) in KiB, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def fake_backend_env(fake, audit_log: str | None = os.devnull) -> dict[str, str]:
    """The environment that points a server (ours or the floor) at the loopback fake; the audit log goes to
    `audit_log` (discarded by default; None leaves the server's default, stderr)."""
    from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID
    from tests.fake_cloudflare import TOKEN

    audit = {"MCP_OAUTH_CLIENTS_AUDIT_LOG": audit_log} if audit_log is not None else {}
    return clean_env(
        CLOUDFLARE_API_TOKEN=TOKEN,
        CLOUDFLARE_BASE_URL=fake.base_url,
        CLOUDFLARE_ACCOUNT_ID=DEMO_ACCOUNT_ID,
        **audit,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "MCP_OAUTH_CLIENTS_"))}
    env.update(extra)
    return env


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
