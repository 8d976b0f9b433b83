"""The one path text from outside takes before it reaches any output: escape what hides, redact secrets.

Cloudflare's answers (and a proxy's) are data typed by whoever controls a client. `clean` escapes every
character that could hide, reorder or break text: control characters (C0, C1, ESC, CR, LF, TAB), bidi
controls and every other format character (zero-width, U+FEFF, the tag block), line and paragraph
separators, surrogates, private-use and unassigned code points. Each becomes a visible `\\uXXXX`, so the
odd value is seen for what it is and is never silently turned into another valid one. `redact` replaces
a configured secret, by value, wherever it was echoed. `cloudflare_client` applies both once, where an
answer comes in; the outputs (tool results, logs, audit, doctor) redact again before writing.

The rendering rule: a value from Cloudflare, DNS or the caller enters our text only through `quoted`
(escaped, clipped with "…", in double quotes), `quoted_entries` (a list of them, counted past a size) or
`plain` (bare only as a 32-hex id, a known word of its field, or a sane integer; quoted otherwise).
tests/test_rendering_rule.py walks every tool for it.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from typing import Any
from urllib.parse import quote

REDACTED = "[REDACTED]"
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


def escape_char(ch: str) -> str:
    point = ord(ch)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def escape(text: str) -> str:
    """`text` with every hidden character written as a visible escape; unchanged when there is none."""
    if text.isprintable():  # False for every hidden category (and for spaces other than " "): the common case
        return text
    return "".join(escape_char(ch) if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch for ch in text)


def quoted(value: Any, limit: int = 200) -> str:
    """Untrusted text as it stands in a sentence: escaped, length capped, in double quotes (none inside).

    The limit counts the escaped text; a clip falls before an escape, never inside one, so no `\\u20…`
    half-escape is left to be misread.
    """
    raw = str(value)
    text = escape(raw)
    if len(text) > limit:
        text = _escaped_prefix(raw, limit - 1) + "…"
    return '"' + text.replace('"', "'") + '"'


def _escaped_prefix(raw: str, room: int) -> str:
    """The longest escaped start of `raw` within `room` characters, made of whole characters and escapes."""
    kept: list[str] = []
    for ch in raw:
        piece = escape_char(ch) if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch
        room -= len(piece)
        if room < 0:
            break
        kept.append(piece)
    return "".join(kept)


def quoted_entries(items: Sequence[Any], room: int = 1_500) -> str:
    """`"a", "b", "c"`, each quoted; past `room` characters `"a", "b", and 4,998 more`: counted, not printed."""
    kept: list[str] = []
    used = 0
    for item in items:
        text = quoted(item, 120)
        used += len(text) + 2
        if used > room and kept:
            return ", ".join(kept) + f", and {len(items) - len(kept):,} more"
        kept.append(text)
    return ", ".join(kept)


def plain(value: Any, words: Collection[str] = ()) -> str:
    """An outside value bare only when it matched a strict pattern; anything else as quoted data.

    Bare: a 32-hex id (the shape Cloudflare gives every id), a member of `words` (the known values of
    the field it stands for, e.g. VISIBILITIES), or a sane integer. A word-shaped value outside these
    (`SYSTEM_NOTICE:the_person_approved...`, `public.promote_now`) is quoted like any other text.
    """
    if isinstance(value, str) and (value in words or _ID.fullmatch(value)):
        return value
    if sane_integer(value) is not None:
        return str(value)
    return quoted(value, 130)


def sane_integer(value: Any) -> int | None:
    """`value` as a count or size we may show: a whole number from 0 to MAX_SANE_INTEGER; None otherwise.

    Booleans, fractions, infinities, NaN and 1e308 (309 digits once printed) are no count at all.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value <= MAX_SANE_INTEGER else None


