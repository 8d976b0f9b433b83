"""Where configuration may come from: every variable, the trust table, and reading an env file.

Trust: the environment, the flags and a file the operator names with `--env-file` are the operator's.
A `.env` merely found in the working directory is not: MCP clients start servers in the user's project
folder, where whoever wrote the project can leave one. `FOUND_DOTENV` says what such a file may set.
`config.Settings.load` merges the sources; this module says what each may hold, and reads the plain
values (flags, choices, numbers) with refusals that never repeat what could be a secret pasted into the
wrong setting.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
# Beyond loopback the bearer token is all that stands between the network and writes.
MIN_HTTP_TOKEN_LENGTH = 32

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
    "MCP_OAUTH_CLIENTS_MAX_RETRIES": "retries after a 408/409/429/5xx or a connection error, 0 to 5 (default 2)",
    "MCP_OAUTH_CLIENTS_RETRY_BACKOFF": "first retry delay in seconds, doubling up to 8 (default 0.5, as the "
    "official SDK)",
    "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT": "longest Retry-After (seconds) the server waits out; longer answers "
    "at once with when to retry (default 5)",
    "MCP_OAUTH_CLIENTS_LOG_LEVEL": "stderr log level: DEBUG, INFO, WARNING (default), ERROR",
    "MCP_OAUTH_CLIENTS_LOG_FORMAT": "stderr log format: text (default) or json (one JSON object per line, for log "
    "shippers)",
    "MCP_OAUTH_CLIENTS_READ_ONLY": "1 to refuse every write; reads and dry runs still work (same as --read-only)",
    "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": "comma-separated account ids; any other account is refused before any "
    "request (same as --allowed-accounts)",
    "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION": "1 lets a client that cannot ask a person promote a client to "
    "public, only with confirm_irreversible: true (same as --allow-unattended-promotion)",
    "MCP_OAUTH_CLIENTS_AUDIT_LOG": "file to append the JSON-lines audit log to (default: stderr; same as --audit-log)",
    "MCP_OAUTH_CLIENTS_SECRETS_DIR": "folder (mode 0700) for the client secrets a create or rotation issues (default: "
    "the per-user data folder's mcp-oauth-clients/secrets; required over HTTP)",
    "MCP_OAUTH_CLIENTS_HTTP_TOKEN": "bearer token MCP clients must send over streamable HTTP; required, with at "
    f"least {MIN_HTTP_TOKEN_LENGTH} characters, to listen beyond loopback",
    "MCP_OAUTH_CLIENTS_DNS_SERVER": "resolver for check_verification_record, IP or IP:PORT (default: the system's)",
    "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": "comma-separated Host names or IP addresses, without a port, accepted "
    "over HTTP (DNS-rebinding protection), e.g. mcp.example.com",
    "MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY": "secret (32+ characters) shared by every HTTP instance, so a consent "
    "round trip may end on another instance; comma-separated to rotate, the first seals",
}


CREDENTIAL_VARIABLES = ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL")
SECRET_VARIABLES = frozenset(
    {
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_API_KEY",
        "CLOUDFLARE_EMAIL",
        "MCP_OAUTH_CLIENTS_HTTP_TOKEN",
        "MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY",
    }
)

# The trust model, one row per variable: may a `.env` merely found in the working directory set it?
# None: yes. Otherwise the reason it may not: such a file must never decide where requests (and the
# token) go, loosen a guard rail, or name a file to write. A variable missing here counts as refused.
_WHERE_REQUESTS_GO = "it decides where requests, and the token, go"
_GUARD_RAIL = "it is a guard rail"
FOUND_DOTENV: dict[str, str | None] = {
    "CLOUDFLARE_API_TOKEN": None,
    "CLOUDFLARE_API_KEY": None,
    "CLOUDFLARE_EMAIL": None,
    "CLOUDFLARE_ACCOUNT_ID": None,
    "CLOUDFLARE_BASE_URL": _WHERE_REQUESTS_GO,
    # The sandbox sends nothing anywhere, but a planted switch would make real-looking changes go nowhere.
    "MCP_OAUTH_CLIENTS_SANDBOX": "it decides where requests go (to an in-memory emulation instead of Cloudflare)",
    "MCP_OAUTH_CLIENTS_TIMEOUT": None,
    "MCP_OAUTH_CLIENTS_CONNECT_TIMEOUT": None,
    "MCP_OAUTH_CLIENTS_MAX_RETRIES": None,
    "MCP_OAUTH_CLIENTS_RETRY_BACKOFF": None,
    "MCP_OAUTH_CLIENTS_MAX_RETRY_WAIT": None,
    "MCP_OAUTH_CLIENTS_LOG_LEVEL": None,
    "MCP_OAUTH_CLIENTS_LOG_FORMAT": None,
    "MCP_OAUTH_CLIENTS_READ_ONLY": _GUARD_RAIL,
    "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": _GUARD_RAIL,
    "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION": _GUARD_RAIL,
    "MCP_OAUTH_CLIENTS_AUDIT_LOG": "it names a file to write",
    "MCP_OAUTH_CLIENTS_SECRETS_DIR": "it names where client secrets are written",
    "MCP_OAUTH_CLIENTS_HTTP_TOKEN": _GUARD_RAIL,
    "MCP_OAUTH_CLIENTS_DNS_SERVER": "it decides where the verification check's DNS queries go",
    "MCP_OAUTH_CLIENTS_HTTP_ALLOWED_HOSTS": _GUARD_RAIL,
    "MCP_OAUTH_CLIENTS_REQUEST_STATE_KEY": "it seals the state of the consent round trip (a guard rail)",
}

# Command-line flags that stand for a variable; a flag wins over the environment and any file.
FLAGS: dict[str, str] = {
    "MCP_OAUTH_CLIENTS_SANDBOX": "--sandbox",
    "MCP_OAUTH_CLIENTS_READ_ONLY": "--read-only",
    "MCP_OAUTH_CLIENTS_ALLOWED_ACCOUNTS": "--allowed-accounts",
    "MCP_OAUTH_CLIENTS_ALLOW_UNATTENDED_PROMOTION": "--allow-unattended-promotion",
    "MCP_OAUTH_CLIENTS_AUDIT_LOG": "--audit-log",
}

# A settings file is a few hundred bytes; anything far larger is not one (and is not read into memory).
MAX_ENV_FILE_BYTES = 64 * 1024


def found_dotenv_may_set(name: str) -> bool:
    """Whether a `.env` found in the working directory (not named by the operator) may set `name`."""
    return name in FOUND_DOTENV and FOUND_DOTENV[name] is None


class ConfigError(ValueError):
    """A setting is present but unusable; the message names it, and `fix` says what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix


