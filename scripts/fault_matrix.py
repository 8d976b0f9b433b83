"""The fault matrix the tests run (tests/fault_cases.py) as a Markdown table; --write puts it in docs/faults.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fault_cases import render_table  # noqa: E402

START, END = "<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->"

if __name__ == "__main__":
    table = render_table()
    if "--write" in sys.argv:
        page = ROOT / "docs" / "faults.md"
        text = page.read_text()
        block = f"{START}\n{table}\n{END}"
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        page.write_text(text)
    print(table)
