"""Is the verification TXT record visible in DNS? A live lookup beside Cloudflare's own status.

Cloudflare's guide says what the record holds (the whole value, prefix included) but not the exact
DNS name it goes on. So we look on the client URI host and each parent domain up to the registrable
domain (from the Public Suffix List that `publicsuffixlist` ships, read offline), and say that this
is our reading. The resolver is the system's unless MCP_OAUTH_CLIENTS_DNS_SERVER names one.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Literal

import anyio
from pydantic import BaseModel, Field

from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.results import SANDBOX_BANNER, shown
from mcp_oauth_clients.untrusted import escape, plain
from mcp_oauth_clients.verification import TXT_PREFIX, VerificationGuidance, guidance_for

NAME_NOTE = (
    "Cloudflare's guide does not name the record's exact DNS name; this check looked on the client URI host "
    "and its parent domains up to the registrable domain (our reading)."
)
Finding = Literal["found", "wrong", "not_found", "lookup_failed", "not_checked"]


class TXTLookup(BaseModel):
    """What one DNS name answered for TXT."""

    name: str
    outcome: Literal["txt", "no_txt", "nxdomain", "failed"] = Field(
        description="txt: records came back; no_txt: the name exists without TXT; nxdomain: no such name."
    )
    records: list[list[str]] = Field(default_factory=list, description="Each TXT record's strings, as served.")
    problem: str | None = Field(default=None, description="Why the lookup failed.")


class VerificationCheck(BaseModel):
    """Cloudflare's verification status for the client URI host, what DNS shows, and the next step."""

    sandbox: bool
    account_id: str
    client_id: str
    client_uri: str | None = None
    verification: VerificationGuidance = Field(description="Cloudflare's status and the record it expects.")
    resolver: str = Field(description="The resolver asked: 'system' or IP:PORT.")
    lookups: list[TXTLookup] = Field(default_factory=list, description="Every name looked up, host first.")
    finding: Finding = Field(description="What DNS shows for the expected record.")
    found_on: str | None = Field(default=None, description="The name holding the record (right or wrong).")
    fix: str | None = Field(default=None, description="What to change in the record, when it is wrong.")
    next_step: str
    note: str = NAME_NOTE


@functools.cache
def _suffixes():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list bundled with the package: nothing is downloaded


def names_to_check(host: str) -> list[str]:
    """The host, then each parent domain down to the registrable one (just the host for an IP or a suffix)."""
    host = host.rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
        return [host]  # an IP literal has no parent domains (and no TXT worth asking for)
    except ValueError:
        pass
    registrable = _suffixes().privatesuffix(host)
    if not registrable or registrable == host:
        return [host]
    labels = host.split(".")
    names = []
    for i in range(len(labels)):
        name = ".".join(labels[i:])
        names.append(name)
        if name == registrable:
            break
    return names