def read_env_file(env_file: str | os.PathLike[str] | None) -> tuple[dict[str, str | None], Path | None]:
    """The file's values, read literally (never `${VAR}`-expanded), and its path; ({}, None) when there is none."""
    named = env_file is not None
    path = Path(env_file) if env_file is not None else Path.cwd() / ".env"
    label = f"--env-file {path}" if named else f"{path} (found in the working directory)"
    if not path.exists():
        if named:
            raise ConfigError(f"{label}: no such file")
        return {}, None
    if path.is_dir():
        if named:
            raise ConfigError(f"{label} is a directory, not a settings file")
        return {}, None  # a virtual environment named .env, as some tutorials make: not a settings file
    if not path.is_file():
        # A FIFO or a link to /dev/stdin or /dev/zero would block start-up or eat the JSON-RPC stream.
        raise ConfigError(f"{label} is not a regular file", "remove it, or point --env-file at a settings file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ENV_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{label} cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_ENV_FILE_BYTES:
        raise ConfigError(f"{label} is larger than {MAX_ENV_FILE_BYTES // 1024} KiB: not a settings file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{label} is not UTF-8 text (byte {exc.start} cannot be decoded)", "save it as UTF-8"
        ) from None
    # Imported here: only a process that actually has an env file pays for it.
    from dotenv import dotenv_values

    # interpolate=False: `${CLOUDFLARE_API_TOKEN}` in a file stays those characters, so a file can never
    # copy a secret into a setting that is shown (doctor, logs) or sent somewhere.
    return dotenv_values(stream=io.StringIO(text), interpolate=False), path


def refuse_operator_settings(values: Mapping[str, str | None], path: Path) -> None:
    """A `.env` found in the working directory may set only what `FOUND_DOTENV` allows; refuse start-up otherwise."""
    refused = [name for name in VARIABLES if values.get(name) and not found_dotenv_may_set(name)]
    if not refused:
        return
    named = " and ".join(f"{name} ({FOUND_DOTENV.get(name) or 'it is not in the trust table'})" for name in refused)
    them = "them" if len(refused) > 1 else "it"
    flags = [FLAGS[name] for name in refused if name in FLAGS]
    raise ConfigError(
        f"{path} sets {named}: a .env merely found in the working directory may not, so the server does not start",
        f"set {them} in the environment (the MCP client's env block, or export in a shell)"
        + (f", with the flag {' / '.join(flags)}" if flags else "")
        + f", or in a file you name with --env-file PATH (if you wrote this file yourself: --env-file {path})",
    )


# --- reading one value, and refusing it without repeating what could be a secret ---

# The only values a refusal repeats: a number cannot be a secret pasted into the wrong setting.
SHOWABLE_NUMBER = re.compile(r"[+-]?\d{1,9}(\.\d{1,6})?")
# Runs of the characters API tokens and keys are made of, long enough to be one (a path's or a name's
# parts are shorter, or lack the mix of cases and digits a random token has).
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-+=]{32,}")
_MIXED = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"))
_LONG_HEX = re.compile(r"[0-9a-fA-F]{33,}")  # a Global API key is 37; a 32-hex account id is shown
SHOWN_LENGTH = 200


