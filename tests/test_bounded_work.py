"""One call cannot stall the server: bounded lists, bounded errors, linear checks (issue 9, point 4).

The server in memory against the loopback fake, plus unit tests of the pieces; through the console script
over stdio only where the process is the point (a huge request beside a read on one stdin, an answer that
drips forever). Time bounds here only detect a hang; they are generous on purpose.
"""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest

from mcp_oauth_clients.arguments import MAX_PROBLEMS_SHOWN, parse_arguments
from mcp_oauth_clients.cloudflare_client import MAX_RETRY_AFTER, retry_after_seconds
from mcp_oauth_clients.errors import InvalidInput
from mcp_oauth_clients.models import MAX_ITEMS, OAuthClientUpdate
from tests.conftest import CLIENT, MemoryClient
from tests.stdio_client import RawClient, fake_env

HUGE = 100_000


def huge_redirects(count: int = HUGE) -> list[str]:
    return [f"https://h{i}.example.com/cb" for i in range(count)]


def answers_within(client: RawClient, ids: set[int], seconds: float) -> dict[int, dict]:
    """The results of the requests `ids`, read off stdout by a thread so a stalled server fails, not hangs."""
    found: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        for line in client.proc.stdout:
            message = json.loads(line)
            if message.get("id") in ids:
                found.put(message)

    threading.Thread(target=read, daemon=True).start()
    answers: dict[int, dict] = {}
    deadline = time.monotonic() + seconds
    while len(answers) < len(ids):
        try:
            message = found.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            client.proc.kill()
            raise AssertionError(f"the server stalled: {len(answers)} of {len(ids)} answers in {seconds} s") from None
        answers[message["id"]] = message["result"]
    return answers


@pytest.mark.e2e
def test_a_huge_add_is_refused_while_a_concurrent_read_is_answered_over_stdio(fake):
    client = RawClient(fake_env(fake))
    client.initialize()
    big = {"oauth_client_id": CLIENT, "add": {"redirect_uris": huge_redirects()}}
    read = {"oauth_client_id": CLIENT}
    for request_id, name, arguments in ((101, "update_oauth_client", big), (102, "get_oauth_client", read)):
        call = {"name": name, "arguments": arguments}
        client._send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call})
    answers = answers_within(client, {101, 102}, seconds=30)  # hang detection only
    client.proc.kill()
    refused, read_back = answers[101], answers[102]
    text = refused["content"][0]["text"]
    assert refused["isError"] and "add.redirect_uris: List should have at most 100 items" in text
    assert not read_back.get("isError"), read_back
    assert len(text) < 2000 and fake.writes() == []


@pytest.mark.slow
def test_a_hundred_thousand_unknown_arguments_get_a_short_error_naming_the_first_few_and_the_count(fake):
    arguments = {"oauth_client_id": CLIENT, "client_name": "x", **{f"bogus_{i}": 1 for i in range(HUGE)}}
    client = MemoryClient(fake_env(fake))
    try:
        error, text, _ = client.text("update_oauth_client", arguments)
    finally:
        client.close()
    assert error and "bogus_0: unknown argument" in text and f"{HUGE - 5} more unknown arguments" in text
    assert len(text) < 3000
    assert fake.requests == []


def test_a_json_encoded_list_nested_absurdly_deep_is_an_input_error_naming_the_field(fake):
    client = MemoryClient(fake_env(fake))
    try:
        deep = "[" * 100_000 + "]" * 100_000
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "scopes": deep})
    finally:
        client.close()
    assert error and "scopes: the JSON-encoded value is nested too deeply" in text
    assert "Internal error" not in text and fake.requests == []


def test_list_limits_are_the_input_schemas_max_items_for_each_list_and_each_add_remove_list():
    from mcp_oauth_clients.config import Settings
    from mcp_oauth_clients.tools import build_tools

    update = next(t for t in build_tools(Settings()) if t.name == "update_oauth_client")
    props = update.parameters["properties"]
    for field, limit in MAX_ITEMS.items():
        assert props[field]["maxItems"] == limit
    for edits in ("add", "remove"):  # one shape for every key: the largest limit; each key's own is enforced
        assert props[edits]["additionalProperties"]["maxItems"] == max(MAX_ITEMS.values())
    for field, limit in MAX_ITEMS.items():
        entries = [f"x{i}" for i in range(limit + 1)]  # the length is checked before any entry
        with pytest.raises(InvalidInput, match=rf"add\.{field}: List should have at most {limit} items"):
            parse_arguments(OAuthClientUpdate, {"oauth_client_id": CLIENT, "add": {field: entries}})


def test_a_huge_duplicate_free_list_is_refused_by_length_before_any_entry_is_checked():
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        parse_arguments(OAuthClientUpdate, {"oauth_client_id": CLIENT, "redirect_uris": huge_redirects()})
    assert "redirect_uris: List should have at most 100 items" in refused.value.message
    assert time.monotonic() - started < 5  # hang detection only


