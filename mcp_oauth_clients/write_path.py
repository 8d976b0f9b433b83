"""The write path every tool that changes Cloudflare takes: plan, then apply; on record before it leaves.

    prepare() -> Plan          guards, one read of the client, checks, consent: nothing sent yet
    apply(plan) -> WriteAttempt
        1. intent line         written and flushed to the audit log, or the write is refused (fail closed)
        2. the request         sent once (retried only when the plan allows it)
        3. outcome line        applied / nothing_to_change / refused / failed / unknown, same attempt id

The outcome is decided here and only here: by the failure's class (`ToolFailure.audit_outcome`) or by
how far the attempt got. A tool renders its text from the `WriteAttempt`, never the other way round.
A new write (create, rotate, delete) is a new `prepare` and `read_answer`; this path stays as it is.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from mcp_oauth_clients.audit import AuditLog, AuditUnwritable
from mcp_oauth_clients.cloudflare_client import APIResult, CloudflareClient
from mcp_oauth_clients.diff import FieldChange
from mcp_oauth_clients.errors import Refused, ToolFailure
from mcp_oauth_clients.oauth_client import OAuthClient

Outcome = Literal["applied", "nothing_to_change", "refused", "failed", "unknown"]


# Before Python 3.13 a dataclass compiles each generated method at import, which start-up pays for. Target and
# PlannedRequest are NamedTuples (as immutable). Plan needs default lists, and WriteAttempt carries Cloudflare's
# answer (a created client's secret until it is taken out), so they stay dataclasses, without the eq and repr
# nothing uses: a plan or an attempt is never compared, hashed or printed.
class Target(NamedTuple):
    """What a write is aimed at, as known before anything is read (ids may be absent on a refusal)."""

    action: str  # the tool, e.g. "update_oauth_client"
    account_id: str | None
    client_id: str | None
    sandbox: bool = False

    def fields(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "account_id": self.account_id,
            "oauth_client_id": self.client_id,
            "sandbox": self.sandbox,
        }


class PlannedRequest(NamedTuple):
    """The one request a plan sends: method, API path, JSON body; `retry` False when one attempt was approved."""

    method: str
    path: str
    body: dict[str, Any] | None
    retry: bool = True


# What the audit keeps of a client that a request without a body acts on (never a secret: none is stored).
BODYLESS_BEFORE = ("client_name", "visibility", "client_uri", "redirect_uris")


@dataclass(frozen=True, eq=False, repr=False)
class Plan:
    """Everything a write will do, known before it is sent; a dry run shows exactly this.

    `request` is None when there is nothing to send (the client already is as asked). `irreversible`
    says what cannot be undone when a person must approve the write, else None.
    """

    target: Target
    before: OAuthClient | None  # the client as read just now (None only for a create)
    request: PlannedRequest | None
    changes: list[FieldChange] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    irreversible: str | None = None
    state_hash: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.request.body or {}) if self.request is not None else {}

    def intent(self) -> dict[str, Any]:
        """The audit intent's facts: the request, the plan's hash and, per field sent, the value before; a request
        without a body (a deletion, a rotation) records which client it acts on, so the file alone says what went."""
        assert self.request is not None
        names = list(self.body) or list(BODYLESS_BEFORE)
        before = {name: getattr(self.before, name, None) for name in names} if self.before is not None else {}
        return {
            "request": {"method": self.request.method, "path": self.request.path},
            "body": self.request.body,
            "plan_hash": self.state_hash,
            "before": before,
        }


@dataclass(frozen=True, eq=False, repr=False)
class WriteAttempt:
    """How one write attempt ended: the outcome, the plan (if one was made), the stored result or the failure."""

    attempt_id: str
    target: Target
    outcome: Outcome
    plan: Plan | None = None
    after: OAuthClient | None = None  # the client as Cloudflare stored it (applied)
    answer: APIResult | None = None
    failure: ToolFailure | None = None

    @property
    def request_id(self) -> str | None:
        if self.answer is not None:
            return self.answer.request_id
        return self.failure.request_id if self.failure is not None else None

    @property
    def reason(self) -> str | None:
        return self.failure.kind if self.failure is not None else None


def new_attempt_id() -> str:
    return secrets.token_hex(8)


def outcome_of(failure: ToolFailure | None, *, sent: bool, planned: Plan | None) -> Outcome:
    """The one rule: a failure's class decides, except that nothing sent can never be "unknown"."""
    if failure is None:
        return "applied" if planned is not None and planned.request is not None else "nothing_to_change"
    if failure.audit_outcome == "unknown" and not sent:
        return "failed"
    if failure.audit_outcome in ("refused", "failed", "unknown"):
        return failure.audit_outcome  # type: ignore[return-value]  # the three values ToolFailure declares
    return "unknown" if sent else "failed"


