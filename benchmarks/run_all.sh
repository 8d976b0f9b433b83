#!/usr/bin/env bash
# Runs every benchmark in turn with the project's virtual environment (make it with the README's test
# command first). Run it on a quiet machine: other load skews the side-by-side figures.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
for bench in tool_tokens cold_start gc_pause per_call requests_per_call memory http_throughput; do
  echo "== $bench"
  "$py" "benchmarks/$bench.py"
done
