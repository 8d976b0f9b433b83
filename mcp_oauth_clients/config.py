"""Configuration: the environment first, then a `.env` file for whatever the environment leaves unset.

Names follow the official Cloudflare SDK (`CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_API_KEY` +
`CLOUDFLARE_EMAIL`, `CLOUDFLARE_BASE_URL`), plus `CLOUDFLARE_ACCOUNT_ID` for the default account;
settings of this server start with `MCP_OAUTH_CLIENTS_`. Secrets never appear in a `repr`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
SANDBOX_BASE_URL = "https://sandbox.invalid/client/v4"

# Every variable the server reads, with the line `--help` and `.env.example` show for it.
VARIABLES: dict[str, str] = {
    "CLOUDFLARE_API_TOKEN": "API token with 'OAuth Client Read' and 'OAuth Client Write' on the account",
    "CLOUDFLARE_API_KEY": "legacy Global API key (with CLOUDFLARE_EMAIL), used only without a token",
    "CLOUDFLARE_EMAIL": "account email that goes with CLOUDFLARE_API_KEY",
    "CLOUDFLARE_ACCOUNT_ID": "default account id, so calls may omit account_id",
    "CLOUDFLARE_BASE_URL": f"API base URL (default {DEFAULT_BASE_URL})",
    "MCP_OAUTH_CLIENTS_SANDBOX": "1 to serve the in-memory sandbox instead of Cloudflare (same as --sandbox)",
    "MCP_OAUTH_CLIENTS_TIMEOUT": "seconds to wait for one Cloudflare answer (default 20)",
    "MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT": "seconds to wait for a connection (default 5)",
    "MCP_OAUTH_CLIENTS_MAX_RETRIES": "retries after a 408/409/429/5xx or a connection error (default 2)",
    "MCP_OAUTH_CLIENTS_RETRY_BACKOFF": "first retry delay in seconds, doubling up to 8 (default 0.5, as the "
    "official SDK)",
    "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT": "longest Retry-After (seconds) the server waits out; longer answers "
    "at once with when to retry (default 5)",
    "MCP_OAUTH_CLIENTS_LOG_LEVEL": "stderr log level: DEBUG, INFO, WARNING (default), ERROR",
    "MCP_OAUTH_CLIENTS_READ_ONLY": "1 to refuse every write; reads and dry runs still work (same as --read-only)",
    "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": "comma-separated account ids; any other account is refused before any "
    "request (same as --allowed-accounts)",
    "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION": "1 lets a client that cannot ask a person promote a client to "
    "public, only with confirm_irreversible: true (same as --allow-unattended-promotion)",
    "MCP_OAUTH_CLIENTS_AUDIT_LOG": "file to append the JSON-lines audit log to (default: stderr; same as --audit-log)",
    "MCP_OAUTH_CLIENTS_HTTP_TOKEN": "bearer token MCP clients must send over streamable HTTP; required to listen "
    "beyond loopback",
    "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": "comma-separated Host names accepted over HTTP (DNS-rebinding "
    "protection), e.g. mcp.example.com",
}


SECRET_VARIABLES = frozenset(
    {"CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "MCP_OAUTH_CLIENTS_HTTP_TOKEN"}
)


class ConfigError(ValueError):
    """A setting is present but unusable; the message names it."""


@dataclass(frozen=True)
class Credentials:
    """How requests authenticate; secrets are kept out of `repr` and logs."""

    api_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.api_token) or bool(self.api_key and self.email)

    @property
    def method(self) -> str:
        """Which scheme is in use, for messages that must not show the secret itself."""
        if self.api_token:
            return "CLOUDFLARE_API_TOKEN"
        if self.api_key and self.email:
            return "CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL"
        return "none"

    def headers(self) -> dict[str, str]:
        """The auth headers for one request (empty when nothing is configured)."""
        if self.api_token:
            return {"Authorization": f"Bearer {self.api_token}"}
        if self.api_key and self.email:
            return {"X-Auth-Key": self.api_key, "X-Auth-Email": self.email}
        return {}

    def secrets(self) -> list[str]:
        """The values that must never be written anywhere (used by redaction)."""
        return [s for s in (self.api_token, self.api_key, self.email) if s]


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know, read once at start-up."""

    credentials: Credentials = field(default_factory=Credentials)
    base_url: str = DEFAULT_BASE_URL
    account_id: str | None = None
    sandbox: bool = False
    timeout: float = 20.0
    connect_timeout: float = 5.0
    max_retries: int = 2
    max_retry_wait: float = 5.0
    retry_backoff: float = 0.5
    log_level: str = "WARNING"
    read_only: bool = False
    allowed_accounts: frozenset[str] = frozenset()
    allow_unattended_promotion: bool = False
    audit_log: str | None = None
    http_token: str | None = field(default=None, repr=False)
    http_allowed_hosts: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    shown_values: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = None,
        *,
        sandbox: bool | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read the settings; the environment wins over the file (default: `.env` in the working directory).

        `overrides` are command-line flags, given as the variables they stand for; they win over both.
        """
        environ = dict(os.environ if environ is None else environ)
        file_values = _read_env_file(env_file)
        merged: dict[str, str] = {}
        sources: dict[str, str] = {}
        for name in VARIABLES:
            if environ.get(name, "") != "":
                merged[name], sources[name] = environ[name], "environment"
            elif file_values.get(name):
                merged[name], sources[name] = file_values[name] or "", str(file_values.path)
        for name, value in (overrides or {}).items():
            merged[name], sources[name] = value, "command line"
        use_sandbox = _flag(merged, "MCP_OAUTH_CLIENTS_SANDBOX") if sandbox is None else sandbox
        allowed = frozenset(
            a.strip().lower() for a in merged.get("MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS", "").split(",") if a.strip()
        )
        for account in allowed:
            if not re.fullmatch(r"[0-9a-f]{32}", account):
                raise ConfigError(f"MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS: {account!r} is not a 32-hex account id")
        return cls(
            credentials=Credentials(
                api_token=merged.get("CLOUDFLARE_API_TOKEN") or None,
                api_key=merged.get("CLOUDFLARE_API_KEY") or None,
                email=merged.get("CLOUDFLARE_EMAIL") or None,
            ),
            base_url=(merged.get("CLOUDFLARE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            account_id=merged.get("CLOUDFLARE_ACCOUNT_ID") or None,
            sandbox=use_sandbox,
            timeout=_number(merged, "MCP_OAUTH_CLIENTS_TIMEOUT", 20.0, low=0.1, high=300),
            connect_timeout=_number(merged, "MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT", 5.0, low=0.1, high=60),
            max_retries=int(_number(merged, "MCP_OAUTH_CLIENTS_MAX_RETRIES", 2, low=0, high=5)),
            max_retry_wait=_number(merged, "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT", 5.0, low=0, high=60),
            retry_backoff=_number(merged, "MCP_OAUTH_CLIENTS_RETRY_BACKOFF", 0.5, low=0.01, high=8),
            log_level=_choice(merged, "MCP_OAUTH_CLIENTS_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "WARNING"),
            read_only=_flag(merged, "MCP_OAUTH_CLIENTS_READ_ONLY"),
            allowed_accounts=allowed,
            allow_unattended_promotion=_flag(merged, "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION"),
            audit_log=merged.get("MCP_OAUTH_CLIENTS_AUDIT_LOG") or None,
            http_token=merged.get("MCP_OAUTH_CLIENTS_HTTP_TOKEN") or None,
            http_allowed_hosts=tuple(
                h.strip() for h in merged.get("MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            sources=sources,
            shown_values={k: v for k, v in merged.items() if k not in SECRET_VARIABLES},
        )

    def secrets(self) -> list[str]:
        """Every configured secret: Cloudflare credentials and the HTTP bearer token."""
        return self.credentials.secrets() + ([self.http_token] if self.http_token else [])


class _FileValues(dict[str, str | None]):
    path: Path | None = None


def _read_env_file(env_file: str | os.PathLike[str] | None) -> _FileValues:
    values = _FileValues()
    path = Path(env_file) if env_file is not None else Path.cwd() / ".env"
    if env_file is not None and not path.is_file():
        raise ConfigError(f"--env-file {path}: no such file")
    if path.is_file():
        # Imported here: only a process that actually has a .env pays for it.
        from dotenv import dotenv_values

        values.update(dotenv_values(path))
        values.path = path
    return values


def _flag(values: Mapping[str, str], name: str) -> bool:
    raw = values.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r}: use 1 or 0")


def _choice(values: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (values.get(name) or default).strip().upper()
    if raw not in allowed:
        raise ConfigError(f"{name}={values.get(name)!r}: use one of {', '.join(allowed)}")
    return raw


def _number(values: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}={raw!r} must be between {low:g} and {high:g}")
    return number
