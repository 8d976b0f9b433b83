#!/usr/bin/env bash
# Lists and calls the tools of the installed console script in --sandbox mode over stdio with the MCP
# Inspector CLI (npm @modelcontextprotocol/inspector 0.15.0, installed into .cache/npm-tools).
# Usage: scripts/inspector.sh [path/to/mcp-oauth-clients]
set -euo pipefail
cd "$(dirname "$0")/.."
server_cmd=${1:-.venv/bin/mcp-oauth-clients}
python=${PYTHON:-.venv/bin/python}
"$python" -c "import sys; sys.path.insert(0, '.'); from tests.npm_tools import install; install()"
inspector=.cache/npm-tools/node_modules/.bin/mcp-inspector
echo "== tools/list"
"$inspector" --cli "$server_cmd" --sandbox --method tools/list
echo "== tools/call update_oauth_client"
"$inspector" --cli "$server_cmd" --sandbox --method tools/call --tool-name update_oauth_client \
  --tool-arg oauth_client_id=a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4 --tool-arg "client_name=From Inspector"
