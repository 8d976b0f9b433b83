"""Where a secret issued by a create or a rotation goes, reserved before the request leaves.

One order of preference: over stdio, a new file in the secrets folder (the operator's, else the per-user
default); over HTTP, a one-time link the person accepted (`secret_links`: the MCP client declares URL-mode
elicitation, protocol 2026-07-28), else a file in the operator's folder, else refused with nothing sent.

The secret is taken out of Cloudflare's answer the moment it arrives (`take_secret`), before
`write_path.attempt_write` keeps that answer in the attempt that is audited and rendered, and put where it
was reserved; only its path or link expiry, and its fingerprint, go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcp_oauth_clients.cloudflare_client import APIResult
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.errors import Refused
from mcp_oauth_clients.lifecycle_results import (
    SecretFile,
    SecretHandling,
)
from mcp_oauth_clients.secret_links import LinkDelivery, LinkReservation, SecretLink
from mcp_oauth_clients.secret_store import Reservation, SecretKind, SecretNotWritten, SecretStore
from mcp_oauth_clients.untrusted import quoted, redact

SECRETS_DIR_VARIABLE = "MCP_OAUTH_CLIENTS_SECRETS_DIR"


def secrets_folder(settings: Settings) -> Path | None:
    """The operator's secrets folder (MCP_OAUTH_CLIENTS_SECRETS_DIR), if set: never from a found .env."""
    return Path(settings.secrets_dir).expanduser() if settings.secrets_dir else None


def secret_store(
    settings: Settings, *, over_http: bool, link: LinkDelivery | None = None
) -> SecretStore | LinkDelivery:
    """Where a secret issued now goes: the link the person accepted, else a file. Over HTTP the person may not
    reach this machine's disk: only a folder the operator chose will do, else the call is refused before
    anything is sent."""
    if link is not None:
        if link.reservation is None:
            raise Refused(
                _NO_LINK.get(link.answer, _NO_LINK["expired"]) + " Nothing was sent.",
                next_step="call again if the person wants the client secret now; a new link is offered.",
            )
        return link
    folder = secrets_folder(settings)
    if folder is None and over_http:
        raise Refused(
            "Refused before sending anything: this call would issue a client secret, and over HTTP the person "
            f"cannot reach this server's default secrets folder ({SECRETS_DIR_VARIABLE} is not set).",
            next_step="connect with an MCP client that supports URL-mode elicitation (protocol 2026-07-28), so the "
            f"secret comes through a one-time link; or ask the operator to set {SECRETS_DIR_VARIABLE} to a folder "
            "the person can read; or use this server over stdio on the person's own machine.",
        )
    return SecretStore(folder)


_NO_LINK = {
    "declined": "The person declined the one-time link that would have carried the client secret.",
    "cancelled": "The person dismissed the one-time link that would have carried the client secret.",
    "expired": "The one-time link offered for the client secret expired before the person's answer came back.",
}


def take_secret(answer: APIResult) -> str | None:
    """Remove `client_secret` from the answer, in place, and return it (None when there is none).

    `attempt_write` keeps the answer in the `WriteAttempt` that is audited and rendered, so the secret
    leaves it here, first; any echo of its value elsewhere in the answer is redacted too.
    """
    result = answer.result
    if not isinstance(result, dict):
        return None
    secret = result.pop("client_secret", None)
    if not isinstance(secret, str) or not secret:
        return None
    kept = redact(result, [secret])
    if kept is not result:  # `redact` hands back the answer itself when no echo was found
        result.clear()
        result.update(kept)
    return secret


@dataclass(eq=False, repr=False)  # only __init__: nothing compares or prints one (see operations.Services)
class SecretCatch:
    """The file reserved for one secret before the request leaves, and what became of it."""

    store: SecretStore | None = None
    reservation: Reservation | LinkReservation | None = None
    file: SecretFile | None = None
    link: SecretLink | None = None
    lost: str | None = None

    def reserve(self, store: SecretStore | LinkDelivery, account_id: str, name: str) -> None:
        if isinstance(store, LinkDelivery):
            self.reservation = store.reservation
            return
        self.store = store
        self.reservation = store.reserve(account_id, name)  # SecretNotStorable: refused, nothing sent

    def keep(self, answer: APIResult, kind: SecretKind) -> None:
        """Take the secret out of the answer and into the reserved file; note it lost when it cannot go there."""
        secret = take_secret(answer)
        if self.reservation is None:
            return
        if secret is None:
            self.lost = "Cloudflare's answer held no usable client secret"
            return
        if isinstance(self.reservation, LinkReservation):
            self.link = self.reservation.write(secret)
            if self.link is None:
                self.lost = "the one-time link expired before Cloudflare answered"
            return
        client_id = answer.result.get("client_id") if isinstance(answer.result, dict) else None
        try:
            stored = self.reservation.write(
                secret, client_id=client_id if isinstance(client_id, str) else "", kind=kind
            )
        except SecretNotWritten as problem:
            self.lost = f"it could not be written to {quoted(str(problem.path), 500)} ({quoted(problem.reason, 120)})"
            return
        self.file = SecretFile(path=str(stored.path), fingerprint=stored.fingerprint)

    def handling(self, folder: Path | None = None) -> SecretHandling:
        where = folder or (self.store.folder if self.store is not None else None)
        return handling(folder=str(where or ""), file=self.file, link=self.link, lost=self.lost)

    def discard(self) -> None:
        if self.reservation is not None:
            self.reservation.discard()  # a file no secret came for is removed; a written one stays


def handling(
    *, folder: str = "", file: SecretFile | None = None, link: SecretLink | None = None, lost: str | None = None
) -> SecretHandling:
    """The result's account of the secret: the folder and file, or the link (no URL), or why it is lost."""
    return SecretHandling.model_validate({"folder": folder, "file": file, "link": link, "lost": lost})
