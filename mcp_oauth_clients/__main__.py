"""`python -m mcp_oauth_clients` runs the same CLI as the console script."""

from mcp_oauth_clients.cli import script

if __name__ == "__main__":
    raise SystemExit(script())
