"""Every way a tool call can end other than success, drawn once.

    ToolFailure                 the base: text for the model, never a secret or a stack trace
     ├── InvalidInput           the arguments were refused; nothing was sent
     ├── NotConfigured          credentials or account missing; nothing was sent
     ├── Refused                a guard rail said no; nothing was written
     ├── CloudflareAPIError     Cloudflare answered with an error (codes, messages, field pointers)
     │    └── RateLimited       429 with a wait longer than we will hold an assistant for
     ├── TransportFailure       no answer, and nothing can have been applied (not sent, or a read)
     ├── UnreadableAnswer       a success whose body could not be read (a read; a write's is UnknownOutcome)
     └── UnknownOutcome         a write that may have been applied (answer lost, a 5xx, unreadable): its
                                `cause` is the last answer's failure, shown as facts without its next step

Each holds its facts as fields; `render()` (also `str()`) draws the text once, ending in one next step.
The MCP layer turns each into an `isError` result with that text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mcp_oauth_clients.untrusted import quoted


class ToolFailure(Exception):
    """A failure the model can read and act on.

    `kind` names the failure; `audit_outcome` is what the audit records for a write that ended in it
    ("refused": nothing was sent, "failed": Cloudflare answered and nothing was written, "unknown": it
    may have been applied). Both are decided by the class, never parsed from the text.
    """

    kind = "failure"
    audit_outcome = "failed"
    request_id: str | None = None
    # What the outcome means for the account, said when this failure is the answer; not when it is shown
    # as the cause of an unknown outcome, where it would no longer be true.
    settled = ""

    def __init__(self, message: str, *, next_step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step

    def facts(self) -> list[str]:
        """What happened, one line each, without the next step: what another failure shows as its cause."""
        lines = [self.message]
        if self.request_id:
            lines.append(f"Cloudflare request id: {self.request_id}")
        return lines

    def render(self) -> str:
        """The text a model reads: what happened, then exactly one next step."""
        lines = self.facts()
        if self.settled:
            lines[0] += f" {self.settled}"
        if self.next_step:
            lines.append(f"Next step: {self.next_step}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class InvalidInput(ToolFailure):
    """The arguments were refused before any request was sent."""

    kind = "invalid_input"
    audit_outcome = "refused"


class NotConfigured(ToolFailure):
    """A setting the call needs (credentials, account) is missing; nothing was sent."""

    kind = "not_configured"
    audit_outcome = "refused"


class Refused(ToolFailure):
    """A guard rail refused the call; nothing was written."""

    kind = "refused"
    audit_outcome = "refused"


class CloudflareMessage(NamedTuple):
    """One entry of the envelope's `errors` list.

    A NamedTuple, not a frozen dataclass: as immutable, and before Python 3.13 a dataclass compiles each
    generated method at import, which start-up pays for.
    """

    code: int | None
    message: str
    pointer: str | None = None
    documentation_url: str | None = None

    @property
    def field(self) -> str | None:
        """The request-body field named by `source.pointer` (`/scopes/0` -> `scopes[0]`)."""
        if not self.pointer or not self.pointer.startswith("/"):
            return None
        parts = [p for p in self.pointer.split("/") if p]
        if not parts:
            return None
        head, *rest = parts
        return head + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest)

    def render(self) -> str:
        """One line: the code, then Cloudflare's words quoted as data (cleaned where the answer came in)."""
        text = quoted(self.message, 300)
        if self.code is not None:
            text = f"[{self.code}] {text}"
        if self.field:
            text += f" (field: {self.field if _is_request_field(self.field) else quoted(self.field, 120)})"
        if self.documentation_url:
            text += f" (docs: {quoted(self.documentation_url, 200)})"
        return text


def _is_request_field(path: str) -> bool:
    """A pointer into the request body that names one of the request's own fields (`redirect_uris[0]`) reads as is;
    any other text Cloudflare put there is its words, and is quoted as data."""
    from mcp_oauth_clients.models import UPDATABLE_FIELDS  # here: models imports this module's failures

    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    return head in UPDATABLE_FIELDS and re.fullmatch(r"[a-z_]+(\[\d{1,4}\]|\.[a-z_]+)*", path) is not None


