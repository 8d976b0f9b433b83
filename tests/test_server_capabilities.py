"""What the server advertises at the handshake: only what it serves (tools), in both protocol eras."""

from __future__ import annotations

import pytest
from mcp import Client, MCPError

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.server import build_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_server_advertises_tools_only_and_no_prompts_or_resources_it_would_list_empty(mode):
    kwargs = {"mode": mode} if mode == "legacy" else {}
    async with Client(build_server(Settings(sandbox=True)), **kwargs) as client:
        capabilities = client.server_capabilities
        assert capabilities.tools is not None and not capabilities.tools.list_changed
        assert capabilities.prompts is None and capabilities.resources is None
        with pytest.raises(MCPError, match="[Mm]ethod not found"):
            await client.list_prompts()
        assert len((await client.list_tools()).tools) == 9
