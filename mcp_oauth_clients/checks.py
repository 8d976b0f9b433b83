"""The rules a value must meet before it may be sent, as plain functions.

Each check returns nothing when the value is acceptable and raises `ValueError` with a sentence
that says what would be accepted; the params model turns that into an error naming the field.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

from mcp_oauth_clients.untrusted import HIDDEN_CATEGORIES, escape_char

# Documented examples of both ids are 32 lowercase hex characters and the schema makes account_id
# exactly 32 long; client ids are not constrained by the schema, so they get a wider, path-safe shape.
ACCOUNT_ID_PATTERN = r"^[0-9a-fA-F]{32}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
# A state hash (oauth_client.state_hash): target and state digests, and the previewed change's after a dry run.
STATE_HASH_PATTERN = r"^sha256:[0-9a-f]{8}\.[0-9a-f]{32}(\.[0-9a-f]{32})?$"

IDENTITY_SCOPES_NEVER_OPTIONAL = frozenset({"openid", "offline", "offline_access"})
# The redirect rule in words: the field's description and the check's refusal say it the same way.
LOOPBACK_RULE = "plain http only on loopback (127.x.x.x, [::1], localhost; any port)"
REDIRECT_RULE = f"https, {LOOPBACK_RULE}, or a reversed-domain app scheme (com.example.app:/cb); no fragments."
# Schemes that can never be a redirect target, even though they look like a private-use scheme.
FORBIDDEN_SCHEMES = frozenset(
    {"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ftp", "ws", "wss"}
)
MAX_URI_LENGTH = 2048
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
HOST_RULE = (
    f"has a host DNS cannot hold: at most {MAX_HOST_LENGTH} characters, and 1 to {MAX_LABEL_LENGTH} between dots"
)

# Control characters are refused earlier, by check_visible (with the character shown), so they are not here.
_UNSAFE_CHARS = re.compile(r"[\s<>\"\\^`{|}]")


def check_identifier(value: str, pattern: str, what: str) -> None:
    """An identifier must be one safe path segment of the documented shape."""
    if not re.fullmatch(pattern, value):
        if pattern == ACCOUNT_ID_PATTERN:
            shape = "32 hexadecimal characters, as shown in the Cloudflare dashboard URL"
        else:
            shape = "1 to 128 letters, digits, '-' or '_' (Cloudflare shows 32 hexadecimal characters)"
        raise ValueError(f"{what} must be {shape}; no '/', '.', '?', '#', '%' or spaces")


def check_visible(value: str) -> None:
    """No character that hides or reorders text: a name or URI that reads one way and is another would be
    stored by Cloudflare and shown to people (consent screens), so such characters are never sent."""
    hidden = sorted({escape_char(ch) for ch in value if unicodedata.category(ch) in HIDDEN_CATEGORIES})
    if hidden:
        raise ValueError(
            f"contains control, bidi or invisible characters ({', '.join(hidden[:5])}); type the text without them"
        )


def check_host(host: str) -> None:
    """A host must fit DNS (RFC 1035 section 2.3.4): at most 253 characters, each label 1 to 63.

    Measured as DNS carries it, a non-ASCII label in its `xn--` form, so the host can be looked up (the
    verification check) and stored without a resolver, or Cloudflare, refusing it later.
    """
    labels = host.removesuffix(".").split(".")  # one final dot is the DNS root, not an empty label
    sizes = [len(label) if label.isascii() else len("xn--" + label.encode("punycode").decode()) for label in labels]
    if sum(sizes) + len(sizes) - 1 > MAX_HOST_LENGTH or not all(0 < size <= MAX_LABEL_LENGTH for size in sizes):
        raise ValueError(HOST_RULE)


def _split(value: str) -> SplitResult:
    if len(value) > MAX_URI_LENGTH:
        raise ValueError(f"is longer than {MAX_URI_LENGTH} characters")
    check_visible(value)
    if _UNSAFE_CHARS.search(value):
        raise ValueError("contains whitespace or characters that must be percent-encoded")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.hostname:
        check_host(parts.hostname)
    return parts


def check_web_url(value: str) -> None:
    """`client_uri`, `logo_uri`, `policy_uri`, `tos_uri`: an absolute http(s) URL with a host."""
    parts = _split(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL with a host, e.g. https://example.com/page")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP literals (RFC 8252 section 7.3): 127.0.0.0/8 and ::1.

    The one loopback test: a URL's host (`urlsplit().hostname`, brackets already gone), a bind address
    or a Host name (`[::1]`, with its brackets), in any case.
    """
    if host.lower() == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(value: str) -> None:
    """A redirect or post-logout URI: RFC 6749 3.1.2 and RFC 8252 (native apps)."""
    parts = _split(value)
    scheme = parts.scheme.lower()
    if not scheme:  # urlsplit takes a scheme only when it has RFC 3986's shape, so no second check is needed
        raise ValueError("must be an absolute URI, e.g. https://app.example.com/callback")
    if parts.fragment or value.endswith("#"):
        raise ValueError("must not contain a fragment ('#...'), RFC 6749 section 3.1.2")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if scheme == "https":
        if not parts.hostname:
            raise ValueError("https URI needs a host, e.g. https://app.example.com/callback")
        return
    if scheme == "http":
        if parts.hostname and is_loopback(parts.hostname):
            return
        raise ValueError(f"{LOOPBACK_RULE}; use https:// for any other host")
    if scheme in FORBIDDEN_SCHEMES:
        raise ValueError(f"the {scheme}: scheme can never be a redirect target; use https://")
    if "." not in scheme:
        raise ValueError(
            "a native-app (private-use) scheme must be a reversed domain name you control, "
            "e.g. com.example.app:/callback (RFC 8252 section 7.1); otherwise use https://"
        )


def check_origin(value: str) -> None:
    """An allowed CORS origin: scheme, host and optional port, nothing else."""
    parts = _split(value)
    if value == "*":
        raise ValueError("wildcard origins are not accepted; list each origin, e.g. https://app.example.com")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an origin like https://app.example.com or http://localhost:3000")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        origin = f"{parts.scheme}://{parts.netloc}"
        raise ValueError(
            f"must be an origin only (scheme, host, optional port), without path, query or fragment: use {origin}"
        )


def check_scope(value: str) -> None:
    """A scope: non-empty, no blanks, no colons (colon-delimited scopes are refused by Cloudflare)."""
    if not value:
        raise ValueError("must not be empty")
    # Blanks first: a tab or newline in a scope is scopes pasted as one string, and this says how to send them.
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces; give each scope as its own list entry")
    check_visible(value)
    if "\\" in value:  # never in a scope; also how a stored scope's hidden character reads once escaped
        raise ValueError("must not contain a backslash")
    if ":" in value:
        suggestion = value.replace(":", ".")
        raise ValueError(
            f"colon-delimited scopes are not accepted; Cloudflare scopes are dot-delimited (perhaps {suggestion!r})"
        )


def is_identity_scope(scope: str) -> bool:
    """Our reading of "identity scope": a simple scope without a dot (`openid`, `profile`, `email`).

    Cloudflare does not document the list; dot-delimited scopes (`account.read`) are API scopes.
    """
    return "." not in scope
