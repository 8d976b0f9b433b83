"""The floor: the smallest MCPServer on the same SDK, with tools that send the same requests through one
shared httpx.AsyncClient. What the SDK and the requests cost and no more; our server is measured against it.

`rename` sends the PATCH alone; `read_then_rename` first reads the client, as every write of ours must
(a write is planned against the client as stored), so the two make the same requests."""

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


@server.tool()
async def read_then_rename(oauth_client_id: str, client_name: str, ctx: Context) -> dict:
    """Read an OAuth client, then rename it."""
    http: httpx.AsyncClient = ctx.request_context.lifespan_context
    path = f"/accounts/{ACCOUNT}/oauth_clients/{oauth_client_id}"
    (await http.get(path)).json()
    answer = await http.patch(path, json={"client_name": client_name})
    return answer.json()["result"]


if __name__ == "__main__":
    server.run("stdio")
