"""Where a client secret goes instead of a model's context: a new file that only the person can read.

A secret is issued once (a create, a rotation) and must reach the person and no one else. So before the
request leaves, `SecretStore.reserve()` creates the file that will hold it: a NEW file (never an existing
one, never through a symlink), mode 0600, in a folder of mode 0700 owned by this user. If that cannot be
done the call is refused with nothing sent (`SecretNotStorable`), so a secret is never returned with
nowhere to go. When the answer comes back, `Reservation.write()` puts the secret in the file and returns
only its path and a fingerprint (`StoredSecret`); `Reservation.discard()` removes a file no secret came
for. No object here holds the secret after `write()` returns, and nothing here logs.

The folder: `MCP_OAUTH_CLIENTS_SECRETS_DIR` when the operator sets it (config reads the variable and passes
the folder), else `default_folder()`. On Windows, POSIX modes do not exist: the protection is the per-user
profile folder's ACL, and the mode and owner checks are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Literal, NamedTuple

from mcp_oauth_clients.errors import Refused
from mcp_oauth_clients.untrusted import escape, quoted

APP_NAME = "mcp-oauth-clients"
SecretKind = Literal["created", "rotated"]
_KIND_TEXT: dict[SecretKind, str] = {
    "created": "the client's secret, issued when the client was created",
    "rotated": "the client's new secret, from a rotation; the previous secret keeps working until the "
    "rotated secret is deleted",
}
Problem = Literal[
    "folder_is_symlink",
    "not_a_folder",
    "folder_not_yours",
    "folder_too_open",
    "folder_not_creatable",
    "folder_not_usable",
    "file_not_creatable",
]
_PROBLEM_TEXT: dict[Problem, str] = {
    "folder_is_symlink": "the secrets folder is a symbolic link",
    "not_a_folder": "the secrets folder's path is not a folder",
    "folder_not_yours": "the secrets folder belongs to another user",
    "folder_too_open": "the secrets folder can be read or entered by other users (it must be mode 0700)",
    "folder_not_creatable": "the secrets folder could not be created",
    "folder_not_usable": "the secrets folder could not be opened",
    "file_not_creatable": "no new file could be created in the secrets folder",
}
_POSIX = os.name == "posix"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NAME_PART_LIMIT = 64
_MAX_SUFFIX = 100


def default_folder() -> Path:
    """The per-user data folder's `secrets` (platformdirs' `user_data_dir`): on Linux
    `$XDG_DATA_HOME/mcp-oauth-clients/secrets` (default `~/.local/share/...`), on macOS
    `~/Library/Application Support/mcp-oauth-clients/secrets`, on Windows
    `%LOCALAPPDATA%\\mcp-oauth-clients\\secrets`."""
    import platformdirs  # here, not at the top: only a call that keeps a secret pays for it, not start-up

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "secrets"


def fingerprint(secret: str) -> str:
    """The first 8 hex characters of the secret's SHA-256: enough to tell two secrets apart, far too little
    to recover one (`printf %s SECRET | sha256sum | cut -c1-8` gives the same)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


class SecretNotStorable(Refused):
    """The secret would have nowhere safe to go, so the call is refused before any request is sent."""

    kind = "secret_not_storable"

    def __init__(self, folder: Path, problem: Problem) -> None:
        self.folder = folder
        self.problem = problem
        super().__init__(
            f"Refused before sending anything: {_PROBLEM_TEXT[problem]} ({quoted(str(folder))}), so a secret "
            "Cloudflare returned could not be kept where only you can read it.",
            next_step="Fix that folder (a folder you own, mode 0700, not a link) or set "
            "MCP_OAUTH_CLIENTS_SECRETS_DIR to one, then try again.",
        )


