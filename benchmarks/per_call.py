"""Per-call overhead: the median latency of a rename through update_oauth_client over stdio against the
loopback fake, alternated call by call with the floor (the smallest MCPServer tool sending the same PATCH
through one shared httpx.AsyncClient). Target: <= 1 ms added per call."""

from __future__ import annotations

import argparse
import time

from _common import FLOOR, OURS, StdioPeer, fake_backend_env, machine, median

from mcp_oauth_clients.emulator import DEMO_CLIENT_ID
from tests.fake_cloudflare import FakeCloudflare


def timed(peer: StdioPeer, name: str, arguments: dict) -> float:
    started = time.perf_counter()
    answer = peer.call(name, arguments)
    elapsed = time.perf_counter() - started
    assert "result" in answer and not answer["result"].get("isError"), answer
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with FakeCloudflare() as fake:
        env = fake_backend_env(fake)
        ours, floor = StdioPeer(OURS, env), StdioPeer(FLOOR, env)
        for peer in (ours, floor):
            peer.initialize()
        ours_times, floor_times = [], []
        for i in range(args.calls + 20):  # the first 20 of each warm up and are not counted
            name = f"Renamed {i}"
            pair = [(ours, ours_times, "update_oauth_client"), (floor, floor_times, "rename")]
            for peer, times, tool in pair if i % 2 == 0 else reversed(pair):
                times.append(timed(peer, tool, {"oauth_client_id": DEMO_CLIENT_ID, "client_name": name}))
        requests = len([r for r in fake.requests if r.method == "PATCH"])
        ours.close()
        floor.close()
    ours_times, floor_times = ours_times[20:], floor_times[20:]
    added = (median(ours_times) - median(floor_times)) * 1000
    print(f"machine: {machine()}")
    print(f"rename over stdio against the loopback fake, {args.calls} alternated calls each")
    print(f"  ours   median {median(ours_times) * 1000:6.2f} ms")
    print(f"  floor  median {median(floor_times) * 1000:6.2f} ms")
    print(f"  added per call {added:+.2f} ms (target <= 1 ms: {'meets' if added <= 1 else 'MISSES'})")
    print(f"  PATCH requests seen by the fake: {requests} for {2 * (args.calls + 20)} calls")


if __name__ == "__main__":
    main()
