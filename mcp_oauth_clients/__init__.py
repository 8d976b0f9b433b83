"""mcp-oauth-clients: an MCP server that changes a Cloudflare OAuth client safely."""

__version__ = "0.1.0"
