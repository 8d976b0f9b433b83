"""The command line: `mcp-oauth-clients [flags]` serves MCP (stdio by default); `mcp-oauth-clients doctor` diagnoses."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from datetime import datetime, timezone

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import FLAGS, VARIABLES, ConfigError, Settings, found_dotenv_may_set
from mcp_oauth_clients.untrusted import clean, redact


def _common(parser: argparse.ArgumentParser) -> None:
    """The settings flags, shared by the server and `doctor` so that doctor checks what the server would run."""
    parser.add_argument(
        "--sandbox", action="store_true", help="use an in-memory emulation of Cloudflare (no account or token needed)"
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="read settings from this file instead of ./.env; it may set every variable (the environment still wins)",
    )
    parser.add_argument("--read-only", action="store_true", help="refuse every write; reads and dry runs still work")
    parser.add_argument(
        "--allowed-accounts",
        metavar="IDS",
        help="comma-separated account ids this server may touch",
    )
    parser.add_argument(
        "--allow-unattended-promotion",
        action="store_true",
        help="let a client that cannot ask a person promote a client to public, only when the "
        "call carries confirm_irreversible: true",
    )
    parser.add_argument("--audit-log", metavar="PATH", help="append the JSON-lines audit log here (default: stderr)")


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
    parser.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000); the endpoint is /mcp")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _doctor_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-oauth-clients doctor",
        description="Check what the server would run with these settings and flags: the settings, the token and "
        "its access to the default account; exit non-zero on any problem. Never prints a secret.",
    )
    _common(parser)
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
    argv = sys.argv[1:] if argv is None else argv
    doctor = bool(argv) and argv[0] == "doctor"
    args = (_doctor_parser() if doctor else _parser()).parse_args(argv[1:] if doctor else argv)
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

        return anyio.run(run_doctor, settings)

    if settings.audit_log:
        from mcp_oauth_clients.audit import cannot_write

        # Checked now, not at the first write: a write must never leave without the line that records it.
        problem = cannot_write(settings.audit_log)
        if problem is None and args.transport == "stdio" and _is_stdout(settings.audit_log):
            problem = "it is this process's stdout, which carries JSON-RPC over stdio; use stderr (the default)"
        if problem:
            print(
                f"mcp-oauth-clients: the audit log {settings.audit_log} cannot be written ({problem}); "
                "no write could be recorded, so the server does not start. Fix the path (--audit-log).",
                file=sys.stderr,
            )
            return 2

    # Until the signal handlers are in place (the SDK import takes a moment), Ctrl-C ends quietly too.
    signal.signal(signal.SIGINT, _exit_on_signal)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    from mcp_oauth_clients.server import build_server  # the SDK import is the slow part of start-up

    server = build_server(settings)
    if args.transport == "streamable-http":
        from mcp_oauth_clients.http import serve

        try:
            stopped_by = serve(server, settings, args.host, args.port)
        except ConfigError as exc:
            print(f"mcp-oauth-clients: {exc}", file=sys.stderr)
            return 2
    else:
        from mcp_oauth_clients.server import serve_stdio

        stopped_by = serve_stdio(server, settings)
    return 128 + stopped_by if stopped_by else 0


def _is_stdout(path: str) -> bool:
    """True when `path` is the file stdout writes to (/dev/stdout, /proc/self/fd/1, or the file it is redirected to)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):
        return False


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
