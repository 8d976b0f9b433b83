"""What the lifecycle tools answer (their outputSchema) and the text a model reads, rendered from it once.

No model here can hold a client secret: a secret is only ever a `SecretFile` (its path and fingerprint).
Every value from Cloudflare or the caller (names, URIs, ids, the account, visibility) reaches the text, and
the questions a person is asked, only through `untrusted.quoted` / `plain`. The output models inherit
`budget.Budgeted`, so an answer cut to its budget at the MCP edge says what it left out.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_oauth_clients.budget import Budgeted
from mcp_oauth_clients.errors import ToolFailure
from mcp_oauth_clients.oauth_client import OAuthClient
from mcp_oauth_clients.results import PREVIEW_BANNER, SANDBOX_BANNER, SETTINGS, value
from mcp_oauth_clients.secret_links import SecretLink
from mcp_oauth_clients.untrusted import VISIBILITIES, plain, quoted
from mcp_oauth_clients.verification import MAX_VALUE_CHARS, VerificationGuidance

LIST_TOOL = "list_oauth_clients"
ROTATE_TOOL = "rotate_oauth_client_secret"
DELETE_ROTATED_TOOL = "delete_rotated_oauth_client_secret"


class SecretFile(BaseModel):
    """Where a secret went: a file only this server's user can read. Never the secret itself."""

    path: str = Field(description="Absolute path of the 0600 file holding the secret.")
    fingerprint: str = Field(description="First 8 hex of the secret's SHA-256, to tell secrets apart.")


class SecretHandling(BaseModel):
    """Where a secret issued by this call goes (a preview: the folder) or went, or why it is lost."""

    folder: str = Field(description="The secrets folder.")
    file: SecretFile | None = Field(default=None, description="The secret's file, once written.")
    link: SecretLink | None = Field(default=None, description="The one-time link it went through (never its URL).")
    lost: str | None = Field(default=None, description="Why the secret Cloudflare issued could not be kept.")


class CreatedClient(Budgeted):
    """A created client (or the preview of one): its settings, its secret's file, the DNS work left."""

    sandbox: bool = Field(description="True when served by the in-memory sandbox, not by Cloudflare.")
    preview: bool = Field(default=False, description="True for a dry run: nothing was sent.")
    account_id: str
    sent: dict[str, Any] = Field(description="The create body, exactly (a dry run: what would be sent).")
    client: OAuthClient | None = Field(default=None, description="The client as Cloudflare stored it (data).")
    verification: VerificationGuidance | None = Field(default=None, description="Client URI host verification.")
    secret: SecretHandling
    side_effects: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    request_id: str | None = None


class SecretRotation(Budgeted):
    """A rotation (or its preview): the new secret's file and the clean-up step."""

    sandbox: bool
    preview: bool = False
    account_id: str
    client_id: str
    client_name: str | None = None
    secret: SecretHandling
    next_steps: list[str] = Field(default_factory=list)
    request_id: str | None = None


class Deletion(Budgeted):
    """A deletion of a client or of its previous (rotated) secret, or its preview: what is lost."""

    sandbox: bool
    preview: bool = False
    outcome: Literal["applied", "nothing_to_change"] | None = Field(
        default=None, description="applied, or nothing_to_change (nothing was sent); null for a dry run."
    )
    what: Literal["client", "rotated_secret"]
    account_id: str
    client_id: str
    client_name: str | None = None
    visibility: str | None = None
    lost: list[str] = Field(default_factory=list, description="What is (or would be) lost, for good.")
    notes: list[str] = Field(default_factory=list)
    request_id: str | None = None


def _name(name: str | None) -> str:
    return quoted(name) if name else "(unnamed)"


def _subject(result: SecretRotation | Deletion) -> str:
    return f"OAuth client {plain(result.client_id)} {_name(result.client_name)} in account {plain(result.account_id)}"


def _head(sandbox: bool, preview: bool) -> list[str]:
    return ([SANDBOX_BANNER] if sandbox else []) + ([PREVIEW_BANNER] if preview else [])


def _secret_lines(secret: SecretHandling, preview: bool, *, rotation: bool = False) -> list[str]:
    if secret.lost is not None:
        if rotation:  # a new rotation is refused while this one is pending: the next step says what to do
            return [f"WARNING: the new secret is lost: {secret.lost}."]
        return [f"WARNING: the new secret is lost: {secret.lost}. Rotate it ({ROTATE_TOOL}) to get one you can use."]
    if secret.link is not None:
        if preview or secret.link.expires_at is None:
            return ["The secret would be offered to the person through a one-time link from this server, never to you."]
        until = secret.link.expires_at[11:16]
        return [
            f"The secret was offered to the person through a one-time link from this server (fingerprint "
            f"{secret.link.fingerprint}): it opens once, until {until} UTC, and is not shown here. If the person "
            f"does not open it in time, the secret is gone: rotate it ({ROTATE_TOOL})."
        ]
    if secret.file is not None:
        return [
            f"The secret is in {quoted(secret.file.path, 500)} (fingerprint {secret.file.fingerprint}), readable only "
            "by this server's user. It is not shown here: a person copies it to where the app reads it, then "
            "deletes the file."
        ]
    if preview:
        return [f"The secret would go to a new file in {quoted(secret.folder, 500)}, readable only by you."]
    return ["Cloudflare's answer held no secret."]


