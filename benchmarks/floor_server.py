"""The floor: the smallest MCPServer on the same SDK, with one tool that sends the same PATCH through one
shared httpx.AsyncClient. What the SDK costs and no more; our server is measured against it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.server.mcpserver import Context, MCPServer

BASE = os.environ.get("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/client/v4")
TOKEN = os.environ.get("CLOUDFLARE_API_TOKEN", "")
ACCOUNT = os.environ.get("CLOUDFLARE_ACCOUNT_ID", "023e105f4ecef8ad9ca31a8372d0c353")


@asynccontextmanager
async def lifespan(_: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=BASE, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


server = MCPServer("floor", lifespan=lifespan)


@server.tool()
async def rename(oauth_client_id: str, client_name: str, ctx: Context) -> dict:
    """Rename an OAuth client."""
    http: httpx.AsyncClient = ctx.request_context.lifespan_context
    answer = await http.patch(f"/accounts/{ACCOUNT}/oauth_clients/{oauth_client_id}", json={"client_name": client_name})
    return answer.json()["result"]


if __name__ == "__main__":
    server.run("stdio")
