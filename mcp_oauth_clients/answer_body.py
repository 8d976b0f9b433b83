"""One answer's body, read whole but never beyond MAX_ANSWER_BYTES once decoded, however it is encoded.

httpx decompresses each chunk it receives whole: one 64 KiB chunk of a gzip bomb is ~64 MiB before a
reader can stop it. Here the raw bytes are decompressed with a bound on each step (zlib's max_length), so
what is held is the limit, one chunk of compressed input and, once, the copy handed on. gzip and deflate
are all we ask for (ACCEPT_ENCODING); any other encoding, or several, cannot be read within a bound, and a
body that does not decompress is cut where it breaks: either way the answer is unreadable, which for a
write means its outcome is unknown (never "nothing was written").
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# The most of one answer we read (decoded). A page of clients is a few kilobytes; no answer needs more.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"

# (raw bytes, the most output wanted) -> decoded bytes; raises zlib.error on a body that does not decode
Decode = Callable[[bytes, int], bytes]


async def read_within_limit(streamed: httpx.Response) -> tuple[bytes, bool]:
    """The decoded body, and whether it was cut at MAX_ANSWER_BYTES (then it is no answer, whatever it reads as)."""
    if streamed.is_stream_consumed:  # its transport handed it over already read (a test's prepared answer)
        return streamed.content[:MAX_ANSWER_BYTES], len(streamed.content) > MAX_ANSWER_BYTES
    decode = decoder(streamed.headers.get_list("content-encoding", split_commas=True))
    if decode is None:  # not an encoding we asked for: unreadable, and not worth reading
        return b"", False
    body = bytearray()
    try:
        async for raw in streamed.aiter_raw():
            body += decode(raw, MAX_ANSWER_BYTES + 1 - len(body))
            if len(body) > MAX_ANSWER_BYTES:
                del body[MAX_ANSWER_BYTES:]  # in place: one copy below, not two
                return bytes(body), True
    except zlib.error:
        pass  # what decoded is kept: cut short, it is no JSON
    return bytes(body), False


def decoder(codings: list[str]) -> Decode | None:
    """How to decode a body sent with these Content-Encoding values (identity ignored); None when we cannot
    within a bound (an encoding we did not ask for, or several)."""
    applied = [c.strip().lower() for c in codings if c.strip().lower() not in ("", "identity")]
    if not applied:
        return lambda raw, _room: raw
    if applied in (["gzip"], ["x-gzip"]):
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress
    if applied == ["deflate"]:
        return _Deflate()
    return None


class _Deflate:
    """Deflate as servers send it: zlib-wrapped, or raw (tried when the first chunk is not zlib), as httpx reads it."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj()
        self._first = True

    def __call__(self, raw: bytes, room: int) -> bytes:
        first, self._first = self._first, False
        try:
            return self._inflate.decompress(raw, room)
        except zlib.error:
            if not first:
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflate.decompress(raw, room)
