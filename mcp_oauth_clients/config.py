"""Configuration: command-line flags, then the environment, then an env file for whatever they leave unset.

Names follow the official Cloudflare SDK (`CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_API_KEY` +
`CLOUDFLARE_EMAIL`, `CLOUDFLARE_BASE_URL`), plus `CLOUDFLARE_ACCOUNT_ID` for the default account;
settings of this server start with `MCP_OAUTH_CLIENTS_`. Secrets never appear in a `repr`.

What each source may set (the trust table) and how env files are read live in `config_sources`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from mcp_oauth_clients.checks import ACCOUNT_ID_PATTERN, is_loopback
from mcp_oauth_clients.config_sources import (
    CREDENTIAL_VARIABLES,
    DEFAULT_BASE_URL,
    FLAGS,
    FOUND_DOTENV,
    MIN_HTTP_TOKEN_LENGTH,
    SECRET_VARIABLES,
    VARIABLES,
    ConfigError,
    characters,
    found_dotenv_may_set,
    read_choice,
    read_env_file,
    read_flag,
    read_integer,
    read_number,
    refusal,
    refuse_operator_settings,
    shown_value,
    source_of,
)

# Re-exported: the rest of the package reads configuration from this one module.
__all__ = [
    "DEFAULT_BASE_URL",
    "FLAGS",
    "FOUND_DOTENV",
    "MIN_HTTP_TOKEN_LENGTH",
    "SECRET_VARIABLES",
    "VARIABLES",
    "ConfigError",
    "Credentials",
    "Settings",
    "check_http_bind",
    "found_dotenv_may_set",
    "shown_value",
]


def _repr(value: Any) -> str:
    """The dataclass's own `repr` (the fields not marked repr=False), written once rather than compiled per class
    at import: before Python 3.13 each generated method is compiled then, which start-up pays for."""
    shown = ", ".join(f"{f.name}={getattr(value, f.name)!r}" for f in fields(value) if f.repr)
    return f"{type(value).__qualname__}({shown})"


# Neither is compared or hashed: eq=False spares start-up the generated methods (see `_repr`).
@dataclass(frozen=True, eq=False, repr=False)
class Credentials:
    """How requests authenticate; secrets are kept out of `repr` and logs."""

    api_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)

    __repr__ = _repr

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


# The account the sandbox serves (the documented example id): its default when none is configured.
SANDBOX_ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"


@dataclass(frozen=True, eq=False, repr=False)
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
    log_format: str = "text"
    read_only: bool = False
    allowed_accounts: frozenset[str] = frozenset()
    allow_unattended_promotion: bool = False
    audit_log: str | None = None
    secrets_dir: str | None = None  # where issued client secrets go; None: the per-user default (not over HTTP)
    http_token: str | None = field(default=None, repr=False)
    http_allowed_hosts: tuple[str, ...] = ()
    dns_server: tuple[str, int] | None = None  # (IP, port) of the resolver; None: the system's
    request_state_keys: tuple[str, ...] = field(default=(), repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    shown_values: Mapping[str, str] = field(default_factory=dict, repr=False)

    __repr__ = _repr

    @property
    def default_account(self) -> str | None:
        """The account a call without account_id goes to: the configured one, else the sandbox's own."""
        if self.account_id:
            return self.account_id.lower()
        return SANDBOX_ACCOUNT_ID if self.sandbox else None

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = None,
        *,
        overrides: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read the settings: `overrides` (the command-line flags, as the variables they stand for) win,
        then the environment, then the env file: `env_file` when the operator names one, else a `.env`
        found in the working directory, which may set only what `FOUND_DOTENV` allows.
        """
        environ = dict(os.environ if environ is None else environ)
        file_values, path = read_env_file(env_file)
        if env_file is None and path is not None:
            refuse_operator_settings(file_values, path)
        if any(environ.get(name, "") != "" for name in CREDENTIAL_VARIABLES):
            # The credentials are one identity: a file must not add a token beside the environment's key and
            # email (a token wins over them), nor the reverse. The environment's set is taken whole.
            file_values = {k: v for k, v in file_values.items() if k not in CREDENTIAL_VARIABLES}
        merged: dict[str, str] = {}
        sources: dict[str, str] = {}
        for name in VARIABLES:
            if environ.get(name, "") != "":
                merged[name], sources[name] = environ[name], "environment"
            elif file_values.get(name):
                merged[name], sources[name] = file_values[name] or "", str(path)
        for name, value in (overrides or {}).items():
            merged[name], sources[name] = value, "command line"
        return cls(
            credentials=Credentials(
                api_token=merged.get("CLOUDFLARE_API_TOKEN") or None,
                api_key=merged.get("CLOUDFLARE_API_KEY") or None,
                email=merged.get("CLOUDFLARE_EMAIL") or None,
            ),
            base_url=_base_url(merged, sources),
            account_id=_account_id(merged, sources),
            sandbox=read_flag(merged, sources, "MCP_OAUTH_CLIENTS_SANDBOX"),
            timeout=read_number(merged, sources, "MCP_OAUTH_CLIENTS_TIMEOUT", 20.0, low=0.1, high=300),
            connect_timeout=read_number(merged, sources, "MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT", 5.0, low=0.1, high=60),
            max_retries=read_integer(merged, sources, "MCP_OAUTH_CLIENTS_MAX_RETRIES", 2, low=0, high=5),
            max_retry_wait=read_number(merged, sources, "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT", 5.0, low=0, high=60),
            retry_backoff=read_number(merged, sources, "MCP_OAUTH_CLIENTS_RETRY_BACKOFF", 0.5, low=0.01, high=8),
            log_level=read_choice(
                merged, sources, "MCP_OAUTH_CLIENTS_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "WARNING"
            ),
            log_format=read_choice(merged, sources, "MCP_OAUTH_CLIENTS_LOG_FORMAT", ("TEXT", "JSON"), "TEXT").lower(),
            read_only=read_flag(merged, sources, "MCP_OAUTH_CLIENTS_READ_ONLY"),
            allowed_accounts=_allowed_accounts(merged, sources),
            allow_unattended_promotion=read_flag(merged, sources, "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION"),
            audit_log=merged.get("MCP_OAUTH_CLIENTS_AUDIT_LOG") or None,
            secrets_dir=merged.get("MCP_OAUTH_CLIENTS_SECRETS_DIR", "").strip() or None,
            http_token=merged.get("MCP_OAUTH_CLIENTS_HTTP_TOKEN") or None,
            http_allowed_hosts=_allowed_hosts(merged, sources),
            dns_server=_dns_server(merged, sources),
            request_state_keys=_request_state_keys(merged),
            sources=sources,
            shown_values={k: shown_value(v) for k, v in merged.items() if k not in SECRET_VARIABLES},
        )

    def secrets(self) -> list[str]:
        """Every configured secret: Cloudflare credentials and the HTTP bearer token."""
        return (
            self.credentials.secrets() + ([self.http_token] if self.http_token else []) + list(self.request_state_keys)
        )


def _base_url(values: Mapping[str, str], sources: Mapping[str, str]) -> str:
    """https, or http only to a loopback address (the test fake, a local proxy); never a user name or password."""
    raw = (values.get("CLOUDFLARE_BASE_URL") or "").strip()
    if not raw:
        return DEFAULT_BASE_URL
    where = f"CLOUDFLARE_BASE_URL (from {sources.get('CLOUDFLARE_BASE_URL', 'settings')})"
    fix = f"use an https URL such as {DEFAULT_BASE_URL}"
    if _UNSAFE_URL_CHARS.search(raw):
        raise ConfigError(f"{where} contains spaces, control characters or backslashes", fix)
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{where} is not an absolute http(s) URL", fix)
    if "@" in parts.netloc:
        # Not echoed: the part before @ may be a password.
        raise ConfigError(f"{where} carries a user name or password", "remove the part before @; " + fix)
    try:
        parts.port  # noqa: B018  # raises on a malformed port
    except ValueError:
        raise ConfigError(f"{where} has a malformed port", fix) from None
    if parts.query or parts.fragment or not parts.hostname:
        raise ConfigError(f"{where} must be scheme, host and path only (no query or fragment)", fix)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{where} uses plain http to {parts.hostname}: the token would cross the network unencrypted. http "
            "is accepted only for a loopback address (127.0.0.0/8, ::1, localhost)",
            fix,
        )
    return raw.rstrip("/")


_UNSAFE_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\]")


def _account_id(values: Mapping[str, str], sources: Mapping[str, str]) -> str | None:
    """The default account, checked like the `account_id` argument (32 hex) so a typo fails at start-up."""
    raw = (values.get("CLOUDFLARE_ACCOUNT_ID") or "").strip()
    if not raw:
        return None
    if not re.fullmatch(ACCOUNT_ID_PATTERN, raw):
        # The value is not echoed: a token pasted into the wrong field must not be printed.
        raise ConfigError(
            f"CLOUDFLARE_ACCOUNT_ID (from {sources.get('CLOUDFLARE_ACCOUNT_ID', 'settings')}) is malformed: "
            f"{_shape(raw)}, where an account id is 32 hexadecimal characters",
            _ACCOUNT_FIX,
        )
    return raw


def _allowed_accounts(values: Mapping[str, str], sources: Mapping[str, str]) -> frozenset[str]:
    """The allow-list, every entry checked like the `account_id` argument."""
    name = "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS"
    entries = [a.strip() for a in values.get(name, "").split(",") if a.strip()]
    for number, entry in enumerate(entries, start=1):
        if not re.fullmatch(ACCOUNT_ID_PATTERN, entry):
            raise ConfigError(
                f"{name} (from {sources.get(name, 'settings')}): entry {number} is malformed: {_shape(entry)}, "
                "where an account id is 32 hexadecimal characters",
                _ACCOUNT_FIX,
            )
    return frozenset(entry.lower() for entry in entries)


_ACCOUNT_FIX = "copy the account id from the Cloudflare dashboard URL (dash.cloudflare.com/<account id>/...)"


def _shape(value: str) -> str:
    """What is wrong with an id, without repeating it."""
    if len(value) == 32:
        return f"{characters(value)}, not all hexadecimal"
    return characters(value)


def _dns_server(values: Mapping[str, str], sources: Mapping[str, str]) -> tuple[str, int] | None:
    """`IP`, `IP:PORT` or `[IPv6]:PORT`; a name is refused (resolving it would need a resolver)."""
    name = "MCP_OAUTH_CLIENTS_DNS_SERVER"
    raw = values.get(name, "").strip()
    if not raw:
        return None
    host, port = raw, "53"
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise refusal(values, sources, name, "is not an IP address, IP:PORT or [IPv6]:PORT")
    return host, number


def _allowed_hosts(values: Mapping[str, str], sources: Mapping[str, str]) -> tuple[str, ...]:
    """Host names or IP addresses (an IPv6 one with or without brackets), without a port: the HTTP
    Host header's name part, which DNS-rebinding protection compares with each entry."""
    name = "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS"
    entries = [h.strip() for h in values.get(name, "").split(",") if h.strip()]
    for number, entry in enumerate(entries, start=1):
        if not (_is_ip(entry.removeprefix("[").removesuffix("]")) or _HOST_NAME.fullmatch(entry)):
            raise ConfigError(
                f"{name} (from {source_of(sources, name)}): entry {number} is not a host name or an IP address "
                f"({characters(entry)}, not shown), with no port, scheme or path",
                "list the names clients use to reach the server, e.g. mcp.example.com",
            )
    return tuple(entries)


