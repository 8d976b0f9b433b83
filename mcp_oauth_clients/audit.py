"""The audit log: JSON lines to stderr or an append-only file. Never a secret; one line never splits.

A write leaves two lines with the same `attempt` id (see `write_path`):

    {"event": "write_intent", ...}   written and flushed before the request leaves; if it cannot be
                                     written, the write is refused with nothing sent (fail closed)
    {"event": "write_outcome", ...}  after: applied, nothing_to_change, refused, failed or unknown

A write refused before anything could be sent leaves only its outcome line. Other events (a DNS
lookup) are `note`d. A line is written on the caller's thread when that cannot block: no line queued
before it, no other write under way, and the log a regular file (already open and still at its path),
/dev/null, or a pipe with room for the whole line (written through a non-blocking descriptor of our own,
all or nothing); a few microseconds. (A file system that hangs, as a dead network mount can, would hang
the caller.) Otherwise an intent line is written by a worker thread the call awaits for at most
INTENT_WAIT, and an outcome line or a note is queued to a background thread, so a call being cancelled
can still record its outcome without awaiting anything. The queue is drained when the server's lifespan
ends and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import queue
import select
import stat
import sys
import threading
import time
import unicodedata
from typing import Any

import anyio

from mcp_oauth_clients.untrusted import HIDDEN_CATEGORIES, redacted_json

_STOP = object()
# The longest an intent line may take to reach the file (a FIFO whose reader stalls): then the write is refused.
INTENT_WAIT = 5.0


class AuditUnwritable(Exception):
    """The intent line could not be written; `reason` says why in a few words (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuditLog:
    """Where write attempts (and noted events) are recorded; `path` None means stderr."""

    def __init__(self, path: str | None = None, secrets: list[str] | None = None) -> None:
        self.path = path
        self._secrets = list(secrets or [])
        self._lock = threading.Lock()  # the writer thread's start and stop
        self._io = threading.Lock()  # one line at a time into the file, whichever thread writes it
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first queued line
        self._fd: int | None = None  # opened on the first line, reopened when the file at `path` is not it
        self._regular = False  # whether `_fd` is a regular file (a write to it cannot block)
        self._twin: tuple[int, int] | None = None  # (a descriptor, our non-blocking one on the same pipe or null)
        self._stderr: tuple[Any, int | str | None] | None = None  # (which stderr, how a line reaches it at once)
        self._pending = 0  # lines queued and not yet written

    async def intend(self, **entry: Any) -> None:
        """Write a `write_intent` line now and flush it; raise `AuditUnwritable` when it is not in the file."""
        line = self.line({"event": "write_intent", **entry})
        try:
            if self._written_inline(line):
                return
            with anyio.fail_after(INTENT_WAIT):
                await anyio.to_thread.run_sync(self._append_after_queued, line, abandon_on_cancel=True)
        except TimeoutError:
            raise AuditUnwritable(f"the audit log took longer than {INTENT_WAIT:.0f} s to take the line") from None
        except OSError as exc:
            raise AuditUnwritable(_why(exc)) from None

    def record(self, **entry: Any) -> None:
        """Write a `write_outcome` line (at once when that cannot block, else queued); never blocks on I/O and
        never raises (a failure is said on stderr)."""
        self._enqueue({"event": "write_outcome", **entry})

    def note(self, event: str, **fields: Any) -> None:
        """Write a line for an event other than a write (e.g. a DNS lookup), as `record` does."""
        self._enqueue({"event": event, **fields})

    def line(self, entry: dict[str, Any]) -> str:
        """The entry as one JSON line, timed: secrets redacted, every character that could break a line escaped.

        json.dumps(ensure_ascii=False) escapes C0 controls but leaves U+0085, U+2028, U+2029 (and other
        hidden characters) raw: some readers split lines on them, so they are escaped here too.
        """
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **entry}
        text = redacted_json(entry, self._secrets)
        return "".join(_escape_for_json(ch) for ch in text) if not text.isprintable() else text

    def close(self) -> None:
        """Write every queued line, then stop the writer (idempotent)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(_STOP)
            writer.join(timeout=10)
        # A write abandoned on a stalled FIFO may hold the lock for good: then the descriptor is left to the
        # process's exit rather than waited for.
        if self._io.acquire(timeout=INTENT_WAIT):
            try:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
                self._close_twin()
                if self._stderr is not None and isinstance(self._stderr[1], int):
                    os.close(self._stderr[1])
                self._stderr = None
            finally:
                self._io.release()

    def _enqueue(self, entry: dict[str, Any]) -> None:
        line = self.line(entry)
        try:
            if self._written_inline(line):
                return
        except OSError as exc:
            self._say_unwritable(exc)
            return
        with self._lock:
            self._pending += 1
        self._queue.put(line)
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued, name="audit-log", daemon=True)
                self._writer.start()
                atexit.register(self.close)

    def _append_after_queued(self, line: str) -> None:
        """Append `line` once every line queued before it is written, so the file keeps the order of events
        (an attempt's outcome, queued, is never written after the next attempt's intent)."""
        with self._lock:
            queued = self._pending > 0  # lines queued and not yet written (the writer counts them off)
        if queued:
            written = threading.Event()
            self._queue.put(written)
            written.wait(INTENT_WAIT)
        self._append(line)

    def _written_inline(self, line: str) -> bool:
        """Write `line` on the caller's thread if that cannot block, and say whether it was: nothing queued
        before it, no other write under way (one stuck on a stalled FIFO holds the lock: waiting for it would
        stall the event loop), and a log that takes the line at once (`_write_at_once`). Otherwise the line
        takes the thread's path, bounded, or the queue."""
        with self._lock:
            if self._pending:
                return False
        if not self._io.acquire(blocking=False):
            return False
        try:
            return self._write_at_once(line)
        finally:
            self._io.release()

    def _write_at_once(self, line: str) -> bool:
        """The caller holds `_io`. A regular file (still at `path`) takes any line; a pipe, through our own
        non-blocking descriptor, takes a line of up to PIPE_BUF bytes whole or not at all; /dev/null, any."""
        if self.path is None:
            sink = self._stderr_sink()
            if sink == "stream":
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
                return True
            return isinstance(sink, int) and _written_whole(sink, line)
        if self._fd is None or not self._still_at_path(self._fd):
            return False
        if self._regular:
            self._write_all(self._fd, line)
            return True
        twin = self._twin_of(self._fd)
        return twin is not None and _written_whole(twin, line)

    def _stderr_sink(self) -> int | str | None:
        """How a line reaches stderr at once: "stream" (a regular file: sys.stderr itself), a non-blocking
        descriptor of our own (a pipe, /dev/null), or None (a terminal, a socket, a stand-in object: the thread)."""
        try:
            held = os.fstat(sys.stderr.fileno())  # what stderr is now: a redirect (dup2) may have replaced it
            now: tuple[Any, ...] = (sys.stderr, held.st_dev, held.st_ino)
        except (AttributeError, OSError, ValueError):
            now, held = (sys.stderr,), None
        if self._stderr is None or self._stderr[0] != now:
            sink: int | str | None = None
            if held is not None:
                try:
                    sink = "stream" if stat.S_ISREG(held.st_mode) else _twin_for(sys.stderr.fileno())
                except (OSError, ValueError):
                    sink = None
            if self._stderr is not None and isinstance(self._stderr[1], int):
                os.close(self._stderr[1])
            self._stderr = (now, sink)
        return self._stderr[1]

    def _twin_of(self, fd: int) -> int | None:
        if self._twin is None or self._twin[0] != fd:
            self._close_twin()
            twin = _twin_for(fd)
            if twin is None:
                return None
            self._twin = (fd, twin)
        return self._twin[1]

    def _close_twin(self) -> None:
        if self._twin is not None:
            os.close(self._twin[1])
            self._twin = None

    def _write_queued(self) -> None:
        while (line := self._queue.get()) is not _STOP:
            if isinstance(line, threading.Event):  # a barrier: everything queued before it is written
                line.set()
                continue
            try:
                self._append(line)
            except OSError as exc:
                self._say_unwritable(exc)
            finally:
                with self._lock:
                    self._pending -= 1

    def _say_unwritable(self, exc: OSError) -> None:
        """Say on stderr that a line was lost; never raise (stderr may be the broken log itself, or absent: then
        print(file=None) would write to stdout, the JSON-RPC channel)."""
        if sys.stderr is None:
            return
        with contextlib.suppress(OSError, ValueError):
            print(f"mcp-oauth-clients: cannot write the audit log {self.path}: {_why(exc)}", file=sys.stderr)

    def _append(self, line: str) -> None:
        """Write one whole line and hand it to the kernel (so a SIGKILL after this cannot lose it)."""
        with self._io:
            if self.path is None:
                if sys.stderr is None:  # started with fd 2 closed (2>&-)
                    raise OSError(errno.EBADF, "there is no stderr")
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
                return
            self._write_all(self._current_fd(), line)

    def _write_all(self, fd: int, line: str) -> None:
        """The whole line into `fd` (the caller holds `_io`); on failure the file is closed, so a half-written
        line is never continued by the next one."""
        try:
            view = memoryview((line + "\n").encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.close(fd)
            self._fd = None
            self._close_twin()
            raise

    def _current_fd(self) -> int:
        """The descriptor of the file now at `path`: reopened when it was removed or replaced (rotation)."""
        assert self.path is not None
        if self._fd is not None:
            if self._still_at_path(self._fd):
                return self._fd
            os.close(self._fd)
            self._fd = None
            self._close_twin()
        self._fd = _open_for_append(self.path)
        self._regular = stat.S_ISREG(os.fstat(self._fd).st_mode)
        return self._fd

    def _still_at_path(self, fd: int) -> bool:
        """Whether `fd` is the file now at `path` (not removed or replaced, as by rotation)."""
        assert self.path is not None
        held = os.fstat(fd)
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _open_for_append(path: str) -> int:
    """Open `path` to append; a FIFO without a reader is an error at once (ENXIO), not a wait."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
    os.set_blocking(fd, True)  # O_NONBLOCK was for the open only; a slow reader is bounded by INTENT_WAIT
    return fd


def _twin_for(fd: int) -> int | None:
    """Our own non-blocking descriptor on what `fd` writes to, when that is a pipe (reopened through /proc, so
    `fd`'s own flags, shared with whoever passed it to us, stay as they are) or /dev/null; else None."""
    mode = os.fstat(fd)
    if stat.S_ISCHR(mode.st_mode) and mode.st_rdev == os.stat(os.devnull).st_rdev:
        return os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    if not stat.S_ISFIFO(mode.st_mode):
        return None
    try:
        twin = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # no /proc (macOS), or no reader any more: the thread's path
        return None
    held = os.fstat(twin)
    if (held.st_dev, held.st_ino) != (mode.st_dev, mode.st_ino):
        os.close(twin)
        return None
    return twin


def _written_whole(fd: int, line: str) -> bool:
    """Write the line into a non-blocking pipe or /dev/null whole, or nothing (False: no room, or too long for
    one atomic write); a pipe whose reader is gone raises, as a blocking write would."""
    data = (line + "\n").encode("utf-8")
    if len(data) > select.PIPE_BUF:
        return False
    try:
        written = os.write(fd, data)
    except BlockingIOError:
        return False
    if written != len(data):  # POSIX: a pipe write of at most PIPE_BUF bytes is never split; refuse if it was
        raise OSError(errno.EIO, "the audit line was cut short")
    return True


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "its folder does not exist (any more)"
    if exc.errno == errno.ENXIO:
        return "it is a FIFO with no process reading it"
    return exc.strerror or type(exc).__name__


def cannot_write(path: str) -> str | None:
    """Why the audit log at `path` cannot be appended to, or None; checked without opening anything.

    A FIFO or a device (/dev/stderr, a log shipper's pipe) is accepted as it is: whether a reader is
    there is known only when a line is written, and a write is refused then if none is.
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
    return json.dumps(ch)[1:-1] if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch
