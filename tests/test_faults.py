"""The fault matrix against the loopback fake: outcome, requests, that the call ends, and that the next call works."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import unicodedata
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_oauth_clients.server import build_server
from mcp_oauth_clients.untrusted import HIDDEN_CATEGORIES
from tests.conftest import CLIENT, settings_for
from tests.fake_cloudflare import TOKEN
from tests.fault_cases import (
    BACKOFF,
    CASES,
    CONNECT_TIMEOUT,
    MAX_RETRY_WAIT,
    OK,
    OUTCOME_TEXT,
    TIMEOUT,
    TRANSPORT,
    FaultCase,
    render_table,
)

pytestmark = pytest.mark.anyio
HANG = 60  # seconds: far beyond any row (the slowest waits out a Retry-After of 1 s)
FAULTS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "faults.md"


@contextlib.contextmanager
def dead_end(kind: str):
    """A loopback address that refuses connections, or one whose accept queue is full (connect times out)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    fillers = []
    if kind == "refused":
        listener.close()
    else:
        listener.listen(0)
        for _ in range(3):  # fill the accept queue: further SYNs are dropped, so connect() times out
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}/client/v4"
    finally:
        for sock in [listener, *fillers]:
            sock.close()


def matrix_settings(base_url: str, timeout: float = TIMEOUT, **extra):
    return settings_for(
        base_url,
        timeout=timeout,
        connect_timeout=min(timeout, CONNECT_TIMEOUT),
        retry_backoff=BACKOFF,
        max_retry_wait=MAX_RETRY_WAIT,
        **extra,
    )


def call_for(case: FaultCase) -> tuple[str, dict]:
    if case.operation == "read":
        return "get_oauth_client", {"oauth_client_id": CLIENT}
    if "arguments" in case.extra:
        return "update_oauth_client", {"oauth_client_id": CLIENT, **case.extra["arguments"]()}
    return "update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "Renamed under fault"}


async def run_case(case: FaultCase, fake, **extra_settings):
    """Run one case; return (result, next_result, requests that reached the fake)."""
    with contextlib.ExitStack() as stack:
        base = fake.base_url if case.target == "fake" else stack.enter_context(dead_end(case.target))
        faults = case.faults()
        if case.operation == "update":  # an update reads the client first: the case's faults are the PATCH's
            faults = [f if f.method else dataclasses.replace(f, method="PATCH") for f in faults]
        fake.script(*faults)
        server = build_server(matrix_settings(base, case.timeout, **extra_settings))
        name, arguments = call_for(case)
        async with Client(server) as client:
            # Not a time limit (timing is no test's business): a guard against a row that never ends, which
            # is the failure it would show if an attempt had no deadline or a wait no ceiling.
            with anyio.fail_after(HANG):
                result = await client.call_tool(name, arguments)
            fake.faults.clear()
            next_result = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    return result, next_result, fake.hits


def text_of(result) -> str:
    return result.content[0].text


def strings_of(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_of(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return []


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=[pytest.mark.slow] if c.slow else []) for c in CASES], ids=[c.name for c in CASES]
)
async def test_fault_matrix(case: FaultCase, fake):
    hits_before = fake.hits
    result, next_result, hits = await run_case(case, fake)
    # the requests the case's own call made: minus the follow-up read and, for an update that got as far as
    # sending, the read before its PATCH (an update refused for its arguments reads nothing either)
    read_first = case.operation == "update" and case.requests > 0
    reached = hits - hits_before - (0 if case.target != "fake" else 1 + read_first)
    if case.outcome == OK:
        assert not result.is_error, text_of(result)
        if "kept" in case.extra:
            assert case.extra["kept"] in result.structured_content["client"]
    else:
        assert result.is_error
        assert OUTCOME_TEXT[case.outcome] in text_of(result), text_of(result)
        assert text_of(result).count("Next step:") == 1, text_of(result)  # issue 15.2: one next step per answer
    outputs = [text_of(result), *strings_of(result.structured_content or {})]
    if case.extra.get("clean"):  # issue 9.2: no hidden character reaches the text or structuredContent
        assert [
            o for o in outputs if any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in o.replace("\n", ""))
        ] == []
    if case.extra.get("redacted"):  # issue 9.3: the token echoed back never comes out
        assert not any(TOKEN in o for o in outputs) and any("[REDACTED]" in o for o in outputs)
    if "odd" in case.extra:  # issue 9.5: a malformed stored field is shown and named
        assert case.extra["odd"] in text_of(result)
        assert case.extra["odd"] in {o["field"] for o in result.structured_content["client"]["odd_fields"]}
    assert reached == case.requests, f"{reached} requests reached the fake, expected {case.requests}"
    if case.target == "fake":
        assert not next_result.is_error, text_of(next_result)  # the server keeps serving
    else:
        assert OUTCOME_TEXT[TRANSPORT] in text_of(next_result)  # still answering, still honest


@pytest.mark.slow
async def test_unknown_outcome_says_to_read_back_not_that_it_failed(fake):
    case = next(c for c in CASES if c.name.startswith("read timeout (answer too slow)"))
    result, *_ = await run_case(case, fake)
    text = text_of(result)
    assert "get_oauth_client" in text and "do not assume it failed" in text
    assert "failed" not in text.split("Next step")[0].lower()


async def test_a_redirect_is_never_followed_to_another_host(fake):
    from tests.fake_cloudflare import FakeCloudflare, Fault

    with FakeCloudflare() as other:
        fake.script(Fault(302, redirect_to=f"{other.base_url}/accounts/x/oauth_clients/y"))
        server = build_server(matrix_settings(fake.base_url))
        async with Client(server) as client:
            result = await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "client_name": "x"})
        assert result.is_error and other.hits == 0


def test_the_faults_page_shows_the_matrix_the_tests_run():
    assert render_table() in FAULTS_PAGE.read_text(), "run: python scripts/fault_matrix.py --write"
