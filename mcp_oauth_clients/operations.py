"""What each tool does, in the domain's words: resolve the account, call Cloudflare, build the result.

The MCP layer (`tools.py`) only parses arguments and turns failures into `isError` results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mcp_oauth_clients.cloudflare_client import APIResult, CloudflareClient
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, CloudflareEmulator
from mcp_oauth_clients.errors import CloudflareAPIError, InvalidInput, UnknownOutcome
from mcp_oauth_clients.models import OAuthClient, OAuthClientUpdate
from mcp_oauth_clients.results import OAuthClientResult
from mcp_oauth_clients.verification import guidance_for


@dataclass
class Services:
    """What every tool call shares for the life of the process (the MCP lifespan state)."""

    settings: Settings
    cloudflare: CloudflareClient
    emulator: CloudflareEmulator | None = None

    def account_for(self, given: str | None) -> str:
        """The call's account_id, else the configured default; refuse when there is neither."""
        if given:
            return given.lower()
        if self.settings.account_id:
            return self.settings.account_id.lower()
        if self.settings.sandbox:
            return DEMO_ACCOUNT_ID
        raise InvalidInput(
            "account_id is required: this server has no default account (CLOUDFLARE_ACCOUNT_ID is not set). "
            "Nothing was sent.",
            next_step="pass account_id (32 hexadecimal characters from the Cloudflare dashboard URL), or ask a "
            "person to set CLOUDFLARE_ACCOUNT_ID for this server.",
        )


async def update_client(services: Services, params: OAuthClientUpdate) -> OAuthClientResult:
    """Send the PATCH with exactly the fields given; return the client as Cloudflare now has it."""
    account_id = services.account_for(params.account_id)
    body = params.body()
    answer = await services.cloudflare.update_oauth_client(account_id, params.oauth_client_id, body)
    try:
        return _result(services, account_id, answer, sent=body)
    except CloudflareAPIError as exc:
        # The write was accepted but the answer is unusable: say so, never "failed".
        raise UnknownOutcome(
            f"Cloudflare accepted the update but its answer could not be read: {exc.summary}",
            next_step="read the client back (get_oauth_client) to see what is stored.",
        ) from None


async def get_client(services: Services, account_id: str | None, client_id: str) -> OAuthClientResult:
    """Read one client."""
    account = services.account_for(account_id)
    answer = await services.cloudflare.get_oauth_client(account, client_id)
    return _result(services, account, answer, sent={})


def _result(services: Services, account_id: str, answer: APIResult, *, sent: dict[str, Any]) -> OAuthClientResult:
    try:
        client = OAuthClient.model_validate(answer.result)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise CloudflareAPIError(
            200,
            summary=f"Cloudflare's answer did not hold a readable OAuth client (problem with: {', '.join(fields)}).",
            request_id=answer.request_id,
        ) from None
    return OAuthClientResult(
        sandbox=services.settings.sandbox,
        account_id=account_id,
        client=client,
        sent=sent,
        verification=guidance_for(client),
        request_id=answer.request_id,
    )