ReadAnswer = Callable[[APIResult], OAuthClient | None]


async def attempt_write(
    audit: AuditLog,
    cloudflare: CloudflareClient,
    target: Target,
    prepare: Callable[[], Awaitable[Plan]],
    read_answer: ReadAnswer,
) -> WriteAttempt:
    """Plan, record, send, record: every way it ends is one `WriteAttempt` and one outcome line.

    Anything but a `ToolFailure` (our bug, a cancelled call) is recorded ("unknown" once the request
    left, else "failed") and re-raised.
    """
    attempt_id = new_attempt_id()
    plan: Plan | None = None
    sent = False
    try:
        plan = await prepare()
        target = plan.target
        if plan.request is None:
            attempt = WriteAttempt(attempt_id, target, "nothing_to_change", plan)
        else:
            await _intend(audit, attempt_id, plan)
            sent = True
            request = plan.request
            answer = await cloudflare.request(request.method, request.path, json=request.body, retry=request.retry)
            attempt = WriteAttempt(attempt_id, target, "applied", plan, read_answer(answer), answer)
    except ToolFailure as failure:
        attempt = WriteAttempt(attempt_id, target, outcome_of(failure, sent=sent, planned=plan), plan, failure=failure)
    except BaseException as exc:
        reason = "internal_error" if isinstance(exc, Exception) else "cancelled"
        audit.record(attempt=attempt_id, **target.fields(), outcome="unknown" if sent else "failed", reason=reason)
        raise
    record_outcome(audit, attempt)
    return attempt


def refuse(audit: AuditLog, target: Target, failure: ToolFailure) -> WriteAttempt:
    """A write refused before a plan could be made (its arguments, say): audited, nothing sent."""
    attempt = WriteAttempt(new_attempt_id(), target, outcome_of(failure, sent=False, planned=None), failure=failure)
    record_outcome(audit, attempt)
    return attempt


def record_outcome(audit: AuditLog, attempt: WriteAttempt) -> None:
    entry: dict[str, Any] = {"attempt": attempt.attempt_id, **attempt.target.fields(), "outcome": attempt.outcome}
    if attempt.target.client_id is None and attempt.after is not None:
        entry["oauth_client_id"] = attempt.after.client_id  # a create: the id exists only once it is answered
    if attempt.reason is not None:
        entry["reason"] = attempt.reason
    entry["request_id"] = attempt.request_id
    if attempt.plan is not None and attempt.plan.before is not None and attempt.after is not None:
        entry["after"] = {name: getattr(attempt.after, name, None) for name in attempt.plan.body}
    audit.record(**entry)


async def _intend(audit: AuditLog, attempt_id: str, plan: Plan) -> None:
    try:
        await audit.intend(attempt=attempt_id, **plan.target.fields(), **plan.intent())
    except AuditUnwritable as exc:
        raise Refused(
            f"The audit log cannot record this write ({exc.reason}). Every write is recorded before it is sent, "
            "so nothing was sent.",
            next_step="ask the operator to fix the audit log (--audit-log / MCP_OAUTH_CLIENTS_AUDIT_LOG), "
            "then call again.",
        ) from None
