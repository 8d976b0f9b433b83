"""Per-call overhead: the median latency of a rename through update_oauth_client over stdio against the
loopback fake, interleaved call by call with the floor: the smallest MCPServer tool making the same requests
through one shared httpx.AsyncClient (read the client, then PATCH it, as every write of ours must: a write is
planned against the client as stored). Target: <= 1 ms added per call.

Ours runs twice: with the audit log in a file (an operator's setup: the intent line is written on the event
loop, microseconds) and with the default, stderr (a pipe the client may stop reading, so the intent line is
written from a worker thread with a bound, and the call pays the two thread switches). The floor that sends
the PATCH alone is shown too, so the read's own cost is in plain view.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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
    with FakeCloudflare() as fake, tempfile.TemporaryDirectory() as folder:
        audit_file = Path(folder) / "audit.jsonl"
        runs = {
            "ours, audit log in a file": (
                StdioPeer(OURS, fake_backend_env(fake, str(audit_file))),
                "update_oauth_client",
            ),
            "ours, audit log on stderr": (StdioPeer(OURS, fake_backend_env(fake, None)), "update_oauth_client"),
            "floor, read then PATCH": (StdioPeer(FLOOR, fake_backend_env(fake)), "read_then_rename"),
        }
        runs["floor, PATCH alone"] = (runs["floor, read then PATCH"][0], "rename")
        times: dict[str, list[float]] = {label: [] for label in runs}
        for peer, _ in runs.values():
            if peer.next_id == 0:
                peer.initialize()
        labels = list(runs)
        for i in range(args.calls + 20):  # the first 20 of each warm up and are not counted
            for label in labels[i % len(labels) :] + labels[: i % len(labels)]:  # each goes first in turn
                peer, tool = runs[label]
                times[label].append(timed(peer, tool, {"oauth_client_id": DEMO_CLIENT_ID, "client_name": f"R {i}"}))
        requests = len([r for r in fake.requests if r.method == "PATCH"])
        audited = len(audit_file.read_text().splitlines())
        for peer, _ in list(runs.values())[:3]:
            peer.close()
    medians = {label: median(values[20:]) * 1000 for label, values in times.items()}
    floor = medians["floor, read then PATCH"]
    print(f"machine: {machine()}")
    print(f"rename over stdio against the loopback fake, {args.calls} interleaved calls each")
    for label, value in medians.items():
        added = f"  added {value - floor:+.2f} ms" if label.startswith("ours") else ""
        print(f"  {label:28s} median {value:6.2f} ms{added}")
    for label in labels[:2]:
        added = medians[label] - floor
        print(
            f"  {label}: {added:+.2f} ms over the floor making the same requests "
            f"(target <= 1 ms: {'meets' if added <= 1 else 'MISSES'})"
        )
    print(
        f"  PATCH requests seen by the fake: {requests} for {len(runs) * (args.calls + 20)} calls; "
        f"audit file lines: {audited}"
    )


if __name__ == "__main__":
    main()