class CloudflareAPIError(ToolFailure):
    """Cloudflare answered, and the answer was an error: its status, codes and messages, and request id."""

    kind = "cloudflare_error"

    def __init__(
        self,
        status: int,
        errors: list[CloudflareMessage] | None = None,
        *,
        summary: str = "",
        next_step: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(summary or f"Cloudflare answered HTTP {status}", next_step=next_step)
        self.status = status
        self.errors = errors or []
        self.summary = summary
        self.request_id = request_id

    def facts(self) -> list[str]:
        # A 5xx is Cloudflare failing, not refusing: after a write it says nothing about what was applied.
        what = "answered with a server error" if self.status >= 500 else "refused the request"
        lines = [f"Cloudflare {what} (HTTP {self.status}). {self.summary}".rstrip()]
        lines += [f"- {e.render()}" for e in self.errors]
        if self.request_id:
            lines.append(f"Cloudflare request id: {self.request_id}")
        return lines

    @property
    def codes(self) -> list[int]:
        return [e.code for e in self.errors if e.code is not None]


class RateLimited(CloudflareAPIError):
    """Cloudflare asked us to wait longer than an assistant should be held: `retry_after` s, until `retry_at`."""

    kind = "rate_limited"

    def __init__(
        self,
        status: int,
        errors: list[CloudflareMessage] | None = None,
        *,
        retry_after: float,
        retry_at: str,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            status,
            errors,
            summary=f"Cloudflare asks to wait {retry_after:.0f} s before the next call (until about {retry_at}); "
            "the server does not hold the conversation that long.",
            next_step=f"wait until {retry_at} before calling again. Cloudflare's rate limit is 1,200 requests per "
            "5 minutes per user; once exceeded, every call is refused for five minutes.",
            request_id=request_id,
        )
        self.retry_after = retry_after
        self.retry_at = retry_at  # a time of day, e.g. "14:05:09 UTC"

    settled = "Nothing was written."


class TransportFailure(ToolFailure):
    """No usable answer came back, and nothing was written: `problem` says why, after `attempts` attempts."""

    kind = "transport_failure"
    settled = "Nothing was written."

    def __init__(
        self, message: str, *, next_step: str | None = None, problem: str | None = None, attempts: int | None = None
    ) -> None:
        super().__init__(message, next_step=next_step)
        self.problem = problem  # the short reason, e.g. "connection failed"
        self.attempts = attempts

    @classmethod
    def unreachable(cls, base_url: str, attempts: int, problem: str) -> TransportFailure:
        """No attempt got an answer, and none can have been applied."""
        return cls(
            f"Could not reach Cloudflare at {base_url} after {attempts} attempt{'' if attempts == 1 else 's'} "
            f"({problem}).",
            next_step="check the network, a proxy (HTTPS_PROXY) or CLOUDFLARE_BASE_URL, then try again.",
            problem=problem,
            attempts=attempts,
        )


class UnreadableAnswer(ToolFailure):
    """Cloudflare answered success, but the answer could not be read (a read: nothing was written)."""

    kind = "unreadable_answer"

    def __init__(self, message: str, *, next_step: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message, next_step=next_step)
        self.request_id = request_id

    @classmethod
    def answered(cls, status: int, problem: str, request_id: str | None = None) -> UnreadableAnswer:
        """The failure for a success answer whose body is `problem` (e.g. "JSON list instead of an object")."""
        return cls(
            f"Cloudflare answered HTTP {status} but the answer could not be read ({problem}).",
            next_step="call again; if the answer stays unreadable, report it with the request id.",
            request_id=request_id,
        )


class UnknownOutcome(ToolFailure):
    """A write was sent and may have been applied: its answer was lost, a server error, or unreadable.

    `cause` is the last answer's own failure, when there was one; it is shown as facts, never with its
    next step, so the model reads one next step: read back before sending again.
    """

    kind = "unknown_outcome"
    audit_outcome = "unknown"

    def __init__(self, detail: str = "", *, cause: ToolFailure | None = None, next_step: str | None = None) -> None:
        super().__init__(
            f"Outcome unknown: the write may or may not have been applied. {detail}".rstrip(),
            next_step=next_step
            or "read the client back (get_oauth_client) and compare before sending it again; do not assume it failed.",
        )
        self.detail = detail
        self.cause = cause
        self.request_id = cause.request_id if cause is not None else None

    def facts(self) -> list[str]:
        return [self.message, *(self.cause.facts() if self.cause is not None else [])]