def describe_created(result: CreatedClient, _: object = None) -> str:
    lines = _head(result.sandbox, result.preview)
    client = result.client
    if client is None:
        lines.append(f"Preview of a new OAuth client in account {plain(result.account_id)}; it would be sent as:")
        lines += [f"{name}: {value(data)}" for name, data in result.sent.items()]
    else:
        lines.append(
            f"Created OAuth client {plain(client.client_id)} in account {plain(result.account_id)}: "
            f"{_name(client.client_name)}, visibility {plain(client.visibility, VISIBILITIES)}."
        )
        lines += [f"{field}: {value(getattr(client, field))}" for field in SETTINGS]
    lines += [f"Side effect: {e}" for e in result.side_effects]
    lines += [f"Note: {n}" for n in result.notes]
    record = result.verification.dns_record if result.verification is not None else None
    if record is not None and result.verification is not None:
        lines.append(
            f"To verify the client URI host {quoted(result.verification.host)}, a person adds this DNS record:"
        )
        lines.append(f"  type TXT   name {quoted(record.name)}   value {quoted(record.value, MAX_VALUE_CHARS)}")
    lines += _secret_lines(result.secret, result.preview)
    lines += [f"Next step: {step}" for step in result.next_steps]
    return "\n".join(lines)


def describe_rotated(result: SecretRotation, _: object = None) -> str:
    lines = _head(result.sandbox, result.preview)
    lines.append(f"{'Would rotate' if result.preview else 'Rotated'} the secret of {_subject(result)}.")
    lines += _secret_lines(result.secret, result.preview, rotation=True)
    lines += [f"Next step: {step}" for step in result.next_steps]
    return "\n".join(lines)


def describe_deleted(result: Deletion, _: object = None) -> str:
    lines = _head(result.sandbox, result.preview)
    subject = _subject(result)
    thing = "the previous (rotated) secret of " if result.what == "rotated_secret" else ""
    if result.outcome == "nothing_to_change":
        lines.append(f"Nothing to delete on {subject}. Nothing was sent.")
    elif result.preview:
        lines.append(f"Would delete {thing}{subject}. Lost for good:")
    else:
        lines.append(f"Deleted {thing}{subject}. Lost for good:")
    if result.outcome != "nothing_to_change":
        lines += [f"- {item}" for item in result.lost]
    lines += [f"Note: {n}" for n in result.notes]
    return "\n".join(lines)


class SecretOutcomeUnknown(ToolFailure):
    """A create or rotation whose answer was lost: it may have happened, and then its secret is lost.

    Not retried (a retry could make a second client, or a second secret); the tool read back what it
    could (`found`) so the model can say what now exists. Rendered from these facts, never from the
    failure that ended the request (whose text could quote the answer).
    """

    kind = "unknown_outcome"
    audit_outcome = "unknown"

    def __init__(self, what: str, found: str, next_step: str, *, secret: SecretFile | None = None) -> None:
        kept = (
            f" The secret Cloudflare returned is in {quoted(str(secret.path), 500)} (fingerprint {secret.fingerprint})."
            if secret is not None
            else " If it happened, its secret is lost: it must be rotated before the client can be used."
        )
        super().__init__(
            f"Outcome unknown: the {what} may or may not have happened (its answer was lost). It was not retried: "
            f"a retry could do it twice. {found}{kept}",
            next_step=next_step,
        )


def found_by_name(name: str, matches: list[OAuthClient] | None) -> str:
    """What the lookup by name shows: the clients of that name now, or that it could not be done."""
    if matches is None:
        return f"Looking the name up ({LIST_TOOL}) failed too."
    if not matches:
        return f"Looked up just now ({LIST_TOOL}): no client named {quoted(name)} exists, so it most likely failed."
    found = "; ".join(f"{plain(c.client_id)} created {value(c.created_at)}" for c in matches[:10])
    return f"Looked up just now ({LIST_TOOL}): {len(matches)} client(s) named {quoted(name)} exist: {found}."


# --- the questions a person answers before a deletion --------------------------------------------------------


class ClientDeletionConsent(BaseModel):
    """The person types the client's name (or its id, when the name cannot be typed) to delete it."""

    model_config = ConfigDict(defer_build=True)  # built when a person is first asked, not at start-up

    confirm: str = Field(description="Type it exactly as the question shows it. Deleting cannot be undone.")


class RotatedSecretDeletionConsent(BaseModel):
    """The one question a person answers before a client's previous secret is deleted."""

    model_config = ConfigDict(defer_build=True)  # built when a person is first asked, not at start-up

    delete_previous_secret: bool = Field(description="Yes, delete the previous secret. This cannot be undone.")


def confirmation_word(client: OAuthClient | None, client_id: str) -> str:
    """What the person types: the name when it reads as itself in the question, else the id."""
    name = (client.client_name or "").strip() if client is not None else ""
    return name if name and quoted(name) == f'"{name}"' else client_id


def deletion_question(
    account_id: str, client_id: str, client: OAuthClient | None, irreversible: str, rotated: bool
) -> str:
    """Names the account, the client (name and id) and what is lost; for a client, what to type.

    The name is an outside value like any other: it stands quoted once, and the person is told to type it
    without the quotes, so no name can pass for words of the question.
    """
    subject = f"the OAuth client {_name(client.client_name if client else None)} ({plain(client_id)})"
    account = f"Cloudflare account {plain(account_id)}"
    if rotated:
        return f"Delete the previous secret of {subject} in {account}? {irreversible}"
    what = "its id" if confirmation_word(client, client_id) == client_id else "its name"
    return f"DELETE {subject} in {account}? {irreversible} To confirm, type {what} as shown above, without quotes."
