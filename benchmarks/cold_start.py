"""Cold start: spawn the server, `initialize`, `tools/list` answered.

Ours against the floor (the smallest MCPServer with one trivial tool on the same SDK,
benchmarks/floor_minimal.py), alternated pair by pair so that machine noise cancels; the figure is the
median of the per-pair ratios. Target: <= 1.10.

The package is byte-compiled first, as every install from a wheel is: the SDK (in site-packages) is, and
an editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile our modules from source at
every start, which measured ~100-150 ms here and is no part of what a user's start-up costs."""

from __future__ import annotations

import argparse
import compileall
import time

from _common import FLOOR_MINIMAL as FLOOR
from _common import OURS, ROOT, StdioPeer, clean_env, machine, median


def start_to_tools_list(command: list[str]) -> float:
    started = time.perf_counter()
    peer = StdioPeer(command, clean_env())
    peer.initialize()
    tools = peer.request("tools/list")
    elapsed = time.perf_counter() - started
    assert tools["result"]["tools"], tools
    peer.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "mcp_oauth_clients", quiet=1)  # the __pycache__ is git-ignored
    start_to_tools_list(OURS)  # warm the file cache for both before measuring
    start_to_tools_list(FLOOR)
    ours, floor, ratios = [], [], []
    for i in range(args.pairs):
        pair = [(OURS, ours), (FLOOR, floor)] if i % 2 == 0 else [(FLOOR, floor), (OURS, ours)]
        for command, times in pair:
            times.append(start_to_tools_list(command))
        ratios.append(ours[-1] / floor[-1])
    print(f"machine: {machine()}")
    print(f"cold start to tools/list, {args.pairs} alternated pairs")
    print(f"  ours   median {median(ours) * 1000:7.1f} ms")
    print(f"  floor  median {median(floor) * 1000:7.1f} ms")
    verdict = "meets" if median(ratios) <= 1.10 else "MISSES"
    print(f"  median per-pair ratio {median(ratios):.3f} (target <= 1.10: {verdict})")


if __name__ == "__main__":
    main()
