"""`mcp-oauth-clients doctor`: what a person runs when something is off.

It takes the same flags and obeys the same rules as the server: it says which settings it found and
where from (never a secret), refuses what the server would refuse (unusable settings, a default
account outside the allow-list) before sending anything, verifies the token with Cloudflare, checks
that the token can read the default account's OAuth clients, and, unless the server is read-only,
probes write access without changing anything. It names a missing permission plainly and exits
non-zero on any problem.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

from mcp_oauth_clients.audit import cannot_write
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import SECRET_VARIABLES, VARIABLES, ConfigError, Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, CloudflareEmulator, mock_transport
from mcp_oauth_clients.errors import CloudflareAPIError, ToolFailure, TransportFailure
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
# Sentences written for a tool result; a diagnosis that writes nothing leaves them out.
_TOOL_TEXT = re.compile(r"\s*Nothing was (?:written|sent)\.")


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


async def run_doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Check the set-up; return the exit code (0 when every check passed)."""
    report = Report(out, settings.secrets())
    _show_settings(settings, report)
    report.line("Checks:")
    account = _default_account(settings)
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
            f"the audit log {settings.audit_log} cannot be written ({unwritable}): the server refuses to start",
            "fix the path (--audit-log or MCP_OAUTH_CLIENTS_AUDIT_LOG)",
        )
    if settings.http_token and len(settings.http_token) < 32:
        report.note(
            f"MCP_OAUTH_CLIENTS_HTTP_TOKEN has {len(settings.http_token)} characters: the server refuses to listen "
            "beyond loopback with fewer than 32"
        )
    if settings.sandbox:
        await _check_sandbox(settings, account or DEMO_ACCOUNT_ID, report)
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


def _default_account(settings: Settings) -> str | None:
    """The account a call without `account_id` goes to, as the server resolves it."""
    if settings.account_id:
        return settings.account_id.lower()
    return DEMO_ACCOUNT_ID if settings.sandbox else None


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
        report.problem(f"the sandbox could not list account {account}: {_plain(failure.message)}", "report a bug")
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
    except ToolFailure as failure:
        report.problem(_unreachable(settings, failure), _CHECK_NETWORK)
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
            report.problem(f"listing OAuth clients failed: {_plain(exc.summary or _codes(exc))}", "try again later")
        return
    except ToolFailure as failure:
        if isinstance(failure, TransportFailure):
            report.problem(_unreachable(settings, failure), _CHECK_NETWORK)
        else:
            report.problem(f"listing OAuth clients failed: {_plain(failure.message)}", "try again later")
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
        report.note(f"write access could not be probed: {_plain(failure.message)}")


def _unreachable(settings: Settings, failure: ToolFailure) -> str:
    """Doctor's own sentence for a failed connection: it always makes exactly one attempt per check."""
    reason = re.findall(r"\(([^()]+)\)", failure.message)
    return f"could not reach Cloudflare at {settings.base_url} after 1 attempt" + (f" ({reason[-1]})" if reason else "")


def _plain(text: str) -> str:
    """Text from the shared client layer, without the sentences meant for a tool result."""
    return _TOOL_TEXT.sub("", text).strip()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _codes(exc: CloudflareAPIError) -> str:
    parts = [f"[{e.code}] {e.message}" if e.code is not None else e.message for e in exc.errors]
    return "; ".join(parts) or f"HTTP {exc.status}"


def _finish(report: Report) -> int:
    if report.problems:
        report.line(f"{_count(report.problems, 'problem')} found.")
        return 1
    report.line("All checks passed.")
    return 0