# A DNS host name: labels of letters, digits and hyphens, at most 63 characters each, 253 in all.
_HOST_NAME = re.compile(r"(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _request_state_keys(values: Mapping[str, str]) -> tuple[str, ...]:
    name = "MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY"
    keys = tuple(k.strip() for k in values.get(name, "").split(",") if k.strip())
    if any(len(k) < 32 for k in keys):
        raise ConfigError(f"{name}: each key must be at least 32 characters of secret randomness")
    return keys


def check_http_bind(settings: Settings, host: str) -> None:
    """Refuse to serve HTTP beyond loopback without a long bearer token, or on every address without the
    Host names clients use (the server and doctor both ask this)."""
    if is_loopback(host):
        return
    name = "MCP_OAUTH_CLIENTS_HTTP_TOKEN"
    if not settings.http_token:
        raise ConfigError(
            f"refusing to listen on {host} without {name}: anyone who can reach this address could change your "
            "OAuth clients with this server's Cloudflare token",
            f"set {name} to a long random value (MCP clients send it as 'Authorization: Bearer ...'), or bind to "
            "127.0.0.1",
        )
    if len(settings.http_token) < MIN_HTTP_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to listen on {host}: {name} has {characters(settings.http_token)}, fewer than "
            f"{MIN_HTTP_TOKEN_LENGTH}, so it could be guessed",
            "set it to a long random value, e.g. the output of: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    if host in ("0.0.0.0", "::") and not settings.http_allowed_hosts:
        raise ConfigError(
            f"listening on {host} needs MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS (the Host names clients use), so that "
            "DNS-rebinding protection knows which Host headers to accept",
            "set it to the names clients use, e.g. mcp.example.com",
        )
