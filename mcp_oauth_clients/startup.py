"""What the server says on stderr when it starts: where it listens, what it talks to, which guard rails hold.

A person who starts the command by hand sees at once that it is running and how to reach it; an operator
reads the guard rails in force from the log. Never a secret: only which credential is in use, by name.
"""

from __future__ import annotations

import logging

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import Settings, shown_value

# Its own logger, emitted at INFO whatever MCP_OAUTH_CLIENTS_LOG_LEVEL says (see cli.configure_logging).
logger = logging.getLogger("mcp_oauth_clients.startup")


def sandbox_clients() -> list[tuple[str, str, str]]:
    """(account id, client id, name) of every client the sandbox starts with, read from the emulator's seed."""
    from mcp_oauth_clients.emulator import CloudflareEmulator  # the sandbox's alone: not on a real account's start-up

    seeded = CloudflareEmulator().clients
    return [(account, client, seeded[(account, client)].get("client_name", "")) for account, client in sorted(seeded)]


def startup_lines(settings: Settings, address: str) -> list[str]:
    """The lines announcing a server about to serve at `address` ("stdio" or an http:// URL)."""
    if address == "stdio":
        lines = [
            f"version {__version__}, serving MCP on stdio: JSON-RPC on stdout, this log on stderr. "
            "An MCP client starts this command and talks to it; typing here does nothing. Stop with Ctrl-C."
        ]
    else:
        lines = [
            f"version {__version__}, serving MCP over streamable HTTP at {address} "
            "(stateless; GET /healthz for health checks). Stop with Ctrl-C."
        ]
        bearer = "required" if settings.http_token else "not required (loopback only)"
        hosts = ", ".join(shown_value(h) for h in settings.http_allowed_hosts) or "loopback names only"
        lines.append(f"HTTP: bearer token {bearer}; Host names accepted: {hosts}")
    lines.append(_cloudflare_line(settings))
    lines.append(_guard_rails_line(settings))
    if settings.sandbox:
        for account, client, name in sandbox_clients():
            lines.append(f"sandbox client {name!r}: account_id {account}, oauth_client_id {client}")
    return lines


def announce(settings: Settings, address: str) -> None:
    for line in startup_lines(settings, address):
        logger.info(line)


def _cloudflare_line(settings: Settings) -> str:
    if settings.sandbox:
        return (
            "Cloudflare: the in-memory sandbox (no account or token; nothing leaves this machine: the DNS check "
            "answers from the sandbox's own zone and asks no resolver). Its state lasts as long as this process: "
            "a restart starts again from the demo clients below."
        )
    account = (
        f"default account {settings.account_id}"
        if settings.account_id
        else "no default account (calls must pass account_id)"
    )
    credentials = settings.credentials.method
    if credentials == "none":
        credentials = "no credentials (set CLOUDFLARE_API_TOKEN; every call says so until then)"
    return f"Cloudflare: {settings.base_url}, {account}, credentials: {credentials}"


def _guard_rails_line(settings: Settings) -> str:
    accounts = ", ".join(sorted(settings.allowed_accounts)) if settings.allowed_accounts else "any"
    promotion = "refused (a person decides)"
    if settings.allow_unattended_promotion:
        promotion = "allowed with confirm_irreversible: true"
    audit = shown_value(settings.audit_log) if settings.audit_log else "stderr"
    return (
        f"guard rails: read-only {'on' if settings.read_only else 'off'}; allowed accounts: {accounts}; "
        f"unattended promotion: {promotion}; audit log: {audit}"
    )
