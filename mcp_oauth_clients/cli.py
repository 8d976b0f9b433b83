"""The command line: `mcp-oauth-clients [flags]` serves MCP (stdio by default); `mcp-oauth-clients doctor` diagnoses."""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import FLAGS, VARIABLES, ConfigError, Settings, found_dotenv_may_set, shown_value
from mcp_oauth_clients.untrusted import clean, redact


def _common(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """The flags shared by the server and `doctor`, so that doctor checks what the server would run. They may
    come before `doctor` or after it; after it, a flag not given leaves the one before it alone (no defaults)."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=default(False),
        help="use an in-memory emulation of Cloudflare (no account or token needed)",
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        default=default(None),
        help="read settings from this file instead of ./.env; it may set every variable (the environment still wins)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=default(False),
        help="refuse every write; reads and dry runs still work",
    )
    parser.add_argument(
        "--allowed-accounts",
        metavar="IDS",
        default=default(None),
        help="comma-separated account ids this server may touch",
    )
    parser.add_argument(
        "--allow-unattended-promotion",
        action="store_true",
        default=default(False),
        help="let a client that cannot ask a person promote a client to public, only when the "
        "call carries confirm_irreversible: true",
    )
    parser.add_argument(
        "--audit-log",
        metavar="PATH",
        default=default(None),
        help="append the JSON-lines audit log here (default: stderr)",
    )
    parser.add_argument(
        "--transport",
        choices=("stdio", "streamable-http"),
        default=default("stdio"),
        help="default: stdio",
    )
    parser.add_argument("--host", default=default("127.0.0.1"), help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=default(8000), help="HTTP port (default 8000); the endpoint is /mcp"
    )


def _variables_help() -> str:
    """The variables, grouped by whether a .env merely found in the working directory may set them."""

    def rows(found_may_set: bool) -> str:
        return "\n".join(
            f"  {name:<45} {text}" for name, text in VARIABLES.items() if found_dotenv_may_set(name) == found_may_set
        )

    return (
        "environment variables (the environment wins over an env file; a flag wins over both).\n"
        "These may also come from a .env found in the working directory:\n"
        + rows(True)
        + "\nThese only from the environment, a flag or a file named with --env-file; a .env merely found in the "
        "working directory that sets one stops start-up:\n" + rows(False)
    )


def _parser() -> argparse.ArgumentParser:
    epilog = _variables_help()
    parser = argparse.ArgumentParser(
        prog="mcp-oauth-clients",
        description="MCP server that changes a Cloudflare OAuth client safely. Speaks MCP over stdio unless "
        "--transport streamable-http is given. 'mcp-oauth-clients doctor' checks the set-up.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="doctor")
    doctor = commands.add_parser(
        "doctor",
        help="check the set-up",
        description="Check what the server would run with these settings and flags: the settings, the token and "
        "its access to the default account, and with --transport streamable-http the HTTP bind (token, allowed "
        "hosts, port); exit non-zero on any problem. Never prints a secret.",
    )
    _common(doctor, defaults=False)
    return parser


class RedactSecrets(logging.Filter):
    """Every log line is one line of plain text: control characters escaped, secrets masked by value."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = clean(record.getMessage(), self.secrets), None
        if record.exc_info:  # a traceback's text can quote values too (it keeps its line breaks)
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


class OncePerInterval(logging.Filter):
    """At most one warning or error of each kind (logger and message template) per interval: a client that
    makes the server fail the same way a thousand times a second cannot flood stderr. The next line of a
    kind that passes says how many like it were left out."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, object], float] = {}
        self._left_out: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind, now = (record.name, record.msg), self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._left_out[kind] = self._left_out.get(kind, 0) + 1
            return False
        if len(self._last) > 1000:  # kinds are few; a message that varies by request is not a kind worth keeping
            self._last.clear()
        self._last[kind] = now
        if left_out := self._left_out.pop(kind, 0):
            record.msg = f"{record.getMessage()} ({left_out} more like it in the last {self.interval:g} s left out)"
            record.args = None
        return True


class JsonLines(logging.Formatter):
    """`MCP_OAUTH_CLIENTS_LOG_FORMAT=json`: one JSON object per line (time, level, logger, message), for shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, secrets: list[str], log_format: str = "text") -> None:
    """All logging to stderr (stdout is JSON-RPC), with secrets masked; text for people, JSON lines for shippers."""
    redact = RedactSecrets(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OncePerInterval())  # before redaction, which fills the message in
    handler.setFormatter(
        JsonLines() if log_format == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx and httpcore narrate every request; nothing secret, but not wanted on a user's stderr.
    for noisy in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The start-up lines are for the person who just started the server: shown at the default level, in plain
    # words in text mode; silenced only by MCP_OAUTH_CLIENTS_LOG_LEVEL=ERROR.
    startup = logging.getLogger("mcp_oauth_clients.startup")
    startup.setLevel(logging.ERROR if level == "ERROR" else logging.INFO)
    startup.propagate = False
    plain = logging.StreamHandler(sys.stderr)
    plain.setFormatter(JsonLines() if log_format == "json" else logging.Formatter("mcp-oauth-clients: %(message)s"))
    plain.addFilter(redact)
    startup.handlers[:] = [plain]


def _load(args: argparse.Namespace) -> Settings:
    overrides = {}
    for variable, flag in FLAGS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value:
            overrides[variable] = "1" if value is True else value
    return Settings.load(env_file=args.env_file, overrides=overrides)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, load settings, then serve MCP or run the doctor. Everything but JSON-RPC goes to stderr.

    SIGINT (Ctrl-C) and SIGTERM stop either transport at once, without a traceback; the exit code is the
    shell's convention for a process ended by that signal: 130 for SIGINT, 143 for SIGTERM.
    """
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    doctor = args.command == "doctor"
    try:
        settings = _load(args)
    except ConfigError as exc:
        if doctor:  # doctor explains unusable settings like any other problem
            from mcp_oauth_clients.doctor import report_unusable_settings

            return report_unusable_settings(exc)
        print(f"mcp-oauth-clients: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.secrets(), settings.log_format)
    if doctor:
        import anyio

        from mcp_oauth_clients.doctor import run_doctor

        listen = (args.host, args.port) if args.transport == "streamable-http" else None
        return anyio.run(functools.partial(run_doctor, settings, listen=listen))

    if settings.audit_log:
        from mcp_oauth_clients.audit import cannot_write

        # Checked now, not at the first write: a write must never leave without the line that records it.
        problem = cannot_write(settings.audit_log)
        if problem is None and args.transport == "stdio" and _is_stdout(settings.audit_log):
            problem = "it is this process's stdout, which carries JSON-RPC over stdio; use stderr (the default)"
        if problem:
            path, problem = shown_value(settings.audit_log), shown_value(problem)
            print(
                f"mcp-oauth-clients: the audit log {path} cannot be written ({problem}); "
                "no write could be recorded, so the server does not start. Fix the path (--audit-log).",
                file=sys.stderr,
            )
            return 2

    # Until the signal handlers are in place (the SDK import takes a moment), Ctrl-C ends quietly too.
    signal.signal(signal.SIGINT, _exit_on_signal)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    from mcp_oauth_clients.server import build_server  # the SDK import is the slow part of start-up

    server = build_server(settings)
    if not gc.isenabled():  # run by `script`: what start-up built lives as long as the process
        gc.freeze()
        gc.enable()
    if args.transport == "streamable-http":
        from mcp_oauth_clients.http_transport import serve

        try:
            stopped_by = serve(server, settings, args.host, args.port)
        except ConfigError as exc:
            print(f"mcp-oauth-clients: {exc}", file=sys.stderr)
            return 2
    else:
        from mcp_oauth_clients.stdio_transport import serve_stdio

        stopped_by = serve_stdio(server, settings)
    return 128 + stopped_by if stopped_by else 0


def script() -> int:
    """The console script and `python -m`: `main`, with the cyclic garbage collector kept out of start-up.

    Start-up makes ~130,000 objects that live as long as the process (the SDK's modules, pydantic's schemas,
    ours) and little garbage. The collector's passes over them cost ~35 ms of start-up, and each later full pass
    ~80 ms in the middle of a call. So it is off until the server is built; `main` then freezes what exists out
    of its sight (keeping start-up's few thousand objects of garbage) and turns it back on.
    """
    gc.disable()
    try:
        return main()
    finally:
        gc.enable()


def _is_stdout(path: str) -> bool:
    """True when `path` is the file stdout writes to (/dev/stdout, /proc/self/fd/1, or the file it is redirected to)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):
        return False


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
