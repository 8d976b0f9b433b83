"""An answer's body, decoded by us within the limit: gzip and deflate as asked for, anything else unreadable,
and a body that does not decode is an unreadable answer (for a write, an unknown outcome), never a claim that
nothing was written. In memory: `httpx.MockTransport`, and the loopback fake for the end-to-end case."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import httpx
import pytest

from mcp_oauth_clients.answer_body import ACCEPT_ENCODING, MAX_ANSWER_BYTES, decoder, read_within_limit
from mcp_oauth_clients.cloudflare_client import CloudflareClient
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.errors import UnknownOutcome, UnreadableAnswer
from tests.conftest import ACCOUNT, CLIENT, MemoryClient
from tests.fake_cloudflare import Fault

pytestmark = pytest.mark.anyio

BODY = json.dumps(
    {"success": True, "errors": [], "messages": [], "result": {"client_id": CLIENT, "client_name": "App"}}
)


def client_answering(encoding: str, body: bytes, seen: list[httpx.Request] | None = None) -> CloudflareClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        headers = {"content-encoding": encoding} if encoding else {}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))  # not read yet, as on the wire

    settings = Settings(credentials=Credentials(api_token="tok-secret-123"), base_url="https://api.example.test/v4")
    return CloudflareClient(settings, transport=httpx.MockTransport(answer), sleep=lambda s: _no_wait())


async def _no_wait() -> None:
    return None


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(BODY.encode())),
        ("x-gzip", gzip.compress(BODY.encode())),
        ("deflate", zlib.compress(BODY.encode())),  # zlib-wrapped, as the standard says
        ("deflate", zlib.compress(BODY.encode())[2:-4]),  # raw, as some servers send it
        ("identity", BODY.encode()),
        ("", BODY.encode()),
    ],
)
async def test_an_answer_in_an_encoding_we_ask_for_is_read(encoding, body):
    seen: list[httpx.Request] = []
    result = await client_answering(encoding, body, seen).get_oauth_client(ACCOUNT, CLIENT)
    assert result.result["client_name"] == "App"
    assert seen[0].headers["accept-encoding"] == ACCEPT_ENCODING == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_answer_in_an_encoding_we_did_not_ask_for_is_unreadable_and_not_read(encoding):
    assert decoder([encoding]) is None
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client_answering(encoding, gzip.compress(BODY.encode())).get_oauth_client(ACCOUNT, CLIENT)


async def test_a_body_that_does_not_decompress_is_unreadable_for_a_read_and_an_unknown_outcome_for_a_write():
    broken = gzip.compress(BODY.encode())[:40] + b"not gzip any more" * 10
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await client_answering("gzip", broken).get_oauth_client(ACCOUNT, CLIENT)
    with pytest.raises(UnknownOutcome):  # it arrived and was answered 200: it may well have been applied
        await client_answering("gzip", broken).update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


def test_a_write_that_landed_and_was_answered_with_a_broken_gzip_body_is_an_unknown_outcome_not_nothing_written(fake):
    # httpx's own decoder raised DecodingError here, which was read as "refused by httpx: nothing was sent".
    from tests.stdio_client import fake_env

    fake.script(
        Fault(
            status=200,
            body=b"\x1f\x8b\x08\x00garbage, not gzip",
            headers={"content-type": "application/json", "content-encoding": "gzip"},
            method="PATCH",
            lands=True,
        )
    )
    served = MemoryClient(fake_env(fake))
    try:
        error, text, _ = served.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Landed"})
        _, stored, _ = served.text("get_oauth_client", {"oauth_client_id": CLIENT})
    finally:
        served.close()
    assert error and "Outcome unknown" in text and "Nothing was written" not in text
    assert '"Landed"' in stored  # it was applied: saying otherwise would have been false


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in the pieces given, as a transport hands them on."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk


def answering_in_chunks(encoding: str, *chunks: bytes) -> CloudflareClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": encoding}, stream=Chunks(*chunks))

    settings = Settings(credentials=Credentials(api_token="tok-secret-123"), base_url="https://api.example.test/v4")
    return CloudflareClient(settings, transport=httpx.MockTransport(answer), sleep=lambda s: _no_wait())


def envelope_of_size(size: int) -> bytes:
    """A readable client answer padded inside a string to exactly `size` bytes, so a cut leaves it unreadable."""
    bare = len(BODY.encode()) + len(', "padding": ""')
    return (BODY[:-1] + ', "padding": "' + "x" * (size - bare) + '"}').encode()


@pytest.mark.parametrize("encoding", ["identity, gzip", "gzip, identity", "gzip, ", "gzip,", " GZIP "])
async def test_a_content_encoding_list_of_one_coding_we_ask_for_with_identity_or_blanks_is_read(encoding):
    result = await client_answering(encoding, gzip.compress(BODY.encode())).get_oauth_client(ACCOUNT, CLIENT)
    assert result.result["client_name"] == "App"


async def test_an_empty_content_encoding_header_means_a_body_sent_as_it_is():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[(b"content-encoding", b"")], stream=httpx.ByteStream(BODY.encode()))

    settings = Settings(credentials=Credentials(api_token="tok-secret-123"), base_url="https://api.example.test/v4")
    client = CloudflareClient(settings, transport=httpx.MockTransport(answer), sleep=lambda s: _no_wait())
    assert (await client.get_oauth_client(ACCOUNT, CLIENT)).result["client_name"] == "App"


class Untouchable(httpx.AsyncByteStream):
    async def __aiter__(self):
        raise AssertionError("a body we cannot decode within a bound is not read")
        yield b""  # pragma: no cover - makes this an async generator


async def test_an_answer_in_an_encoding_we_did_not_ask_for_is_left_unread_and_not_called_cut_at_the_limit():
    response = httpx.Response(200, headers={"content-encoding": "br"}, stream=Untouchable())
    assert await read_within_limit(response) == (b"", False)


def zlib_in_two_flushed_pieces(first: bytes, second: bytes) -> tuple[bytes, bytes]:
    """A zlib-wrapped deflate stream split where a full flush ends a block, so the second piece is raw deflate too."""
    compress = zlib.compressobj()
    return compress.compress(first) + compress.flush(zlib.Z_FULL_FLUSH), compress.compress(second) + compress.flush()


async def test_a_deflate_body_whose_later_chunk_is_corrupt_is_unreadable_not_read_again_as_raw_deflate():
    head, tail = zlib_in_two_flushed_pieces(BODY.encode()[:40], BODY.encode()[40:])
    bad_check = tail[:-1] + bytes([tail[-1] ^ 0xFF])  # the Adler-32 of the whole body, one byte wrong
    # read afresh as raw deflate, the broken piece would complete the envelope: it must not be
    assert BODY.encode()[:40] + zlib.decompressobj(-zlib.MAX_WBITS).decompress(bad_check) == BODY.encode()
    with pytest.raises(UnreadableAnswer, match="could not be read"):
        await answering_in_chunks("deflate", head, bad_check).get_oauth_client(ACCOUNT, CLIENT)
    with pytest.raises(UnknownOutcome):
        await answering_in_chunks("deflate", head, bad_check).update_oauth_client(ACCOUNT, CLIENT, {"client_name": "x"})


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_answer_of_exactly_the_limit_is_read_and_one_byte_over_it_is_cut(encoding):
    compress = gzip.compress if encoding == "gzip" else zlib.compress
    exact = envelope_of_size(MAX_ANSWER_BYTES)
    assert len(exact) == MAX_ANSWER_BYTES
    result = await client_answering(encoding, compress(exact)).get_oauth_client(ACCOUNT, CLIENT)
    assert result.result["client_name"] == "App"
    with pytest.raises(UnreadableAnswer, match="could not be read"):  # its first 8 MiB read as an envelope
        await client_answering(encoding, compress(exact + b" ")).get_oauth_client(ACCOUNT, CLIENT)


def fixed_huffman_block(literals: bytes, then_invalid_code: bool) -> bytes:
    """A deflate block with fixed codes (RFC 1951 3.2.6) holding `literals` (each below 144), not the last
    block, ending in length code 286, which no stream may hold, instead of an end of block if asked."""
    bits = [0, 1, 0]  # BFINAL 0, BTYPE 01 (fixed codes), numbers written from their least significant bit
    for code, width in [*((0x30 + b, 8) for b in literals), (0b11000110, 8) if then_invalid_code else (0, 7)]:
        bits += [(code >> shift) & 1 for shift in range(width - 1, -1, -1)]  # codes from their most significant
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bit << i for i, bit in enumerate(bits[at : at + 8])) for at in range(0, len(bits), 8))


async def test_a_gzip_body_that_decodes_past_the_limit_is_cut_even_when_it_breaks_just_after():
    # The envelope arrives whole in its own chunk; the next decodes to one byte past the limit, then one more,
    # then data no decoder accepts. Past the limit is all we need to know: it is cut, not the envelope before it.
    compress = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    first = compress.compress(BODY.encode()) + compress.flush(zlib.Z_FULL_FLUSH)
    filler = b"y" * (MAX_ANSWER_BYTES - len(BODY))
    second = compress.compress(filler) + compress.flush(zlib.Z_FULL_FLUSH) + fixed_huffman_block(b"yy", True)
    with pytest.raises(zlib.error, match="invalid literal/length code"):
        zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(first + second)
    response = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Chunks(first, second))
    assert await read_within_limit(response) == (BODY.encode() + filler, True)


async def peak_memory_reading(response: httpx.Response) -> int:
    tracemalloc.start()
    try:
        body, cut = await read_within_limit(response)
        assert cut and len(body) == MAX_ANSWER_BYTES
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_gzip_bomb_is_read_in_no_more_memory_than_a_plain_answer_cut_at_the_limit():
    # Its first chunk decodes to just under the limit, its second to 64 MiB: only what fits is ever decoded.
    compress = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    first = compress.compress(b"x" * (MAX_ANSWER_BYTES - 1)) + compress.flush(zlib.Z_FULL_FLUSH)
    bomb = b"".join(compress.compress(b"y" * 2**20) for _ in range(64)) + compress.flush()
    assert len(first) + len(bomb) < 2**17
    plain = httpx.Response(200, stream=Chunks(b"x" * (MAX_ANSWER_BYTES - 1), b"y" * 2**20))
    compressed = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Chunks(first, bomb))
    assert await peak_memory_reading(compressed) <= await peak_memory_reading(plain)
