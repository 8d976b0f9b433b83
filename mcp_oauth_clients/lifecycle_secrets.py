"""Where a secret issued by a create or a rotation goes: a file reserved before the request leaves.

The secret is taken out of Cloudflare's answer the moment it arrives (`take_secret`), before
`write_path.attempt_write` keeps that answer in the attempt that is audited and rendered, and written to
the reserved file; only its path and fingerprint go on (`SecretFile`).
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
from mcp_oauth_clients.secret_store import Reservation, SecretKind, SecretNotWritten, SecretStore
from mcp_oauth_clients.untrusted import quoted, redact

SECRETS_DIR_VARIABLE = "MCP_OAUTH_CLIENTS_SECRETS_DIR"


def secrets_folder(settings: Settings) -> Path | None:
    """The operator's secrets folder (MCP_OAUTH_CLIENTS_SECRETS_DIR), if set: never from a found .env."""
    return Path(settings.secrets_dir).expanduser() if settings.secrets_dir else None


def secret_store(settings: Settings, *, over_http: bool) -> SecretStore:
    """Where a secret issued now goes. Over HTTP the person may not reach this machine's disk: only a
    folder the operator chose will do, else the call is refused before anything is sent."""
    folder = secrets_folder(settings)
    if folder is None and over_http:
        raise Refused(
            "Refused before sending anything: this call would issue a client secret, and over HTTP the person "
            f"cannot reach this server's default secrets folder ({SECRETS_DIR_VARIABLE} is not set).",
            next_step=f"ask the operator to set {SECRETS_DIR_VARIABLE} to a folder the person can read, or use "
            "this server over stdio on the person's own machine.",
        )
    return SecretStore(folder)


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
    result.clear()
    result.update(kept)
    return secret


@dataclass
class SecretCatch:
    """The file reserved for one secret before the request leaves, and what became of it."""

    store: SecretStore | None = None
    reservation: Reservation | None = None
    file: SecretFile | None = None
    lost: str | None = None

    def reserve(self, store: SecretStore, account_id: str, name: str) -> None:
        self.store = store
        self.reservation = store.reserve(account_id, name)  # SecretNotStorable: refused, nothing sent

    def keep(self, answer: APIResult, kind: SecretKind) -> None:
        """Take the secret out of the answer and into the reserved file; note it lost when it cannot go there."""
        secret = take_secret(answer)
        if secret is None or self.reservation is None:
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
        return SecretHandling(folder=str(where or ""), file=self.file, lost=self.lost)

    def discard(self) -> None:
        if self.reservation is not None:
            self.reservation.discard()  # a file no secret came for is removed; a written one stays
