"""One JSON line per write attempt, to stderr or an append-only file. Never a secret, never two lines.

`record` only queues the line: a background thread writes and flushes it, so a slow disk never
blocks the event loop. The queue is drained when the server's lifespan ends and again at process
exit, so a line recorded while a call is being cancelled still reaches the file.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import stat
import sys
import threading
import time
from typing import Any, TextIO

from mcp_oauth_clients.untrusted import HIDDEN_CATEGORIES, redact

_STOP = object()


class AuditLog:
    """Where write attempts are recorded: time, account, client, fields, before/after, outcome, request id."""

    def __init__(self, path: str | None = None, secrets: list[str] | None = None) -> None:
        self.path = path
        self._secrets = list(secrets or [])
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first record
        self._file: TextIO | None = None  # opened on the first write attempt, kept open, flushed per line

    def record(self, **entry: Any) -> None:
        """Queue one line; never blocks on I/O and never raises (a write failure is reported on stderr)."""
        self._queue.put(self.line(entry))
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_lines, name="audit-log", daemon=True)
                self._writer.start()
                atexit.register(self.close)

    def line(self, entry: dict[str, Any]) -> str:
        """The entry as one JSON line: secrets redacted, every character that could break a line escaped.

        json.dumps(ensure_ascii=False) escapes C0 controls but leaves U+0085, U+2028, U+2029 (and other
        hidden characters) raw: some readers split lines on them, so they are escaped here too.
        """
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": "write_attempt", **entry}
        text = json.dumps(redact(entry, self._secrets), default=str, ensure_ascii=False)
        return "".join(_escape_for_json(ch) for ch in text) if not text.isprintable() else text

    def close(self) -> None:
        """Write every queued line, then stop the writer (idempotent)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(_STOP)
            writer.join(timeout=10)
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write_lines(self) -> None:
        while (line := self._queue.get()) is not _STOP:
            try:
                if self.path is None:
                    _write(sys.stderr, line)
                else:
                    if self._file is None:
                        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the process
                    _write(self._file, line)
            except OSError as exc:
                print(f"mcp-oauth-clients: cannot write the audit log {self.path}: {exc.strerror}", file=sys.stderr)


def cannot_write(path: str) -> str | None:
    """Why the audit log at `path` cannot be appended to, or None; checked without opening anything.

    A FIFO or a device (/dev/stderr, a log shipper's pipe) is accepted as it is: opening one for writing
    can block until a reader comes, which the writer thread may wait for, but start-up must not.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            return f"no folder {folder}"
        return None if os.access(folder, os.W_OK) else f"the folder {folder} is not writable"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if stat.S_ISREG(mode) and not os.access(path, os.W_OK):
        return "permission denied"
    return None


def _escape_for_json(ch: str) -> str:
    """`ch` as JSON-escaped text when it is a hidden or line-breaking character (json.dumps leaves these raw)."""
    import unicodedata

    return json.dumps(ch)[1:-1] if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch


def _write(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()
