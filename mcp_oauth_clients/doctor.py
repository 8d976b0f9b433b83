"""`mcp-oauth-clients doctor`: what a person runs when something is off.

It takes the same flags and obeys the same rules as the server: it says which settings it found and
where from (never a secret), refuses what the server would refuse (unusable settings, a default
account outside the allow-list) before sending anything, verifies the token with Cloudflare, checks
that the token can read the default account's OAuth clients, and, unless the server is read-only,
probes write access without changing anything. Given `--transport streamable-http`, it checks the
HTTP deployment too: the bind address against the bearer token and allowed hosts, and the port. It
names a missing permission plainly and exits non-zero on any problem. Failures are described from
their structured fields (class, status, codes, retry time, problem), never from their text.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mcp_oauth_clients.audit import cannot_write
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import (
    MIN_HTTP_TOKEN_LENGTH,
    SECRET_VARIABLES,
    VARIABLES,
    ConfigError,
    Settings,
    check_http_bind,
    shown_value,
)
from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.errors import CloudflareAPIError, RateLimited, ToolFailure, TransportFailure
from mcp_oauth_clients.untrusted import redact

# An id no client has: a PATCH to it reaches Cloudflare's permission check and then "not found",
# so write access is probed without writing anything.
PROBE_CLIENT_ID = "mcp-oauth-clients-doctor-probe"
CREATE_TOKEN = (
    "create a token at Cloudflare dashboard > My Profile > API Tokens > Create Token > Custom token, with the "
    'account permissions "OAuth Client Read" and "OAuth Client Write" on this account.'
)
SET_TOKEN = (
    "Then set CLOUDFLARE_API_TOKEN in one of three ways:\n"
    '- in the MCP client\'s configuration for this server: "env": {"CLOUDFLARE_API_TOKEN": "..."} '
    "(doctor, run from a shell, does not see that block)\n"
    "- in the shell that runs doctor or the server: export CLOUDFLARE_API_TOKEN=...\n"
    "- in a .env file in the working directory (CLOUDFLARE_API_TOKEN=...), or in a file named with --env-file PATH\n"
    "To try the server without a token or an account: mcp-oauth-clients --sandbox "
    "(and mcp-oauth-clients doctor --sandbox)."
)
_CHECK_NETWORK = "check the network, a proxy (HTTPS_PROXY) or CLOUDFLARE_BASE_URL"


class Report:
    """Every line doctor prints goes through here (one place to filter output), counting the problems."""

    def __init__(self, out: TextIO, secrets: list[str] | None = None) -> None:
        self.out = out
        self.problems = 0
        self.secrets = secrets or []  # redacted by value from every line, whatever echoed one

    def line(self, text: str) -> None:
        print(redact(text, self.secrets), file=self.out)

    def ok(self, text: str) -> None:
        self.line(f"  ok       {text}")

    def note(self, text: str) -> None:
        self.line(f"  note     {text}")

    def problem(self, text: str, fix: str) -> None:
        self.problems += 1
        self.line(f"  PROBLEM  {text}")
        first, *rest = fix.splitlines()
        self.line(f"           fix: {first}")
        for more in rest:
            self.line(f"                {more}")


def report_unusable_settings(error: ConfigError, out: TextIO | None = None) -> int:
    """Settings the server would refuse to start with, reported as a problem; nothing is sent."""
    report = Report(out or sys.stdout)
    report.line("Settings:")
    report.problem(error.problem, error.fix or "correct the setting named above, then run doctor again")
    return _finish(report)


async def run_doctor(settings: Settings, out: TextIO = sys.stdout, *, listen: tuple[str, int] | None = None) -> int:
    """Check the set-up, and the HTTP bind at `listen` (host, port) when given; return the exit code (0 when
    every check passed)."""
    report = Report(out, settings.secrets())
    _show_settings(settings, report)
    report.line("Checks:")
    account = settings.default_account
    if account and settings.allowed_accounts and account not in settings.allowed_accounts:
        report.problem(
            f"the default account {account} is not in MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS: the server refuses every "
            "call that relies on it, so doctor sends no request",
            "add it to the allowed accounts, or set CLOUDFLARE_ACCOUNT_ID to one of "
            + ", ".join(sorted(settings.allowed_accounts)),
        )
        return _finish(report)
    if settings.audit_log and (unwritable := cannot_write(settings.audit_log)):
        report.problem(
            f"the audit log {shown_value(settings.audit_log)} cannot be written ({shown_value(unwritable)}): "
            "the server refuses to start",
            "fix the path (--audit-log or MCP_OAUTH_CLIENTS_AUDIT_LOG)",
        )
    if listen is not None:
        _check_http(settings, *listen, report)
    elif settings.http_token and len(settings.http_token) < MIN_HTTP_TOKEN_LENGTH:
        report.note(
            f"MCP_OAUTH_CLIENTS_HTTP_TOKEN has {len(settings.http_token)} characters: the server refuses to listen "
            f"beyond loopback with fewer than {MIN_HTTP_TOKEN_LENGTH}"
        )
    if settings.sandbox and account is not None:
        await _check_sandbox(settings, account, report)
        return _finish(report)
    if not settings.credentials.configured:
        report.problem("no Cloudflare credentials: CLOUDFLARE_API_TOKEN is not set", CREATE_TOKEN + "\n" + SET_TOKEN)
        return _finish(report)
    cloudflare = CloudflareClient(settings)
    try:
        await _check_token(settings, cloudflare, report)
        if report.problems == 0:
            await _check_account(settings, account, cloudflare, report)
    finally:
        await cloudflare.aclose()
    return _finish(report)


def _check_http(settings: Settings, host: str, port: int, report: Report) -> None:
    """What `--transport streamable-http` would refuse at start-up: the bind without a long enough token or the
    Host names to accept, and a port that cannot be bound (tried, then released)."""
    from mcp_oauth_clients.http_transport import host_pattern, listen  # the HTTP stack, only when asked

    try:
        check_http_bind(settings, host)
    except ConfigError as refused:
        report.problem(refused.problem, refused.fix or "correct the setting named above")
    else:
        bearer = "required" if settings.http_token else "not required (loopback only)"
        hosts = ", ".join(shown_value(h) for h in settings.http_allowed_hosts) or "loopback names only"
        report.ok(f"HTTP on {host_pattern(host)}: bearer token {bearer}; Host names accepted: {hosts}")
    try:
        sockets = listen(host, port)
    except ConfigError as refused:
        report.problem(refused.problem, refused.fix or "choose another port with --port")
        return
    for sock in sockets:
        sock.close()
    report.ok(f"port {port} on {host_pattern(host)} is free to listen on")


def _show_settings(settings: Settings, report: Report) -> None:
    report.line("Settings:")
    for name in VARIABLES:
        source = settings.sources.get(name)
        if source is None:
            report.line(f"  {name:<45} not set")
        elif name in SECRET_VARIABLES:
            report.line(f"  {name:<45} set (from {source})")
        else:
            report.line(f"  {name:<45} {settings.shown_values.get(name, '')} (from {source})")
    if settings.sandbox:
        report.line(f"  {'API':<45} the sandbox: an in-memory emulation of Cloudflare; nothing is sent anywhere")
    else:
        report.line(f"  {'API base':<45} {settings.base_url}")


async def _check_sandbox(settings: Settings, account: str, report: Report) -> None:
    """The sandbox has no token and no permissions to check: say what it holds and what writes do there."""
    cloudflare = CloudflareClient(settings, transport=mock_transport(CloudflareEmulator()))
    try:
        answer = await cloudflare.request("GET", f"/accounts/{account}/oauth_clients", retry=False)
    except ToolFailure as failure:
        report.problem(f"the sandbox could not list account {account}: {_describe(failure)}", "report a bug")
        return
    finally:
        await cloudflare.aclose()
    count = len(answer.result) if isinstance(answer.result, list) else 0
    report.ok(f"the sandbox holds {_count(count, 'OAuth client')} in account {account}")
    if settings.read_only:
        report.note("read-only: the server refuses every write, in the sandbox too")
    else:
        report.note("writes change only the sandbox's memory, and last as long as the server process")


async def _check_token(settings: Settings, cloudflare: CloudflareClient, report: Report) -> None:
    if not settings.credentials.api_token:
        report.note("using CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL (legacy); a scoped API token is safer")
        return
    try:
        answer = await cloudflare.request("GET", "/user/tokens/verify", retry=False)
    except CloudflareAPIError as exc:
        if exc.status in (400, 401, 403):
            report.problem(
                f"Cloudflare rejected the token ({_codes(exc)})",
                "the token is wrong, expired or revoked: " + CREATE_TOKEN,
            )
        else:
            report.note(f"could not verify the token (HTTP {exc.status}); continuing with the account check")
        return
    except TransportFailure as failure:
        report.problem(_unreachable(settings, failure), _CHECK_NETWORK)
        return
    except ToolFailure as failure:
        report.problem(f"could not verify the token: {_describe(failure)}", "try again later")
        return
    status = answer.result.get("status") if isinstance(answer.result, dict) else None
    if status == "active":
        report.ok("Cloudflare accepts the token (status active)")
    else:
        report.problem(f"the token's status is {status!r}, not active", "re-enable it or " + CREATE_TOKEN)


async def _check_account(settings: Settings, account: str | None, cloudflare: CloudflareClient, report: Report) -> None:
    if account is None:
        report.note(
            "CLOUDFLARE_ACCOUNT_ID is not set: every call must pass account_id, and access to an account "
            "cannot be checked here"
        )
        return
    try:
        answer = await cloudflare.request("GET", f"/accounts/{account}/oauth_clients", retry=False)
    except CloudflareAPIError as exc:
        if exc.status in (401, 403) or 10000 in exc.codes:
            report.problem(
                f'the token cannot read OAuth clients of account {account}: missing "OAuth Client Read" '
                f"({_codes(exc)})",
                'add "OAuth Client Read" (and "OAuth Client Write") for this account '
                "to the token, or check that CLOUDFLARE_ACCOUNT_ID is the token's account",
            )
        elif exc.status == 404:
            report.problem(
                f"account {account} was not found ({_codes(exc)})",
                "check that CLOUDFLARE_ACCOUNT_ID is the id in the Cloudflare dashboard URL of the right account",
            )
        else:
            report.problem(f"listing OAuth clients failed: {_describe(exc)}", "try again later")
        return
    except TransportFailure as failure:
        report.problem(_unreachable(settings, failure), _CHECK_NETWORK)
        return
    except ToolFailure as failure:
        report.problem(f"listing OAuth clients failed: {_describe(failure)}", "try again later")
        return
    count = len(answer.result) if isinstance(answer.result, list) else 0
    report.ok(f'"OAuth Client Read": the token can list the {_count(count, "OAuth client")} of account {account}')
    if settings.read_only:
        where = settings.sources.get("MCP_OAUTH_CLIENTS_READ_ONLY", "settings")
        report.note(
            f'"OAuth Client Write" not checked: the server is read-only (MCP_OAUTH_CLIENTS_READ_ONLY, from {where}), '
            'so doctor sends no write probe, and "OAuth Client Read" is all the token needs'
        )
        return
    await _probe_write(account, cloudflare, report)


async def _probe_write(account: str, cloudflare: CloudflareClient, report: Report) -> None:
    try:
        await cloudflare.request("PATCH", f"/accounts/{account}/oauth_clients/{PROBE_CLIENT_ID}", json={}, retry=False)
        report.note("the write probe was answered with success; write access looks granted")
    except CloudflareAPIError as exc:
        if exc.status == 404:
            report.ok(
                '"OAuth Client Write": looks granted (a harmless probe on a non-existent client passed the '
                "permission check)"
            )
        elif exc.status in (401, 403) or 10000 in exc.codes:
            report.problem(
                f'the token cannot change OAuth clients of account {account}: missing "OAuth Client '
                f'Write" ({_codes(exc)})',
                'add "OAuth Client Write" for this account to the token, or run '
                "the server with --read-only if reads are all you want",
            )
        else:
            report.note(f"write access could not be probed (HTTP {exc.status})")
    except ToolFailure as failure:
        report.note(f"write access could not be probed: {_describe(failure)}")


def _unreachable(settings: Settings, failure: TransportFailure) -> str:
    """Doctor's own sentence for a failed connection: it always makes exactly one attempt per check."""
    reason = f" ({failure.problem})" if failure.problem else ""
    return f"could not reach Cloudflare at {settings.base_url} after 1 attempt{reason}"


