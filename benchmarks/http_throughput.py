"""HTTP throughput: renames per second over streamable HTTP (stateless, JSON answers) against the loopback
fake, with 1, 8 and 32 concurrent clients, and the error count (target: zero)."""

from __future__ import annotations

import argparse
import socket
import subprocess
import time

import anyio
import httpx
from _common import OURS, fake_backend_env, machine

from mcp_oauth_clients.emulator import DEMO_CLIENT_ID
from tests.fake_cloudflare import FakeCloudflare

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-06-18",
}


async def run(base: str, concurrency: int, seconds: float) -> tuple[int, int, float]:
    done = errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30, limits=limits) as http:

        async def worker(n: int) -> None:
            nonlocal done, errors
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                body = {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "tools/call",
                    "params": {
                        "name": "update_oauth_client",
                        "arguments": {"oauth_client_id": DEMO_CLIENT_ID, "client_name": f"w{n}-{i}"},
                    },
                }
                try:
                    answer = await http.post("/mcp", json=body)
                    ok = answer.status_code == 200 and not answer.json()["result"].get("isError")
                except (httpx.HTTPError, KeyError, ValueError):
                    ok = False
                done += ok
                errors += not ok

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for n in range(concurrency):
                group.start_soon(worker, n)
        return done, errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FakeCloudflare() as fake:
        env = fake_backend_env(fake)
        server = subprocess.Popen(
            [*OURS, "--transport", "streamable-http", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            print(f"machine: {machine()}")
            print(f"renames over streamable HTTP against the loopback fake, {args.seconds:g} s per level")
            for concurrency in (1, 8, 32):
                done, errors, elapsed = anyio.run(run, base, concurrency, args.seconds)
                print(
                    f"  {concurrency:>2} concurrent clients: {done / elapsed:7.1f} calls/s, {done} calls, "
                    f"{errors} errors"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
