"""The DNS check's text: Cloudflare's status, what each name answered, the verdict, the record, the next step.

Every name, record and value in it came from Cloudflare or a DNS zone: each stands quoted (`quoted`,
escaped and cut) or as a plain word only when it is one (`plain`); nothing from outside is bare prose.
"""

from __future__ import annotations

from mcp_oauth_clients.dns_check import TXTLookup, VerificationCheck
from mcp_oauth_clients.results import SANDBOX_BANNER
from mcp_oauth_clients.untrusted import VERIFICATION_STATUSES, plain, quoted
from mcp_oauth_clients.verification import MAX_VALUE_CHARS

RECORD_CHARS_SHOWN = 120
STATUSES = VERIFICATION_STATUSES | {"unknown"}


def describe_check(result: VerificationCheck) -> str:
    """The check's text, a few lines; every outside value quoted."""
    guidance = result.verification
    lines = [SANDBOX_BANNER] if result.sandbox else []
    if result.resolver_note:
        lines.append(result.resolver_note)
    client = (
        f"client {plain(result.client_id)}"
        if result.client_id is not None
        else f"client {plain(result.oauth_client_id)} (Cloudflare's answer holds no client_id)"
    )
    host = quoted(guidance.host) if guidance.host else "(no client_uri)"
    status = plain(guidance.status or "unknown", STATUSES)
    lines.append(f"Verification of {client}'s client URI host {host}: Cloudflare says {status}.")
    if guidance.host_problem is not None:
        lines.append(f"Not looked up: {guidance.host_problem}.")
    lines += [_lookup_line(lookup) for lookup in result.lookups]
    if result.names_left_out:
        lines.append(f"{result.names_left_out} parent names between the host and the registrable domain not looked up.")
    if result.lookups:
        lines.append(f"Resolver: {result.resolver}.")
    found_on = quoted(result.found_on) if result.found_on else ""
    summary = {
        "found": f"Found: the exact record is on {found_on}.",
        "wrong": f"Found but wrong, on {found_on}.",
        "not_found": "Not found: no name checked holds the record.",
        "lookup_failed": "Lookup failed: DNS could not be asked, so nothing is known about the record.",
        "not_checked": "",
    }[result.finding]
    if summary:
        lines.append(summary)
    record = guidance.dns_record
    if record is not None and result.finding != "found":
        value = quoted(record.value, MAX_VALUE_CHARS)
        lines.append(f"The record: type TXT   name {quoted(record.name)}   value {value}")
        lines.append("Use the whole value, prefix included, as one string. Only needed to make the client public.")
    elif record is None and guidance.next_steps and guidance.host_problem is None:
        lines.append(guidance.next_steps[0])
    lines.append(f"Next step: {result.next_step}")
    if result.lookups:
        lines.append(result.note)
    return "\n".join(lines)


def _lookup_line(lookup: TXTLookup) -> str:
    name = f"DNS {quoted(lookup.name)}"
    if lookup.outcome == "txt":
        seen = "; ".join(" + ".join(quoted(part, RECORD_CHARS_SHOWN) for part in r) for r in lookup.records)
        more = lookup.served - len(lookup.records)
        return f"{name}: TXT {seen}" + (f" (and {more} more records)" if more else "")
    if lookup.outcome == "no_txt":
        return f"{name}: the name exists but has no TXT record."
    if lookup.outcome == "nxdomain":
        return f"{name}: no such name (NXDOMAIN)."
    return f"{name}: lookup failed ({quoted(lookup.problem or 'no reason given')})."
