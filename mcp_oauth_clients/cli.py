"""The command line: `mcp-oauth-clients [--sandbox] [--env-file PATH]`, stdio by default."""

from __future__ import annotations

import argparse
import logging
import sys

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import VARIABLES, ConfigError, Settings


def _parser() -> argparse.ArgumentParser:
    epilog = "environment variables (a .env file fills in what the environment leaves unset):\n" + "\n".join(
        f"  {name:<36} {text}" for name, text in VARIABLES.items()
    )
    parser = argparse.ArgumentParser(
        prog="mcp-oauth-clients",
        description="MCP server that changes a Cloudflare OAuth client safely. Speaks MCP over stdio.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="serve an in-memory emulation of Cloudflare (no account or token needed)"
    )
    parser.add_argument(
        "--env-file", metavar="PATH", help="read settings from this file instead of ./.env (the environment still wins)"
    )
    parser.add_argument("--read-only", action="store_true", help="refuse every write; reads and dry runs still work")
    parser.add_argument(
        "--allowed-accounts",
        metavar="IDS",
        help="comma-separated account ids this server may touch; any other is refused",
    )
    parser.add_argument(
        "--allow-unattended-promotion",
        action="store_true",
        help="let a client that cannot ask a person promote a client to public, only when the "
        "call carries confirm_irreversible: true",
    )
    parser.add_argument("--audit-log", metavar="PATH", help="append the JSON-lines audit log here (default: stderr)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


class RedactSecrets(logging.Filter):
    """Defence in depth: no code path logs a secret, and should one ever try, it is masked."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "[REDACTED]")
                record.msg, record.args = message, None
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    """All logging to stderr (stdout is JSON-RPC), with secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx and httpcore narrate every request; nothing secret, but not wanted on a user's stderr.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _flag_overrides(args: argparse.Namespace) -> dict[str, str]:
    overrides = {}
    if args.read_only:
        overrides["MCP_OAUTH_CLIENTS_READ_ONLY"] = "1"
    if args.allow_unattended_promotion:
        overrides["MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION"] = "1"
    if args.allowed_accounts is not None:
        overrides["MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS"] = args.allowed_accounts
    if args.audit_log is not None:
        overrides["MCP_OAUTH_CLIENTS_AUDIT_LOG"] = args.audit_log
    return overrides


def main(argv: list[str] | None = None) -> int:
    """Parse flags, load settings, serve MCP on stdio. Everything but JSON-RPC goes to stderr."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load(
            env_file=args.env_file, sandbox=True if args.sandbox else None, overrides=_flag_overrides(args)
        )
    except ConfigError as exc:
        print(f"mcp-oauth-clients: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.credentials.secrets())

    from mcp_oauth_clients.server import build_server  # the SDK import is the slow part of start-up

    build_server(settings).run("stdio")
    return 0
