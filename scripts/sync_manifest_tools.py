"""Write the served tools' names and descriptions into manifest.json (the bundle lists them for the directory).

Run after a tool is added or its description changes; tests/test_outside_checks.py fails until they agree.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from mcp import Client

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"


async def served_tools() -> list[dict[str, str]]:
    async with Client(build_server(Settings(sandbox=True))) as client:
        return [{"name": t.name, "description": t.description or ""} for t in (await client.list_tools()).tools]


def main() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    manifest["tools"] = asyncio.run(served_tools())
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
