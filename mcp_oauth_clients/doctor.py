"""`mcp-oauth-clients doctor`: what a person runs when something is off.

It says which settings it found and where from (never a secret), verifies the token with Cloudflare,
checks that the token can read the default account's OAuth clients, probes write access without
changing anything, names a missing permission plainly, and exits non-zero on any problem.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import SECRET_VARIABLES, VARIABLES, Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, CloudflareEmulator, mock_transport
from mcp_oauth_clients.errors import CloudflareAPIError, ToolFailure

# An id no client has: a PATCH to it reaches Cloudflare's permission check and then "not found",
# so write access is probed without writing anything.
PROBE_CLIENT_ID = "mcp-oauth-clients-doctor-probe"
CREATE_TOKEN = (
    "create a token at Cloudflare dashboard > My Profile > API Tokens > Create Token > Custom token, with the "
    'account permissions "OAuth Client Read" and "OAuth Client Write" on this account.'
)


class Report:
    """Lines for a person, and whether any of them is a problem."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def ok(self, text: str) -> None:
        print(f"  ok       {text}", file=self.out)

    def note(self, text: str) -> None:
        print(f"  note     {text}", file=self.out)

    def problem(self, text: str, fix: str) -> None:
        self.problems += 1
        print(f"  PROBLEM  {text}\n           fix: {fix}", file=self.out)


async def run_doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Check the set-up; return the exit code (0 when every check passed)."""
    report = Report(out)
    print("Settings:", file=out)
    for name in VARIABLES:
        source = settings.sources.get(name)
        if source is None:
            print(f"  {name:<45} not set", file=out)
        elif name in SECRET_VARIABLES:
            print(f"  {name:<45} set (from {source})", file=out)
        else:
            print(f"  {name:<45} {settings.shown_values.get(name, '')} (from {source})", file=out)
    print(
        f"  {'API base':<45} {settings.base_url}" + (" (sandbox: in-memory emulation)" if settings.sandbox else ""),
        file=out,
    )

    print("Checks:", file=out)
    if not settings.credentials.configured and not settings.sandbox:
        report.problem(
            "no Cloudflare credentials: CLOUDFLARE_API_TOKEN is not set",
            CREATE_TOKEN + " Then set CLOUDFLARE_API_TOKEN in the MCP client's configuration for this server.",
        )
        return _finish(report)
    transport = mock_transport(CloudflareEmulator()) if settings.sandbox else None
    cloudflare = CloudflareClient(settings, transport=transport)
    try:
        await _check_token(settings, cloudflare, report)
        if report.problems == 0:
            await _check_account(settings, cloudflare, report)
    finally:
        await cloudflare.aclose()
    return _finish(report)


async def _check_token(settings: Settings, cloudflare: CloudflareClient, report: Report) -> None:
    if settings.sandbox and not settings.credentials.api_token:
        report.note("sandbox: the in-memory emulation needs no token")
        return
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
        report.problem(
            f"could not reach Cloudflare at {settings.base_url}: {failure.message}",
            "check the network, a proxy (HTTPS_PROXY) or CLOUDFLARE_BASE_URL",
        )
        return
    status = answer.result.get("status") if isinstance(answer.result, dict) else None
    if status == "active":
        report.ok("Cloudflare accepts the token (status active)")
    else:
        report.problem(f"the token's status is {status!r}, not active", "re-enable it or " + CREATE_TOKEN)


async def _check_account(settings: Settings, cloudflare: CloudflareClient, report: Report) -> None:
    account = settings.account_id or (DEMO_ACCOUNT_ID if settings.sandbox else None)
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
                "copy the account id (32 hex characters) from the Cloudflare dashboard URL",
            )
        else:
            report.problem(f"listing OAuth clients failed: {exc.summary or _codes(exc)}", "try again later")
        return
    except ToolFailure as failure:
        report.problem(f"listing OAuth clients failed: {failure.message}", failure.next_step or "try again later")
        return
    count = len(answer.result) if isinstance(answer.result, list) else 0
    report.ok(f'"OAuth Client Read": the token can list the {count} OAuth client(s) of account {account}')
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
        report.note(f"write access could not be probed: {failure.message}")


def _codes(exc: CloudflareAPIError) -> str:
    parts = [f"[{e.code}] {e.message}" if e.code is not None else e.message for e in exc.errors]
    return "; ".join(parts) or f"HTTP {exc.status}"


def _finish(report: Report) -> int:
    if report.problems:
        print(f"{report.problems} problem(s) found.", file=report.out)
        return 1
    print("All checks passed.", file=report.out)
    return 0
