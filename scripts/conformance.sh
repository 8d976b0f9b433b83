#!/usr/bin/env bash
# Runs the MCP conformance scenarios that apply to any server against our streamable-HTTP transport
# (the sandbox, on a free loopback port). Needs Node 20 + npm; installs Node 22 and the suite into
# .cache/npm-tools. Usage: scripts/conformance.sh [path/to/mcp-oauth-clients]
set -euo pipefail
cd "$(dirname "$0")/.."
server_cmd=${1:-.venv/bin/mcp-oauth-clients}
python=${PYTHON:-.venv/bin/python}
"$python" -c "import sys; sys.path.insert(0, '.'); from tests.npm_tools import install; install()"
bin=.cache/npm-tools/node_modules/.bin
port=$("$python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$server_cmd" --sandbox --transport streamable-http --port "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
"$python" - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY
failed=0
for scenario in server-initialize ping tools-list dns-rebinding-protection server-sse-multiple-streams; do
  out=$("$bin/node" "$bin/conformance" server --url "http://127.0.0.1:$port/mcp" --scenario "$scenario" 2>&1) || failed=1
  summary=$(printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^Passed:' || echo "no result")
  printf '%-30s %s\n' "$scenario" "$summary"
  if printf '%s\n' "$summary" | grep -qvE ', 0 failed'; then failed=1; fi
done
exit $failed
