"""Requests per call, counted by the loopback fake; the budgets are asserted in tests/test_request_counts.py."""

from __future__ import annotations

import anyio
from _common import machine

from tests.test_request_counts import LIMITS, measure_counts

if __name__ == "__main__":
    print(f"machine: {machine()}")
    for label, count in anyio.run(measure_counts).items():
        limit = LIMITS.get(label)
        print(f"  {label:<48} {count} request(s)" + (f"  (budget {limit})" if limit else ""))
