"""Every way a tool call can end other than success, drawn once.

    ToolFailure                 the base: text for the model, never a secret or a stack trace
     ├── InvalidInput           the arguments were refused; nothing was sent
     ├── NotConfigured          credentials or account missing; nothing was sent
     ├── Refused                a guard rail said no; nothing was written
     ├── CloudflareAPIError     Cloudflare answered with an error (codes, messages, field pointers)
     │    └── RateLimited       429 with a wait longer than we will hold an assistant for
     ├── TransportFailure       no usable answer, and nothing was written
     ├── UnreadableAnswer       a success whose body could not be read (a read; a write's is UnknownOutcome)
     └── UnknownOutcome         a write was sent but its answer was lost: read back before retrying

The MCP layer turns each into an `isError` result whose text is `str(failure)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    def __init__(self, message: str, *, next_step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step

    def render(self) -> str:
        """The text a model reads: what happened, then exactly one next step."""
        if self.next_step:
            return f"{self.message}\nNext step: {self.next_step}"
        return self.message

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


@dataclass(frozen=True)
class CloudflareMessage:
    """One entry of the envelope's `errors` list."""

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
            plain = re.fullmatch(r"[\w.\[\]-]{1,120}", self.field)  # a field path reads as is; anything else is data
            text += f" (field: {self.field if plain else quoted(self.field, 120)})"
        if self.documentation_url:
            text += f" (docs: {quoted(self.documentation_url, 200)})"
        return text


class CloudflareAPIError(ToolFailure):
    """Cloudflare answered, and the answer was an error."""

    kind = "cloudflare_error"

    def __init__(
        self,
        status: int,
        errors: list[CloudflareMessage] | None = None,
        *,
        summary: str = "",
        hint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(summary or f"Cloudflare answered HTTP {status}", next_step=hint)
        self.status = status
        self.errors = errors or []
        self.summary = summary
        self.request_id = request_id

    def render(self) -> str:
        lines = [f"Cloudflare refused the request (HTTP {self.status}). {self.summary}".rstrip()]
        lines += [f"- {e.render()}" for e in self.errors]
        if self.request_id:
            lines.append(f"Cloudflare request id: {self.request_id}")
        if self.next_step:
            lines.append(f"Next step: {self.next_step}")
        return "\n".join(lines)

    @property
    def codes(self) -> list[int]:
        return [e.code for e in self.errors if e.code is not None]


class RateLimited(CloudflareAPIError):
    """Cloudflare asked us to wait longer than an assistant should be held."""

    kind = "rate_limited"

    def __init__(
        self,
        status: int,
        errors: list[CloudflareMessage] | None = None,
        *,
        retry_after: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(status, errors, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TransportFailure(ToolFailure):
    """No usable answer came back, and nothing was written."""

    kind = "transport_failure"

    def __init__(self, message: str, *, next_step: str | None = None, problem: str | None = None) -> None:
        super().__init__(message, next_step=next_step)
        self.problem = problem  # the short reason, e.g. "connection failed"


class UnreadableAnswer(ToolFailure):
    """Cloudflare answered success, but the answer could not be read (a read: nothing was written)."""

    kind = "unreadable_answer"

    def __init__(self, message: str, *, next_step: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message, next_step=next_step)
        self.request_id = request_id


class UnknownOutcome(ToolFailure):
    """A write was sent but its answer was lost: it may or may not have been applied."""

    kind = "unknown_outcome"
    audit_outcome = "unknown"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Outcome unknown: the update may or may not have been applied. {detail}",
            next_step="read the client back (get_oauth_client) and compare before sending the update again; "
            "do not assume it failed.",
        )
