"""Memory: peak RSS after 1,000 renames over stdio against the loopback fake, ours against the floor
process (benchmarks/floor_server.py), plus RSS at the 100th and the 1,000th call (a leak check).
Target: peak <= 1.15x the floor, and no growth between call 100 and call 1,000 beyond noise."""

from __future__ import annotations

import argparse

from _common import FLOOR, OURS, StdioPeer, fake_backend_env, machine

from mcp_oauth_clients.emulator import DEMO_CLIENT_ID
from tests.fake_cloudflare import FakeCloudflare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with FakeCloudflare() as fake:
        env = fake_backend_env(fake)
        peers = {"ours": (StdioPeer(OURS, env), "update_oauth_client"), "floor": (StdioPeer(FLOOR, env), "rename")}
        samples: dict[str, dict[int, int]] = {name: {} for name in peers}
        for peer, _ in peers.values():
            peer.initialize()
        for i in range(1, args.calls + 1):
            for name, (peer, tool) in peers.items():
                answer = peer.call(tool, {"oauth_client_id": DEMO_CLIENT_ID, "client_name": f"Memory {i}"})
                assert "result" in answer, answer
                if i in (100, args.calls):
                    samples[name][i] = peer.rss_kib()[0]
        peaks = {name: peer.rss_kib()[1] for name, (peer, _) in peers.items()}
        for peer, _ in peers.values():
            peer.close()
    ratio = peaks["ours"] / peaks["floor"]
    print(f"machine: {machine()}")
    print(f"{args.calls} renames each over stdio against the loopback fake")
    for name in peers:
        growth = samples[name][args.calls] - samples[name][100]
        print(
            f"  {name:<6} peak RSS {peaks[name] / 1024:6.1f} MiB; RSS at call 100 {samples[name][100] / 1024:6.1f} "
            f"MiB, at call {args.calls} {samples[name][args.calls] / 1024:6.1f} MiB (growth {growth:+d} KiB)"
        )
    print(f"  peak ratio {ratio:.3f} (target <= 1.15: {'meets' if ratio <= 1.15 else 'MISSES'})")


if __name__ == "__main__":
    main()