def test_a_refusal_lists_at_most_a_bounded_number_of_problems_and_counts_the_rest():
    arguments = {"oauth_client_id": CLIENT, "add": {f"not_a_field_{i}": ["x"] for i in range(1000)}}
    with pytest.raises(InvalidInput) as refused:
        parse_arguments(OAuthClientUpdate, arguments)
    lines = refused.value.message.splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == f"- ... and {1000 - MAX_PROBLEMS_SHOWN} more problems"


def test_a_very_long_unknown_argument_name_gets_no_quadratic_suggestion_and_a_clipped_line():
    name = "redirect_uris" + "x" * 200_000
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        parse_arguments(OAuthClientUpdate, {"oauth_client_id": CLIENT, "client_name": "x", name: 1})
    assert time.monotonic() - started < 5  # difflib on this name would take minutes
    assert len(refused.value.message) < 2000 and "did you mean" not in refused.value.message


@pytest.mark.parametrize(
    "header",
    [
        {"retry-after": "inf"},
        {"retry-after": "nan"},
        {"retry-after": "1e309"},
        {"retry-after": "-inf"},
        {"retry-after": "100000000000000000000"},
        {"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"},
        {"retry-after-ms": "inf"},
        {"retry-after-ms": "nan"},
    ],
)
def test_any_retry_after_reads_as_a_finite_wait_no_longer_than_a_day(header):
    wait = retry_after_seconds(httpx.Headers(header))
    assert wait is not None and 0 <= wait <= MAX_RETRY_AFTER
    time.gmtime(time.time() + wait)  # the "wait until" time can always be printed


@pytest.mark.anyio
async def test_one_failed_attempt_is_counted_in_the_singular():
    from mcp_oauth_clients.cloudflare_client import CloudflareClient
    from mcp_oauth_clients.errors import TransportFailure
    from tests.conftest import settings_for

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    cloudflare = CloudflareClient(settings_for("https://api.example.test/client/v4", max_retries=0))
    cloudflare._transport = httpx.MockTransport(refuse)
    with pytest.raises(TransportFailure) as failed:
        await cloudflare.get_oauth_client("a" * 32, CLIENT)
    assert "after 1 attempt (" in failed.value.message


@pytest.mark.e2e
def test_an_answer_dripping_forever_ends_at_the_timeout_over_stdio(fake):
    from tests.fake_cloudflare import Fault

    fake.script(Fault(drip=0.2))  # every read gets a byte well within the timeout; the answer never completes
    client = RawClient(fake_env(fake, MCP_OAUTH_CLIENTS_TIMEOUT="1", MCP_OAUTH_CLIENTS_MAX_RETRIES="0"))
    try:
        client.initialize()
        client._send(
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "get_oauth_client", "arguments": {"oauth_client_id": CLIENT}},
            }
        )
        answer = answers_within(client, {7}, seconds=20)[7]  # hang detection only
    finally:
        client.proc.kill()
    text = answer["content"][0]["text"]
    assert answer["isError"] and "no complete answer within the timeout" in text and "after 1 attempt (" in text


@pytest.mark.parametrize("value", ["inf", "nan", "1e309", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_any_retry_after_gets_the_wait_until_answer(fake, value):
    from tests.fake_cloudflare import Fault
    from tests.fault_cases import RATE

    fake.script(Fault(429, RATE, {"retry-after": value}))
    client = MemoryClient(fake_env(fake))
    try:
        error, text, _ = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
    finally:
        client.close()
    assert error and "wait until" in text and "Internal error" not in text
    assert len(fake.requests) == 1


def test_a_client_storing_more_entries_than_a_call_may_send_can_still_be_edited_with_add_and_remove(fake):
    from tests.conftest import ACCOUNT

    stored = huge_redirects(MAX_ITEMS["redirect_uris"] + 50)
    fake.emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"] = list(stored)
    client = MemoryClient(fake_env(fake))
    try:
        removed = client.text(
            "update_oauth_client", {"oauth_client_id": CLIENT, "remove": {"redirect_uris": [stored[0]]}}
        )
        full = client.text("update_oauth_client", {"oauth_client_id": CLIENT, "redirect_uris": stored})
    finally:
        client.close()
    assert not removed[0], removed[1]
    assert [w.body["redirect_uris"] for w in fake.writes()] == [stored[1:]]
    assert full[0] and "redirect_uris: List should have at most 100 items, not 150" in full[1]


@pytest.mark.slow
def test_a_stored_list_of_twenty_five_thousand_entries_still_gets_a_one_entry_add_answered(fake):
    """Cloudflare's answer is not bounded by our limits: the diff of a huge stored list stays linear (250 times
    the 100 entries we accept; a quadratic diff would take minutes here, a linear one takes under a second)."""
    from tests.conftest import ACCOUNT

    stored = huge_redirects(25_000)
    fake.emulator.clients[(ACCOUNT, CLIENT)]["redirect_uris"] = list(stored)
    client = MemoryClient(fake_env(fake))
    try:
        arguments = {
            "oauth_client_id": CLIENT,
            "dry_run": True,
            "add": {"redirect_uris": ["https://new.example.com/cb"]},
        }
        result = client.call("update_oauth_client", arguments)
    finally:
        client.close()
    text = result["content"][0]["text"]
    assert not result.get("isError"), text[:500]
    assert 'added "https://new.example.com/cb"' in text