class SecretNotWritten(Exception):
    """The secret came back but could not be written to its reserved file (which is removed).

    Not a refusal: the request was applied, so the tool must say the secret is lost and must be rotated.
    The message never holds the secret."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the secret could not be written to {path}: {reason}")
        self.path = path
        self.reason = reason


class StoredSecret(NamedTuple):
    """Where a secret went: the file's absolute path and the secret's fingerprint (see `fingerprint`).

    A NamedTuple (it holds no secret), as immutable as a frozen dataclass: before Python 3.13 a dataclass
    compiles each generated method at import, which start-up pays for.
    """

    path: Path
    fingerprint: str


class SecretStore:
    """The folder that receives secrets; `reserve()` makes a file for one before its request leaves."""

    def __init__(self, folder: Path | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.folder = (folder if folder is not None else default_folder()).absolute()
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def __repr__(self) -> str:
        return f"SecretStore(folder={str(self.folder)!r})"

    def reserve(self, account_id: str, client_name_or_id: str) -> Reservation:
        """Create a new, empty 0600 file for one secret, named after account and client (sanitised, with
        `-2`, `-3`... when the name is taken). Raises `SecretNotStorable` when that cannot be done safely."""
        folder_fd = self._open_folder()
        try:
            base = f"{_safe(account_id, 'account')}__{_safe(client_name_or_id, 'client')}"
            for n in range(1, _MAX_SUFFIX + 1):
                name = f"{base}{'' if n == 1 else f'-{n}'}.secret"
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
                target = name if folder_fd is not None else str(self.folder / name)
                try:
                    fd = os.open(target, flags, 0o600, dir_fd=folder_fd)
                except FileExistsError:
                    continue
                except OSError:
                    break
                if _POSIX:
                    os.fchmod(fd, 0o600)  # the umask shaped os.open's mode; the file must be exactly 0600
                return Reservation(self.folder / name, fd, folder_fd, account_id, self._clock)
        except BaseException:
            _close(folder_fd)
            raise
        _close(folder_fd)
        raise SecretNotStorable(self.folder, "file_not_creatable")

    def _open_folder(self) -> int | None:
        """Create the folder (0700) unless it exists, refuse it unless it is safe, and open it so the file
        is created in exactly the folder that was checked (no link swapped in between). None on Windows."""
        created = False
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(self.folder, 0o700)
            created = True
        except FileExistsError:
            if not os.path.lexists(self.folder):  # the parent's path holds a file: no folder can go there
                raise SecretNotStorable(self.folder, "folder_not_creatable") from None
        except OSError:
            raise SecretNotStorable(self.folder, "folder_not_creatable") from None
        if os.path.islink(self.folder):
            raise SecretNotStorable(self.folder, "folder_is_symlink")
        if not self.folder.is_dir():
            raise SecretNotStorable(self.folder, "not_a_folder")
        if not _POSIX:
            return None
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except OSError as error:
            problem: Problem = "folder_is_symlink" if error.errno == errno.ELOOP else "folder_not_usable"
            raise SecretNotStorable(self.folder, problem) from None
        facts = os.fstat(fd)
        if created:
            os.fchmod(fd, 0o700)  # mkdir's mode passes through the umask; the folder must be usable by us
            facts = os.fstat(fd)
        refusal: Problem | None = None
        if facts.st_uid != os.geteuid():
            refusal = "folder_not_yours"
        elif stat.S_IMODE(facts.st_mode) & 0o077:
            refusal = "folder_too_open"
        if refusal is not None:
            os.close(fd)
            raise SecretNotStorable(self.folder, refusal)
        return fd


class Reservation:
    """An empty 0600 file waiting for one secret. Use as a context manager: leaving it unwritten discards it."""

    def __init__(
        self, path: Path, fd: int, folder_fd: int | None, account_id: str, clock: Callable[[], datetime]
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self._folder_fd = folder_fd
        self._account_id = account_id
        self._clock = clock
        self.written = False

    def __repr__(self) -> str:
        return f"Reservation(path={str(self.path)!r}, written={self.written})"

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.discard()

    def write(self, secret: str, *, client_id: str, kind: SecretKind) -> StoredSecret:
        """Write the secret under a short header (account, client id, time, what it is), fsync it, and
        return where it is. Raises `SecretNotWritten` (the file removed) when it cannot."""
        if self._fd is None:
            raise RuntimeError("this reservation was already written or discarded")
        if not isinstance(secret, str) or not secret or not secret.isprintable() or secret != secret.strip():
            self._remove()
            raise SecretNotWritten(self.path, "the answer's secret is not a single line of text")
        written_at = self._clock().astimezone(timezone.utc).replace(microsecond=0).isoformat()
        content = (
            "# A Cloudflare OAuth client secret, written by mcp-oauth-clients; only you can read this file.\n"
            "# Put the secret where your application reads it, then delete this file.\n"
            f"account_id: {escape(self._account_id)}\n"
            f"client_id: {escape(client_id)}\n"
            f"written_at: {written_at.replace('+00:00', 'Z')}\n"
            f"what: {_KIND_TEXT[kind]}\n"
            f"client_secret: {secret}\n"
        ).encode()
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as error:
            self._remove()
            raise SecretNotWritten(self.path, error.strerror or type(error).__name__) from None
        self._finish()
        self.written = True
        return StoredSecret(self.path, fingerprint(secret))

    def discard(self) -> None:
        """Remove the file when no secret came for it; once written, the file stays."""
        if self._fd is not None:
            self._remove()

    def _remove(self) -> None:
        target = self.path.name if self._folder_fd is not None else str(self.path)
        with contextlib.suppress(OSError):
            os.unlink(target, dir_fd=self._folder_fd)
        self._finish()

    def _finish(self) -> None:
        fd, self._fd = self._fd, None
        _close(fd)
        if self._folder_fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._folder_fd)  # the file's name (or its removal) lasts through a crash too
        folder_fd, self._folder_fd = self._folder_fd, None
        _close(folder_fd)


def _safe(name: str, fallback: str) -> str:
    """A file-name part from untrusted text: ASCII letters, digits, `-` and `_` only (no dot, no separator,
    so no `..`, hidden file or path), runs of anything else as one `-`, at most 64 characters."""
    part = _UNSAFE.sub("-", name).strip("-_")[:_NAME_PART_LIMIT].strip("-_")
    return part or fallback


def _close(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
