"""MCP over stdio: JSON-RPC lines on stdin and stdout, stopped by the client closing stdin or by SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.operations import Services
from mcp_oauth_clients.startup import announce

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The longest JSON-RPC line read from stdin; the SDK's own reader has no limit, asyncio's default is 64 KiB.
MAX_LINE = 16 * 1024 * 1024


def serve_stdio(server: MCPServer[Services], settings: Settings) -> int | None:
    """Serve MCP on stdin/stdout until the client closes stdin (returns None) or SIGINT/SIGTERM arrives
    (returns the signal). A signal cancels the calls in flight: a write cut short is audited as unknown."""
    announce(settings, "stdio")
    if sys.platform == "win32":  # no loop signal handlers or pipe readers there: the SDK's own loop
        try:
            anyio.run(server.run_stdio_async)
        except KeyboardInterrupt:
            return signal.SIGINT
        return None
    return anyio.run(_serve_stdio, server)


async def _serve_stdio(server: MCPServer[Services]) -> int | None:
    received: list[int] = []
    stdin = await _stdin_on_event_loop()
    try:
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            async with anyio.create_task_group() as group:

                async def stop_on_signal() -> None:
                    async for signum in signals:
                        received.append(signum)
                        group.cancel_scope.cancel()
                        return

                group.start_soon(stop_on_signal)
                # The SDK's run_stdio_async() offers no way to pass stdin, so the low-level server is run here
                # as it runs it (checked against mcp 2.3.0).
                lowlevel = server._lowlevel_server
                async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
                    await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
                group.cancel_scope.cancel()
    finally:
        if stdin is not None:
            stdin.close()
    return received[0] if received else None


class _StdinLines:
    """stdin read on the event loop. The SDK reads it in a worker thread, and a thread blocked in readline()
    cannot be cancelled: Ctrl-C then waited for the next line, and the process for Enter."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.ReadTransport) -> None:
        self._reader = reader
        self._transport = transport

    def __aiter__(self) -> _StdinLines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except ValueError:  # longer than MAX_LINE: dropped, and the client gets a parse error, not a crash
            logger.warning("dropped a JSON-RPC line longer than %d bytes", MAX_LINE)
            return "\n"
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")

    def close(self) -> None:
        self._transport.close()
        # The descriptor was shared with fd 0 (and perhaps a terminal): leave it blocking, as it was found.
        with contextlib.suppress(OSError):
            os.set_blocking(0, True)


async def _stdin_on_event_loop() -> _StdinLines | None:
    """A reader of fd 0 on the event loop when it is a pipe, socket or terminal; otherwise None (the SDK's own
    reader), since a regular file or /dev/null never blocks and cannot be polled."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    pipe = os.fdopen(os.dup(0), "rb", buffering=0)
    try:
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    except (ValueError, OSError):
        pipe.close()
        return None
    return _StdinLines(reader, transport)
