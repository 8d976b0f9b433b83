"""What a person must do in DNS so Cloudflare verifies the client URI host.

Everything said here comes from Cloudflare's guide "Create an OAuth client". The guide does not
name the exact DNS name of the record: we give the host and say the record goes on that name in
its DNS zone, and no more. That the guide names no other is said once, by the DNS check that looks
on the host and its parents (`dns_check.NAME_NOTE`), not in every read that carries this guidance.
A host that breaks DNS's own limits (`dns_lookup.NAME_RULE`) gets no record: no zone could hold one,
so the guidance says why and to set a valid client_uri instead. Every string taken from Cloudflare's
answer is bounded here, so the guidance fits any answer budget.
"""

from typing import Literal, overload

from pydantic import BaseModel, Field

from mcp_oauth_clients.dns_lookup import MAX_NAME_CHARS, name_problem
from mcp_oauth_clients.oauth_client import OAuthClient, host_of
from mcp_oauth_clients.untrusted import quoted

NEEDS_DNS = frozenset({"pending", "in_progress", "failed"})
TXT_PREFIX = "cloudflare_oauth_client_publisher="
# Cloudflare's value is the prefix and a short code (under 100 characters): a longer one is a broken or
# hostile answer, cut (and marked …) here so no answer carries it whole. A status longer than any real one too.
MAX_VALUE_CHARS = 2000
MAX_STATUS_CHARS = 128


class DNSRecord(BaseModel):
    """The record to add, exactly."""

    type: Literal["TXT"] = "TXT"
    name: str = Field(description="The client URI host; the record goes on this name in its DNS zone.")
    value: str = Field(description="The whole TXT value, including the cloudflare_oauth_client_publisher= prefix.")


class VerificationGuidance(BaseModel):
    """Where the client URI host stands, and the DNS work left, if any."""

    host: str | None = Field(description="Host of client_uri, the one Cloudflare verifies.")
    host_problem: str | None = Field(
        default=None, description="Why the host cannot be verified: it breaks DNS's own limits (it is never looked up)."
    )
    status: str | None = Field(description="pending, in_progress, verified, failed, or null when unknown.")
    dns_action_needed: bool = Field(description="True when a person must add or fix the TXT record.")
    dns_record: DNSRecord | None = Field(default=None, description="The TXT record to add, when one is needed.")
    next_steps: list[str] = Field(default_factory=list, description="What to do next, in order.")


def guidance_for(client: OAuthClient) -> VerificationGuidance:
    """Turn the returned client into DNS instructions (none when the host is verified)."""
    host = host_of(client.client_uri)
    verification = client.client_uri_verification
    status = clip(verification.status, MAX_STATUS_CHARS) if verification else None
    text = verification.text if verification else None

    if host is None and "client_uri" in client.odd:
        return VerificationGuidance(
            host=None,
            status=status,
            dns_action_needed=False,
            next_steps=[
                "The stored client_uri is not a URL that can be parsed (see odd_fields). Set a valid one "
                "(update_oauth_client with client_uri) before it can be verified or made public."
            ],
        )
    if host is None:
        return VerificationGuidance(
            host=None,
            status=status,
            dns_action_needed=False,
            next_steps=[
                "The client has no client_uri. Set one (update_oauth_client with client_uri) before "
                "it can be made public; private clients do not need it."
            ],
        )
    problem = name_problem(host)
    if problem is not None:
        return VerificationGuidance(
            host=clip(host, MAX_NAME_CHARS),
            host_problem=problem,
            status=status,
            dns_action_needed=False,
            next_steps=[
                f"The client URI host {quoted(host, 80)} is not a name DNS can hold ({problem}), so Cloudflare "
                "cannot verify it and no record is looked up. Set a client_uri whose host is a DNS name "
                "(update_oauth_client with client_uri) before it can be made public."
            ],
        )
    if status == "verified":
        return VerificationGuidance(host=host, status=status, dns_action_needed=False)
    if status not in NEEDS_DNS or not text:
        return VerificationGuidance(
            host=host,
            status=status,
            dns_action_needed=False,
            next_steps=[
                f"Cloudflare reported no verification code for {quoted(host)} (status: {quoted(status or 'unknown')}). "
                "Read the client again later (get_oauth_client)."
            ],
        )

    steps = [
        f"In the DNS zone of {quoted(host)}, add a TXT record on the name {quoted(host)} whose value is exactly "
        f"(without the quotes): {quoted(text, MAX_VALUE_CHARS)}",
        f"Copy the whole value, including the {TXT_PREFIX} prefix.",
        "Cloudflare polls DNS for this record until it is found or the check times out after two days.",
    ]
    if status == "failed":
        steps.insert(0, "The last verification failed or timed out.")
        steps.append(
            "After the record is in place, restart the check by sending the unchanged client_uri "
            "(update_oauth_client with the same client_uri)."
        )
    else:
        steps.append("If the check fails or times out, restart it by sending the unchanged client_uri.")
    steps.append("Verification is needed only to make the client public; a private client works without it.")
    return VerificationGuidance(
        host=host,
        status=status,
        dns_action_needed=True,
        dns_record=DNSRecord(name=host, value=clip(text, MAX_VALUE_CHARS)),
        next_steps=steps,
    )


@overload
def clip(text: str, limit: int) -> str: ...
@overload
def clip(text: None, limit: int) -> None: ...
def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters, the cut marked with "…" (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
