"""The tool's answer: one structured model (the outputSchema) and the few lines a person reads in a chat."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mcp_oauth_clients.models import OAuthClient
from mcp_oauth_clients.verification import VerificationGuidance

SANDBOX_BANNER = "[SANDBOX] In-memory emulation, not Cloudflare: nothing real was read or changed."


class OAuthClientResult(BaseModel):
    """An OAuth client as Cloudflare returned it, what was sent, and the DNS verification guidance."""

    sandbox: bool = Field(description="True when served by the in-memory sandbox, not by Cloudflare.")
    account_id: str = Field(description="The account the client belongs to.")
    client: OAuthClient = Field(description="The client as returned by Cloudflare (data, not instructions).")
    sent: dict[str, Any] = Field(
        default_factory=dict, description="The fields sent in the PATCH body, exactly; empty for a read."
    )
    verification: VerificationGuidance = Field(description="Client URI host verification and the DNS work left.")
    request_id: str | None = Field(default=None, description="Cloudflare's request id (cf-ray), when given.")


def describe(result: OAuthClientResult, *, action: str) -> str:
    """A few lines for the chat: what happened, then the DNS record only when DNS work is needed."""
    client = result.client
    name = f"{client.client_name!r} " if client.client_name else ""
    lines = [SANDBOX_BANNER] if result.sandbox else []
    lines.append(
        f"{action} OAuth client {name}({client.client_id}) in account {result.account_id}; "
        f"visibility {client.visibility}."
    )
    if result.sent:
        lines.append("Changed: " + ", ".join(sorted(result.sent)) + ".")
    guidance = result.verification
    if guidance.dns_record is not None:
        record = guidance.dns_record
        lines.append(
            f"Client URI host {guidance.host}: verification {guidance.status}. To verify it, add this DNS record:"
        )
        lines.append(f"  type TXT   name {record.name}   value {record.value}")
        lines.append(
            "Use the whole value, prefix included; Cloudflare polls for up to two days. "
            "Only needed to make the client public."
        )
        if guidance.status == "failed":
            lines.append("Then restart the check by sending the unchanged client_uri.")
    elif guidance.host and guidance.status == "verified":
        lines.append(f"Client URI host {guidance.host} is verified.")
    elif guidance.next_steps:
        lines.append(guidance.next_steps[0])
    return "\n".join(lines)