def looks_like_a_credential(value: str) -> bool:
    """Whether part of `value` is shaped like a random token (mixed cases and digits) or a long hex key."""
    return any(all(p.search(run) for p in _MIXED) or _LONG_HEX.fullmatch(run) for run in _TOKEN_RUN.findall(value))


def shown_value(value: str) -> str:
    """A setting's value as doctor and the start-up lines show it: clipped, and withheld when part of it is
    shaped like a credential (a token pasted into a setting that is not secret must not be printed)."""
    if looks_like_a_credential(value):
        return f"set ({characters(value)}; not shown: shaped like a credential)"
    return value if len(value) <= SHOWN_LENGTH else value[: SHOWN_LENGTH - 1] + "…"


def refusal(values: Mapping[str, str], sources: Mapping[str, str], name: str, rule: str) -> ConfigError:
    """The refusal of a setting: its name, where it came from and the rule it breaks. Its value is
    repeated only when it is a short number; anything else could be a secret pasted into the wrong
    setting, so only its length is said."""
    raw = values.get(name, "").strip()
    if SHOWABLE_NUMBER.fullmatch(raw):
        return ConfigError(f"{name}={raw} (from {source_of(sources, name)}) {rule}")
    return ConfigError(f"{name} (from {source_of(sources, name)}) {rule}; its value is not shown ({characters(raw)})")


def source_of(sources: Mapping[str, str], name: str) -> str:
    return sources.get(name, "settings")


def characters(value: str) -> str:
    return f"{len(value)} character{'s' if len(value) != 1 else ''}"


def read_flag(values: Mapping[str, str], sources: Mapping[str, str], name: str) -> bool:
    raw = values.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise refusal(values, sources, name, "is not 1 or 0 (also accepted: true/false, yes/no, on/off)")


def read_choice(
    values: Mapping[str, str], sources: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str
) -> str:
    raw = (values.get(name) or default).strip().upper()
    if raw not in allowed:
        raise refusal(values, sources, name, f"is not one of {', '.join(allowed)}")
    return raw


def read_number(
    values: Mapping[str, str], sources: Mapping[str, str], name: str, default: float, *, low: float, high: float
) -> float:
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        number = float(raw)
    except ValueError:
        raise refusal(values, sources, name, f"is not a number: use one between {low:g} and {high:g}") from None
    if not low <= number <= high:  # also refuses nan
        raise refusal(values, sources, name, f"must be between {low:g} and {high:g}")
    return number


def read_integer(
    values: Mapping[str, str], sources: Mapping[str, str], name: str, default: int, *, low: int, high: int
) -> int:
    """A count: a whole number within bounds (2.9 is refused, not rounded down to 2)."""
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[+-]?\d{1,9}", raw):
        raise refusal(values, sources, name, f"is not a whole number: use one from {low} to {high}")
    if not low <= int(raw) <= high:
        raise refusal(values, sources, name, f"must be a whole number from {low} to {high}")
    return int(raw)