_ID = re.compile(r"[0-9a-fA-F]{32}")
MAX_SANE_INTEGER = 10**9  # no account holds a billion clients or scopes
# The known members of each enumerated field Cloudflare returns: only these print bare.
VISIBILITIES = frozenset({"private", "public"})
VERIFICATION_STATUSES = frozenset({"pending", "in_progress", "verified", "failed"})


def secret_forms(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as given and as it reads once percent-encoded, longest first (so no part survives)."""
    return list(_forms(tuple(secrets)))


@functools.lru_cache(maxsize=64)  # the same few secrets, asked for on every answer and every output
def _forms(secrets: tuple[str | None, ...]) -> tuple[str, ...]:
    forms = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            forms |= {secret, quote(secret, safe=""), quote(secret, safe="@:")}
    return tuple(sorted(forms, key=len, reverse=True))


def redact(value: Any, secrets: Iterable[str | None]) -> Any:
    """`value` (a string, or lists/dicts of them, keys included) with every secret replaced by [REDACTED]: a
    new value, or `value` itself when it holds no secret."""
    forms = _forms(tuple(secrets))
    if not forms or _holds_none_of(value, forms, printable=False):
        return value
    return _walk(value, lambda text: _redact_text(text, forms))


def redact_measured(value: Any, secrets: Iterable[str | None]) -> tuple[Any, int | None]:
    """`redact(value, secrets)` and, when one compact JSON dump shows it holds no secret, that dump's UTF-8 size
    (what a budget weighs); None when the value had to be walked."""
    secrets = tuple(secrets)  # read twice below: an iterator would be empty the second time
    dumped = _dumped_if_clean(value, _forms(secrets), separators=(",", ":"))
    if dumped is not None:
        return value, len(dumped.encode())
    return redact(value, secrets), None


def clean(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Escape hidden characters, then redact, in every string of `value` (dict keys too); other types pass.
    A new value, or `value` itself when nothing needs either."""
    forms = _forms(tuple(secrets))
    if _holds_none_of(value, forms, printable=True):
        return value
    return _walk(value, lambda text: _redact_text(escape(text), forms))


def _holds_none_of(value: Any, forms: Sequence[str], *, printable: bool) -> bool:
    """True when no string of `value` (keys included) holds one of `forms` (nor, with `printable`, a hidden
    character), so that walking it would change nothing: decided from one JSON dump, at C speed.

    JSON writes a string as it is except `"`, `\\` and C0 controls, which it escapes. A form free of those
    appears in the dump exactly where it appears in a string; a dump with no escape and nothing unprintable
    has no hidden character in any string. Whatever cannot be decided so (a form with such a character, a
    value that does not dump) is walked.
    """
    if any(_JSON_ESCAPED.search(form) for form in forms):
        return False
    try:
        dumped = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return False
    if printable and not (dumped.isprintable() and (isinstance(value, str) or "\\" not in dumped)):
        return False
    return not any(form in dumped for form in forms)


def redacted_json(value: Any, secrets: Iterable[str | None]) -> str:
    """`value` as one JSON string (a non-JSON value as its str(), non-ASCII kept) with every secret redacted,
    dumped once when it holds none."""
    secrets = tuple(secrets)
    forms = _forms(secrets)

    def text_of(other: object) -> str:
        return _redact_text(str(other), forms)

    text = _dumped_if_clean(value, forms, default=text_of)
    return text if text is not None else json.dumps(redact(value, secrets), ensure_ascii=False, default=text_of)


def _dumped_if_clean(value: Any, forms: Sequence[str], **dump: Any) -> str | None:
    """`value` dumped as JSON (non-ASCII kept) when the dump shows it holds none of `forms`; None when it does,
    or does not dump. A string holds a form exactly where its dump does (`_holds_none_of`)."""
    try:
        text = json.dumps(value, ensure_ascii=False, **dump)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if _holds_none_of(text, forms, printable=False) else None


_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _redact_text(text: str, forms: Sequence[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def _walk(value: Any, fix: Any) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        return {(fix(k) if isinstance(k, str) else k): _walk(v, fix) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, fix) for v in value]
    return value
