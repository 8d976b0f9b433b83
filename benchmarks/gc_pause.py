"""A full pass of the cyclic garbage collector in a started server: with start-up frozen, as the console script
does (`cli.script`), and without. Python runs a full pass on its own every so often (at most once per 25% growth
of the long-lived objects); without freezing, each pass walks every object start-up made and holds up whatever
call is running.

Each figure is the median of 5 fresh processes, each building the server as the script does."""

from __future__ import annotations

import subprocess
import sys

from _common import ROOT, machine, median

PROBE = """
import gc, sys, time
gc.disable()
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server
build_server(Settings.load({}, None))
if sys.argv[1] == "frozen":
    gc.freeze()
gc.enable()
started = time.perf_counter()
gc.collect()
print((time.perf_counter() - started) * 1000, len(gc.get_objects()), gc.get_freeze_count())
"""


def full_pass(mode: str) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, cwd=ROOT, check=True)
    ms, tracked, frozen = out.stdout.split()
    return float(ms), int(tracked), int(frozen)


def main() -> None:
    print(f"machine: {machine()}")
    print("one full collection in a started server, median of 5 processes")
    for mode in ("frozen", "not frozen"):
        runs = [full_pass(mode) for _ in range(5)]
        print(
            f"  start-up {mode:10}  {median([r[0] for r in runs]):6.1f} ms"
            f"  (objects it walks: {runs[0][1]:,}; frozen: {runs[0][2]:,})"
        )


if __name__ == "__main__":
    main()