async def look_up(names: list[str], server: tuple[str, int] | None, timeout: float) -> list[TXTLookup]:
    """TXT records of each name, in the order given."""
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.asyncresolver.Resolver(configure=server is None)
    except dns.exception.DNSException as exc:
        return [TXTLookup(name=n, outcome="failed", problem=f"no system resolver ({exc})") for n in names]
    if server is not None:
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.lifetime = timeout

    async def one(name: str) -> TXTLookup:
        try:
            answer = await resolver.resolve(name + ".", "TXT", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return TXTLookup(name=name, outcome="nxdomain")
        except dns.exception.DNSException as exc:
            return TXTLookup(name=name, outcome="failed", problem=str(exc)[:200] or type(exc).__name__)
        # A TXT answer is whoever-runs-the-zone's text: escaped here, once, like a Cloudflare answer.
        records = [[escape(part.decode("utf-8", "replace")) for part in r.strings] for r in answer.rrset or []]
        return TXTLookup(name=name, outcome="txt" if records else "no_txt", records=records)

    # All names at once: an unreachable resolver costs one timeout, not one per name.
    out: list[TXTLookup | None] = [None] * len(names)

    async def into(i: int, name: str) -> None:
        out[i] = await one(name)

    async with anyio.create_task_group() as group:
        for i, name in enumerate(names):
            group.start_soon(into, i, name)
    return [lookup for lookup in out if lookup is not None]


def judge(record: list[str], expected: str) -> str | None:
    """'ok' for the exact value; a sentence saying what to fix for a near miss; None for an unrelated record."""
    joined = "".join(record)
    code = expected.removeprefix(TXT_PREFIX)
    if len(record) == 1 and joined == expected:
        return "ok"
    if joined == expected:
        return (
            f"the value is split into {len(record)} strings; publish it as one string (Cloudflare's guide does "
            "not say split strings are joined)"
        )
    bare = joined.strip().strip("\"'").strip()
    if bare == expected or joined.replace(" ", "").replace('"', "") == expected:
        return "the value has stray quotes or spaces; the value must be exactly the text below, nothing around it"
    if bare == code or (code in bare and not bare.startswith(TXT_PREFIX)):
        return f"the value lacks the {TXT_PREFIX} prefix; use the whole value, prefix included"
    if bare.startswith(TXT_PREFIX):
        return (
            "this is a verification value for another client (or an older code); add this client's value "
            "(keep the other only if another client still needs it)"
        )
    return None


def assess(client: OAuthClient, lookups: list[TXTLookup]) -> tuple[Finding, str | None, str | None]:
    """(finding, name holding the record, what to fix) from the lookups."""
    expected = guidance_for(client).dns_record
    if expected is None:
        return "not_checked", None, None
    wrong: tuple[str, str] | None = None
    for lookup in lookups:
        for record in lookup.records:
            verdict = judge(record, expected.value)
            if verdict == "ok":
                return "found", lookup.name, None
            if verdict is not None and wrong is None:
                wrong = (lookup.name, verdict)
    if wrong is not None:
        return "wrong", wrong[0], wrong[1]
    if any(lookup.outcome == "failed" for lookup in lookups):
        return "lookup_failed", None, None
    return "not_found", None, None


def next_step(client: OAuthClient, finding: Finding) -> str:
    """Wait, fix the record, or restart Cloudflare's check: one sentence."""
    guidance = guidance_for(client)
    if guidance.status == "verified":
        return "Nothing to do: Cloudflare has verified the client URI host."
    if guidance.host is None:
        return "Set client_uri first (update_oauth_client); its host is what Cloudflare verifies."
    if guidance.dns_record is None:
        status = plain(guidance.status or "unknown")
        return f"Cloudflare gave no verification value (status {status}): read the client later."
    uri = shown(client.client_uri)
    restart = f"restart verification by sending the unchanged client_uri ({uri}) with update_oauth_client"
    then = restart if guidance.status == "failed" else "wait: Cloudflare polls for the record for up to two days"
    if finding == "found":
        if guidance.status == "failed":
            return f"The record is right and Cloudflare's last check failed: {restart}."
        return f"The record is right; {then}."
    if finding == "wrong":
        return f"A person fixes the record as said above, then {then}."
    if finding == "not_found":
        return f"A person adds the record above, then {then}."
    return "Try the check again later, or ask the operator about the resolver (MCP_OAUTH_CLIENTS_DNS_SERVER)."


def describe_check(result: VerificationCheck) -> str:
    """The check's text: Cloudflare's status, what DNS shows, the record, the next step."""
    guidance = result.verification
    lines = (
        [SANDBOX_BANNER, "The DNS lookup below is real; the client and its value are the sandbox's."]
        if result.sandbox
        else []
    )
    host = shown(guidance.host) if guidance.host else "(no client_uri)"
    lines.append(
        f"Verification of client {plain(result.client_id)}'s client URI host {host}: Cloudflare says "
        f"{plain(guidance.status or 'unknown')}."
    )
    for lookup in result.lookups:
        if lookup.outcome == "txt":
            seen = "; ".join(" + ".join(shown(p, 120) for p in r) for r in lookup.records[:5])
            lines.append(f"DNS {lookup.name}: TXT {seen}")
        elif lookup.outcome == "no_txt":
            lines.append(f"DNS {lookup.name}: the name exists but has no TXT record.")
        elif lookup.outcome == "nxdomain":
            lines.append(f"DNS {lookup.name}: no such name (NXDOMAIN).")
        else:
            lines.append(f"DNS {lookup.name}: lookup failed ({lookup.problem}).")
    lines.append(f"Resolver: {result.resolver}.")
    summary = {
        "found": f"Found: the exact record is on {result.found_on}.",
        "wrong": f"Found but wrong, on {result.found_on}: {result.fix}.",
        "not_found": "Not found: no name checked holds the record.",
        "lookup_failed": "Lookup failed: DNS could not be asked, so nothing is known about the record.",
        "not_checked": "",
    }[result.finding]
    if summary:
        lines.append(summary)
    record = guidance.dns_record
    if record is not None and result.finding != "found":
        lines.append(f"The record: type TXT   name {shown(record.name)}   value {shown(record.value)}")
        lines.append("Use the whole value, prefix included, as one string. Only needed to make the client public.")
    lines.append(f"Next step: {result.next_step}")
    if guidance.status != "verified":
        lines.append(result.note)
    return "\n".join(lines)
