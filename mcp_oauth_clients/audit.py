"""One JSON line per write attempt, to stderr or an append-only file. Never a secret."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


class AuditLog:
    """Where write attempts are recorded: time, account, client, fields, before/after, outcome, request id."""

    def __init__(self, path: str | None = None, secrets: list[str] | None = None) -> None:
        self.path = path
        self._secrets = [s for s in secrets or [] if len(s) >= 4]
        self._lock = threading.Lock()
        self._file: TextIO | None = None  # opened on the first write attempt, kept open, flushed per line

    def record(self, **entry: Any) -> None:
        """Append one line; a failure to write the audit log is reported on stderr, never raised."""
        line = json.dumps(
            {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": "write_attempt", **entry},
            default=str,
            ensure_ascii=False,
        )
        for secret in self._secrets:  # defence in depth: no caller passes a secret
            line = line.replace(secret, "[REDACTED]")
        with self._lock:
            try:
                if self.path is None:
                    _write(sys.stderr, line)
                else:
                    if self._file is None:
                        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the process
                    _write(self._file, line)
            except OSError as exc:
                print(f"mcp-oauth-clients: cannot write the audit log {self.path}: {exc.strerror}", file=sys.stderr)


def _write(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()
