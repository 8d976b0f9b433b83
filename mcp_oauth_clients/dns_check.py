"""Is the verification TXT record visible in DNS? A lookup beside Cloudflare's own status, decided here.

Cloudflare's guide says what the record holds (the whole value, prefix included) but not the exact
DNS name it goes on. So we look on the client URI host and each parent domain up to the registrable
domain (from the Public Suffix List that `publicsuffixlist` ships, read offline), and say that this
is our reading. Which names may be asked and who answers is `dns_lookup`'s; the words are
`dns_check_text`'s. This module decides the finding from every record served, then keeps a bounded
part of what was served (`MAX_RECORDS_KEPT` records of `MAX_RECORD_CHARS` per name, relevant first),
so the answer stays within `ANSWER_BUDGET` however large a hostile zone's answers are.
"""

import logging
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from mcp_oauth_clients.budget import Budgeted
from mcp_oauth_clients.checks import MAX_URI_LENGTH
from mcp_oauth_clients.dns_lookup import MAX_NAMES, Outcome, TXTAnswer, TXTResolver, ask_all, names_to_check
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.untrusted import VERIFICATION_STATUSES, plain, quoted
from mcp_oauth_clients.verification import TXT_PREFIX, VerificationGuidance, clip, guidance_for

logger = logging.getLogger(__name__)

# Per name, the records kept for the answer: the matching or nearly matching one first, then others as
# served. A verification value is under 100 characters, an SPF or DKIM record a few hundred; 5 records of
# 300 characters show a zone's usual TXT set and any near miss. The finding is decided on all of them.
MAX_RECORDS_KEPT = 5
MAX_RECORD_CHARS = 300
MAX_STRINGS_KEPT = 8  # strings of one record (a record may hold hundreds of empty ones)
# The whole answer, text and structuredContent each, in UTF-8 bytes: what the limits above give at most
# (4 names of 5 records of 300 four-byte characters, a 2,000-character value shown twice, a 2,048-character
# client_uri), rounded up. tests/test_dns_check_budget.py fills every one of them and measures.
ANSWER_BUDGET = 64 * 1024

NAME_NOTE = (
    "Cloudflare's guide does not name the record's exact DNS name; this check looked on the client URI host "
    "and its parent domains up to the registrable domain (our reading)."
)
Finding = Literal["found", "wrong", "not_found", "lookup_failed", "not_checked"]
Verdict = Literal["found", "wrong", "absent", "failed"]


class TXTLookup(BaseModel):
    """What one DNS name answered for TXT (the records kept of those served)."""

    name: str
    outcome: Outcome = Field(
        description="txt: records came back; no_txt: the name exists without TXT; nxdomain: no such name."
    )
    records: list[list[str]] = Field(
        default_factory=list,
        description=f"TXT records' strings, at most {MAX_RECORDS_KEPT}, the closest to the expected value first; "
        f"each cut at {MAX_RECORD_CHARS} characters (a cut ends in …).",
    )
    served: int = Field(default=0, description="How many TXT records the name served.")
    verdict: Verdict = Field(default="absent", description="What this name holds of the expected record.")
    problem: str | None = Field(default=None, description="Why the lookup failed.")


class VerificationCheck(Budgeted):
    """Cloudflare's verification status for the client URI host, what DNS shows, and the next step."""

    sandbox: bool
    account_id: str
    oauth_client_id: str = Field(description="The client asked for.")
    client_id: str | None = Field(description="The client id in Cloudflare's answer (null when it has none).")
    client_uri: str | None = None
    verification: VerificationGuidance = Field(description="Cloudflare's status and the record it expects.")
    resolver: str = Field(description="Who answered: 'system', IP:PORT, or 'sandbox zone' (no resolver asked).")
    resolver_note: str | None = Field(default=None, description="What the sandbox's zone holds, in the sandbox.")
    lookups: list[TXTLookup] = Field(default_factory=list, description="Every name looked up, host first.")
    names_left_out: int = Field(
        default=0, description=f"Parent names not looked up: at most {MAX_NAMES} names are asked."
    )
    finding: Finding = Field(description="What DNS shows for the expected record.")
    found_on: str | None = Field(default=None, description="The name holding the record (right or wrong).")
    next_step: str = Field(description="The one thing to do next; for a wrong record, what to change in it.")
    note: str = NAME_NOTE


class AuditNotes(Protocol):
    """Where each lookup is put on record (the audit log of the call)."""

    def note(self, event: str, **fields: Any) -> None: ...


