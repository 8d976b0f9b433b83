"""What the tool definitions cost in context: cl100k tokens of name + description + inputSchema, per tool.

The count is taken on the JSON of each `tools/list` entry as a model receives it (those three keys,
`json.dumps` with its default separators), with the cl100k_base encoding that `bpe-openai` ships inside
its wheel, so nothing is downloaded. Run: `python benchmarks/tool_tokens.py` (needs the test extras).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp import Client  # noqa: E402

from mcp_oauth_clients.config import Settings  # noqa: E402
from mcp_oauth_clients.server import build_server  # noqa: E402

# Issue 18's budget for the nine tools together, and issue 10's for the largest one alone.
BUDGET_TOTAL = 2700
BUDGET_UPDATE = 1100
SEEN_KEYS = ("name", "description", "inputSchema")


async def served_tools(settings: Settings | None = None) -> list[dict]:
    """The `tools/list` entries as a client receives them."""
    async with Client(build_server(settings or Settings(sandbox=True))) as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


def tokens_per_tool(tools: list[dict]) -> dict[str, int]:
    """cl100k tokens of each tool's name, description and inputSchema, as JSON."""
    import bpe_openai

    encoding = bpe_openai.get_encoding("cl100k_base")
    return {t["name"]: len(encoding.encode(json.dumps({k: t[k] for k in SEEN_KEYS if k in t}))) for t in tools}


def main() -> None:
    counts = tokens_per_tool(anyio.run(served_tools))
    for name, count in counts.items():
        print(f"{name:28} {count:6,}")
    print(f"{'total':28} {sum(counts.values()):6,}   (budget {BUDGET_TOTAL:,}; update_oauth_client {BUDGET_UPDATE:,})")


if __name__ == "__main__":
    main()