# Doctor's words for the failures that carry nothing more than their kind.
_KINDS = {
    "unreadable_answer": "Cloudflare answered success, but the answer could not be read",
    "unknown_outcome": "the request was sent, but no answer came back",
    "not_configured": "a setting the call needs is missing",
}


def _describe(failure: ToolFailure) -> str:
    """A failure in doctor's words, built from its structured fields, never from its text."""
    if isinstance(failure, RateLimited):
        wait = f" for {failure.retry_after:.0f} s" if failure.retry_after is not None else ""
        return f"Cloudflare is rate limiting this token: it asks to wait{wait} ({_codes(failure)})"
    if isinstance(failure, CloudflareAPIError):
        return _codes(failure)
    if isinstance(failure, TransportFailure):
        return "no usable answer from Cloudflare" + (f" ({failure.problem})" if failure.problem else "")
    return _KINDS.get(failure.kind, f"the call failed ({failure.kind})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _codes(exc: CloudflareAPIError) -> str:
    """The status and Cloudflare's messages, each quoted as data."""
    return "; ".join([f"HTTP {exc.status}", *(e.render() for e in exc.errors)])


def _finish(report: Report) -> int:
    if report.problems:
        report.line(f"{_count(report.problems, 'problem')} found.")
        return 1
    report.line("All checks passed.")
    return 0
