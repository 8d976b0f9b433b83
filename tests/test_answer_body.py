"""An answer's body, decoded by us within the limit: gzip and deflate as asked for, anything else unreadable,
and a body that does not decode is an unreadable answer (for a write, an unknown outcome), never a claim that
nothing was written. In memory: `httpx.MockTransport`, and the loopback fake for the end-to-end case."""

from __future__ import annotations

import gzip
import json
import zlib

import httpx
import pytest

from mcp_oauth_clients.answer_body import ACCEPT_ENCODING, decoder
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