async def check_verification(
    client: OAuthClient,
    *,
    account_id: str,
    oauth_client_id: str,
    sandbox: bool,
    resolver: TXTResolver,
    audit: AuditNotes,
) -> VerificationCheck:
    """Cloudflare's verification status for `client`, plus what `resolver` shows for the record it expects.

    Nothing is asked when there is no record to look for (verified, no client_uri, a host that is no DNS
    name); each name asked is logged (debug) and noted in the audit log with who answered and the verdict.
    """
    guidance = guidance_for(client)
    names: list[str] = []
    left_out = 0
    answers: list[TXTAnswer] = []
    record = guidance.dns_record
    if record is not None:
        names, left_out = names_to_check(record.name)
        answers = await ask_all(resolver, names)
    expected = record.value if record is not None else None
    judged = [(answer, _judge_all(answer, expected)) for answer in answers]
    for answer, (verdict, _, _) in judged:
        logger.debug("dns_check: %s answered %s for %s (%s)", resolver.label, answer.outcome, answer.name, verdict)
        audit.note(
            "dns_check",
            account_id=account_id,
            oauth_client_id=oauth_client_id,
            name=answer.name,
            resolver=resolver.label,
            answer=answer.outcome,
            verdict=verdict,
        )
    finding, found_on, change = _finding(expected, judged)
    return VerificationCheck(
        sandbox=sandbox,
        account_id=account_id,
        oauth_client_id=oauth_client_id,
        client_id=clip(client.client_id, 130),
        client_uri=clip(client.client_uri, MAX_URI_LENGTH),
        verification=guidance,
        resolver=resolver.label,
        resolver_note=resolver.note,
        lookups=[_kept(answer, verdict, order) for answer, (verdict, _, order) in judged],
        names_left_out=left_out,
        finding=finding,
        found_on=found_on,
        next_step=next_step(client, guidance, finding, change),
    )


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


def _judge_all(answer: TXTAnswer, expected: str | None) -> tuple[Verdict, str | None, list[int]]:
    """(verdict, what to fix, record order for keeping: exact first, near misses next, then as served)."""
    if answer.outcome == "failed":
        return "failed", None, list(range(len(answer.records)))
    verdicts = [judge(r, expected) if expected is not None else None for r in answer.records]
    exact = [i for i, v in enumerate(verdicts) if v == "ok"]
    near = [i for i, v in enumerate(verdicts) if v not in (None, "ok")]
    rest = [i for i, v in enumerate(verdicts) if v is None]
    if exact:
        return "found", None, exact + near + rest
    if near:
        return "wrong", verdicts[near[0]], near + rest
    return "absent", None, rest


def _finding(
    expected: str | None, judged: list[tuple[TXTAnswer, tuple[Verdict, str | None, list[int]]]]
) -> tuple[Finding, str | None, str | None]:
    """(finding, name holding the record, what to change): the exact record anywhere wins, then the first near miss."""
    if expected is None:
        return "not_checked", None, None
    for answer, (verdict, _, _) in judged:
        if verdict == "found":
            return "found", answer.name, None
    for answer, (verdict, change, _) in judged:
        if verdict == "wrong":
            return "wrong", answer.name, change
    if any(verdict == "failed" for _, (verdict, _, _) in judged):
        return "lookup_failed", None, None
    return "not_found", None, None


def _kept(answer: TXTAnswer, verdict: Verdict, order: list[int]) -> TXTLookup:
    """The answer as the check shows it: the first MAX_RECORDS_KEPT records in `order`, each cut to size."""
    return TXTLookup(
        name=answer.name,
        outcome=answer.outcome,
        records=[_cut(answer.records[i]) for i in order[:MAX_RECORDS_KEPT]],
        served=len(answer.records),
        verdict=verdict,
        problem=clip(answer.problem, 200),
    )


def _cut(strings: list[str]) -> list[str]:
    """One record's strings, MAX_RECORD_CHARS in all and MAX_STRINGS_KEPT at most; a cut ends in …."""
    kept: list[str] = []
    room = MAX_RECORD_CHARS
    for text in strings[:MAX_STRINGS_KEPT]:
        if len(text) > room:
            kept.append(text[:room] + "…")
            return kept
        kept.append(text)
        room -= len(text)
    if len(strings) > MAX_STRINGS_KEPT:
        kept[-1] += "…"
    return kept


def next_step(client: OAuthClient, guidance: VerificationGuidance, finding: Finding, change: str | None = None) -> str:
    """Wait, change the record (`change`: what is wrong with it), or restart Cloudflare's check: one sentence."""
    if guidance.host_problem is not None:
        return "Set a client_uri whose host is a DNS name (update_oauth_client); Cloudflare verifies that host."
    if guidance.status == "verified":
        return "Nothing to do: Cloudflare has verified the client URI host."
    if guidance.host is None:
        return "Set client_uri first (update_oauth_client); its host is what Cloudflare verifies."
    if guidance.dns_record is None:
        status = plain(guidance.status or "unknown", VERIFICATION_STATUSES | {"unknown"})
        return f"Cloudflare gave no usable verification value (status {status}): read the client later."
    uri = quoted(client.client_uri)
    restart = f"restart verification by sending the unchanged client_uri ({uri}) with update_oauth_client"
    then = restart if guidance.status == "failed" else "wait: Cloudflare polls for the record for up to two days"
    if finding == "found":
        if guidance.status == "failed":
            return f"The record is right and Cloudflare's last check failed: {restart}."
        return f"The record is right; {then}."
    if finding == "wrong":
        return f"A person fixes the record ({change or 'see the record above'}), then {then}."
    if finding == "not_found":
        return f"A person adds the record above, then {then}."
    return "Try the check again later, or ask the operator about the resolver (MCP_OAUTH_CLIENTS_DNS_SERVER)."
