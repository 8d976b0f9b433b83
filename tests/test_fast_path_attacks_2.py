"""Hostile answers, operator environments and callers against this session's per-call shortcuts, through the real
entry points: the audit log's non-blocking pipe path, the read-at-once path of `_receive`, the cookie jar that
keeps nothing and the whole-answer deadline, `redact_measured`, the envelope's bracket count and `uri_host`'s
cache. A promise that holds is a passing test; one that breaks is a strict xfail whose reason names the fix."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from mcp_oauth_clients import audit as audit_module
from mcp_oauth_clients.audit import AuditLog, AuditUnwritable
from mcp_oauth_clients.cloudflare_client import MAX_ANSWER_BYTES, CloudflareClient
from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.errors import TransportFailure, UnreadableAnswer
from tests.conftest import ACCOUNT, CLIENT
from tests.fake_cloudflare import TOKEN, Fault

BASE = "https://api.example.test/client/v4"
CLIENT_JSON = {"client_id": CLIENT, "visibility": "private", "client_name": "App"}


def _ok_body() -> bytes:
    return json.dumps({"success": True, "errors": [], "messages": [], "result": CLIENT_JSON}).encode()


def _client(handler: Any, **settings: Any) -> CloudflareClient:
    async def no_wait(seconds: float) -> None:
        return None

    values: dict[str, Any] = {"credentials": Credentials(api_token=TOKEN), "base_url": BASE, "max_retries": 0}
    values.update(settings)
    return CloudflareClient(Settings(**values), transport=httpx.MockTransport(handler), sleep=no_wait)


# ---------------------------------------------------------------------------------------------------------------
# 1. The audit log: lines to a pipe through a non-blocking descriptor of our own
# ---------------------------------------------------------------------------------------------------------------


def _open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


@contextlib.contextmanager
def _stderr_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:
    """sys.stderr a real pipe, line-buffered as the interpreter's own stderr is; yields (read end, write end)."""
    read_end, write_end = os.pipe()
    stream = open(write_end, "w", closefd=False, buffering=1)  # noqa: SIM115 - closed below
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        yield read_end, write_end
    finally:
        with contextlib.suppress(OSError):
            stream.close()
        for fd in (read_end, write_end):
            with contextlib.suppress(OSError):
                os.close(fd)


def _read_lines(fd: int) -> list[dict[str, Any]]:
    """Every whole line waiting in the pipe, parsed (a split or interleaved line fails to parse)."""
    was_blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    data = bytearray()
    try:
        while chunk := os.read(fd, 1 << 16):
            data += chunk
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, was_blocking)
    return [json.loads(line) for line in data.decode().splitlines()]


class _Drain:
    """A reader that comes back: reads the pipe in a thread until stopped and nothing more is waiting."""

    def __init__(self, fd: int, size: int = 1 << 16) -> None:
        self.fd, self.size = fd, size
        self.received = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read)
        self.thread.start()

    def _read(self) -> None:
        while True:
            if select.select([self.fd], [], [], 0.02)[0]:
                self.received += os.read(self.fd, self.size)
            elif self.stop.is_set():
                return

    def lines(self) -> list[dict[str, Any]]:
        """Stop once everything written is read; the whole lines after any filler, parsed."""
        self.stop.set()
        self.thread.join(30)
        text = self.received.decode()
        return [json.loads(line) for line in text[text.index("{") :].splitlines() if line]


def _fill(fd: int) -> None:
    """Fill the pipe `fd` writes to, as a reader that stopped reading leaves it."""
    os.set_blocking(fd, False)
    try:
        while True:
            os.write(fd, b"\n" * 4096)
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)


@pytest.mark.anyio
async def test_many_audit_logs_opened_written_and_closed_over_swapped_stderr_pipes_leave_no_descriptor_behind(
    monkeypatch,
):
    first, second = os.pipe(), os.pipe()
    streams = [open(w, "w", closefd=False, buffering=1) for _, w in (first, second)]  # noqa: SIM115
    before = _open_fds()
    for cycle in range(40):
        audit = AuditLog(None)
        for swap in range(3):  # the host swaps sys.stderr between two pipes, and back, while lines are written
            monkeypatch.setattr(sys, "stderr", streams[(cycle + swap) % 2])
            await audit.intend(attempt=f"{cycle}.{swap}")
            audit.record(attempt=f"{cycle}.{swap}", outcome="applied")
        audit.close()
        _read_lines(first[0]), _read_lines(second[0])
    assert _open_fds() == before
    for stream in streams:
        stream.close()
    for fd in (*first, *second):
        os.close(fd)


@pytest.mark.anyio
async def test_a_fifo_audit_log_rotated_many_times_leaves_one_descriptor_pair_at_most_and_none_once_closed(tmp_path):
    fifo = tmp_path / "audit.fifo"
    before = _open_fds()
    audit = AuditLog(str(fifo))
    readers: list[int] = []
    seen: list[str] = []
    for rotation in range(15):
        if fifo.exists():
            fifo.unlink()  # rotation: the shipper makes a new FIFO at the same path
        os.mkfifo(fifo)
        readers.append(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        for n in range(3):
            await audit.intend(attempt=f"{rotation}.{n}")
        seen += [line["attempt"] for line in _read_lines(readers[-1])]
        os.close(readers.pop())
    held = _open_fds() - before
    assert len(held) <= 2  # the FIFO now at the path and our non-blocking twin of it
    audit.close()
    assert _open_fds() == before
    assert seen == [f"{r}.{n}" for r in range(15) for n in range(3)]


@pytest.mark.anyio
async def test_the_hosts_stderr_descriptor_keeps_every_flag_it_had_through_inline_and_thread_writes(monkeypatch):
    import fcntl

    monkeypatch.setattr(audit_module, "INTENT_WAIT", 0.5)
    with _stderr_pipe(monkeypatch) as (read_end, write_end):
        flags = fcntl.fcntl(write_end, fcntl.F_GETFL), fcntl.fcntl(write_end, fcntl.F_GETFD)
        audit = AuditLog(None)
        await audit.intend(attempt="inline")
        await audit.intend(attempt="long", body={"client_name": "n" * select.PIPE_BUF})  # the thread's path
        audit.record(attempt="inline", outcome="applied")
        audit.close()
        assert (fcntl.fcntl(write_end, fcntl.F_GETFL), fcntl.fcntl(write_end, fcntl.F_GETFD)) == flags
        assert [line["attempt"] for line in _read_lines(read_end)] == ["inline", "long", "inline"]


@pytest.mark.anyio
async def test_lines_at_and_around_pipe_buf_bytes_from_tasks_and_threads_at_once_each_arrive_whole(monkeypatch):
    """Widths chosen so that a line of PIPE_BUF - 1, PIPE_BUF and PIPE_BUF + 1 bytes (multi-byte characters among
    them: fewer characters than bytes) is written; a pipe drained in small reads must still hold only whole lines."""
    with _stderr_pipe(monkeypatch) as (read_end, _):
        audit = AuditLog(None)
        probe = len(audit.line({"event": "write_intent", "attempt": "t0-0", "pad": ""}).encode()) + 1
        pads = [select.PIPE_BUF - probe + delta for delta in (-1, 0, 1)]
        reader = _Drain(read_end, 97)  # small reads: a split or interleaved line would show

        def from_thread(n: int) -> None:
            for i in range(20):
                audit.note("dns_lookup", attempt=f"h{n}-{i}", pad="é" * (pads[i % 3] // 2) + "x" * (pads[i % 3] % 2))

        async def from_task(n: int) -> None:
            for i in range(20):
                await audit.intend(attempt=f"t{n}-{i}", pad="x" * pads[i % 3])
                audit.record(attempt=f"t{n}-{i}", outcome="applied", pad="x" * pads[(i + 1) % 3])

        threads = [threading.Thread(target=from_thread, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        async with anyio.create_task_group() as group:
            for n in range(3):
                group.start_soon(from_task, n)
        for thread in threads:
            thread.join(30)
        audit.close()
        lines = reader.lines()
    assert len(lines) == 3 * 20 + 3 * 20 * 2
    for n in range(3):  # within one task: each intent, then its outcome, then the next intent
        mine = [(line["event"], line["attempt"]) for line in lines if line["attempt"].startswith(f"t{n}-")]
        assert mine == [(event, f"t{n}-{i}") for i in range(20) for event in ("write_intent", "write_outcome")]


@pytest.mark.anyio
async def test_an_outcome_queued_behind_a_full_pipe_is_written_before_the_next_intent(monkeypatch):
    with _stderr_pipe(monkeypatch) as (read_end, write_end):
        audit = AuditLog(None)
        await audit.intend(attempt="1")  # room: written on the event loop
        _fill(write_end)
        audit.record(attempt="1", outcome="applied")  # no room: queued behind the stalled reader
        audit.note("dns_lookup", attempt="1")
        reader = _Drain(read_end)  # the reader comes back
        await audit.intend(attempt="2")
        audit.record(attempt="2", outcome="applied")
        audit.close()
        lines = reader.lines()
    assert [(line["event"], line["attempt"]) for line in lines] == [
        ("write_intent", "1"),
        ("write_outcome", "1"),
        ("dns_lookup", "1"),
        ("write_intent", "2"),
        ("write_outcome", "2"),
    ]


@pytest.mark.anyio
async def test_a_stalled_stderr_reader_never_stalls_the_event_loop_and_every_line_comes_out_once_it_reads(
    monkeypatch,
):
    monkeypatch.setattr(audit_module, "INTENT_WAIT", 0.3)
    with _stderr_pipe(monkeypatch) as (read_end, write_end):
        _fill(write_end)
        audit = AuditLog(None)
        done = anyio.Event()
        ran_meanwhile: list[bool] = []

        async def write() -> None:
            with pytest.raises(AuditUnwritable):
                await audit.intend(attempt="1")
            for n in range(50):  # each returns at once: queued behind the stalled write
                audit.record(attempt=f"r{n}", outcome="failed")
            done.set()

        async def other_task() -> None:  # started after the intent: it runs only if the loop is free meanwhile
            while not done.is_set():
                ran_meanwhile.append(True)
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as group:
            group.start_soon(write)
            group.start_soon(other_task)
        assert ran_meanwhile
        reader = _Drain(read_end)
        audit.close()
        lines = reader.lines()
    assert [line["attempt"] for line in lines] == ["1"] + [f"r{n}" for n in range(50)]


@pytest.mark.anyio
async def test_a_line_goes_to_what_stderr_is_now_after_its_descriptor_is_replaced_under_the_same_stream(monkeypatch):
    old_read, old_write = os.pipe()
    new_read, new_write = os.pipe()
    fd = os.dup(old_write)
    stream = open(fd, "w", closefd=False, buffering=1)  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        audit = AuditLog(None)
        await audit.intend(attempt="1")
        os.dup2(new_write, fd)  # stderr is now the new pipe; the old one still has its reader
        await audit.intend(attempt="2")
        audit.close()
        assert [line["attempt"] for line in _read_lines(old_read)] == ["1"]
        assert [line["attempt"] for line in _read_lines(new_read)] == ["2"]
    finally:
        stream.close()
        for each in (old_read, old_write, new_read, new_write, fd):
            os.close(each)


@pytest.mark.anyio
async def test_an_outcome_recorded_after_the_stderr_reader_left_never_raises_and_the_next_intent_is_refused(
    monkeypatch,
):
    with _stderr_pipe(monkeypatch) as (read_end, _):
        audit = AuditLog(None)
        await audit.intend(attempt="1")  # the twin is made while a reader is there
        os.close(read_end)  # the MCP client stops reading stderr
        try:
            audit.record(attempt="1", outcome="applied")  # must not raise: the write was applied
            with pytest.raises(AuditUnwritable):
                await audit.intend(attempt="2")
        finally:
            with contextlib.suppress(OSError):
                audit.close()


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the writer thread dies too
async def test_an_intent_with_no_stderr_at_all_is_refused_as_unwritable_not_crashed(monkeypatch):
    monkeypatch.setattr(sys, "stderr", None)  # what the interpreter sets when started with `2>&-`
    audit = AuditLog(None)
    try:
        audit.record(attempt="0", outcome="failed")  # never raises
        with pytest.raises(AuditUnwritable):
            await audit.intend(attempt="1")
    finally:
        audit.close()


# ---------------------------------------------------------------------------------------------------------------
# 2. `_receive`: an answer read at once when its headers announce a small identity body
# ---------------------------------------------------------------------------------------------------------------


class _Endless(httpx.AsyncByteStream):
    """A body that never ends; reading it past 12 MiB fails the test (the limit is 8 MiB)."""

    def __init__(self) -> None:
        self.read = 0

    async def __aiter__(self):  # type: ignore[override]
        chunk = b'{"success": true, "result": {"client_name": "' + b"A" * (1024 * 1024)
        for _ in range(12):
            self.read += len(chunk)
            yield chunk
        raise AssertionError("read on past the limit")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("content-length", "10")]),
        pytest.param([("content-length", " 10 ")]),
        pytest.param([("Content-Length", "10"), ("content-length", "10")]),  # duplicate: joined as "10, 10"
        pytest.param([("content-length", "10"), ("content-length", "11")]),
        pytest.param([("content-length", "-1")]),
        pytest.param([("content-length", "+10")]),
        pytest.param([("content-length", "1e3")]),
        pytest.param([("content-length", "0x10")]),
        pytest.param([("content-length", "３".encode())]),
        pytest.param([("content-length", "٣".encode())]),
        pytest.param([("content-length", "10"), ("content-encoding", "IDENTITY")]),
        pytest.param([("content-length", "10"), ("content-encoding", "identity"), ("content-encoding", "gzip")]),
        pytest.param([("content-length", "10"), ("content-encoding", "identity, gzip")]),
        pytest.param([("content-length", "10"), ("transfer-encoding", "chunked")]),
    ],
)
async def test_an_endless_body_is_never_read_past_the_limit_whatever_its_length_and_encoding_headers(headers):
    body = _Endless()
    client = _client(lambda request: httpx.Response(200, headers=headers, stream=body))
    with pytest.raises((UnreadableAnswer, TransportFailure)):  # cut (or not even decodable): never a crash
        await client.get_oauth_client(ACCOUNT, CLIENT)
    assert body.read <= MAX_ANSWER_BYTES + (1 << 20) + 64


@pytest.mark.anyio
async def test_a_content_length_of_a_superscript_digit_is_an_answer_read_the_slow_way_not_a_crash():
    answer = httpx.Response(200, headers=[(b"content-length", b"\xb2")], stream=httpx.ByteStream(_ok_body()))
    client = _client(lambda request: answer)
    assert (await client.get_oauth_client(ACCOUNT, CLIENT)).result["client_name"] == "App"


def _bomb_chunks(decoded_mib: int, chunk: int) -> list[bytes]:
    """A gzip body of `decoded_mib` MiB of one byte, in transport chunks of `chunk` bytes (httpcore reads 64 KiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = packer.compress(b'{"success": true, "result": {"client_name": "')
    block = b"A" * (1 << 20)
    data += b"".join(packer.compress(block) for _ in range(decoded_mib)) + packer.flush()
    return [data[i : i + chunk] for i in range(0, len(data), chunk)]


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self):  # type: ignore[override]
        for chunk in self.chunks:
            yield chunk


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("decoded_mib", "chunk"),
    [(64, 4096), (128, 64 * 1024)],  # each 4 KiB chunk decodes to ~4 MiB; each 64 KiB one (httpcore's) to ~64 MiB
    ids=["4-kib-chunks", "64-kib-chunks"],
)
async def test_a_gzip_bomb_is_cut_at_the_limit_never_holding_more_than_a_few_times_it(decoded_mib, chunk):
    chunks = _bomb_chunks(decoded_mib, chunk)
    client = _client(lambda request: httpx.Response(200, headers={"content-encoding": "gzip"}, stream=_Chunks(chunks)))
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableAnswer):
            await client.get_oauth_client(ACCOUNT, CLIENT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_ANSWER_BYTES


def test_a_content_encoding_the_fake_sends_twice_over_a_gzip_bomb_is_cut_and_the_server_answers(fake, served):
    chunks = _bomb_chunks(24, 1 << 30)  # 24 MiB decoded, about 25 KB sent
    fake.script(
        *[
            Fault(status=200, body=chunks[0], headers={"Content-Encoding": "identity", "content-encoding": "gzip"})
            for _ in range(3)
        ]
    )
    error, text, _ = served.text("get_oauth_client", {"oauth_client_id": CLIENT})
    assert error and "could not be read" in text and "Internal error" not in text


def test_a_content_length_the_fake_sends_twice_that_disagrees_is_no_answer_never_a_long_read(fake, served):
    fake.script(*[Fault(status=200, body=_ok_body() + b" " * 4096, headers={"Content-Length": "5"}) for _ in range(3)])
    error, text, _ = served.text("get_oauth_client", {"oauth_client_id": CLIENT})
    assert error and "Internal error" not in text


# ---------------------------------------------------------------------------------------------------------------
# 3. No cookie jar; the whole-answer deadline (asyncio.timeout) and an outer cancellation
# ---------------------------------------------------------------------------------------------------------------


def test_no_cookie_an_answer_over_http_sets_is_sent_back_on_any_later_request(fake, served):
    for cookie in (
        "__cf_bm=tracked; Path=/; HttpOnly",
        "session=abc; Domain=127.0.0.1; Path=/client/v4",
        "x=1; Max-Age=99999; Path=/client/v4/accounts",
    ):
        fake.script(Fault(status=200, body=_ok_body(), headers={"Set-Cookie": cookie}))
        served.text("get_oauth_client", {"oauth_client_id": CLIENT})
    served.text("get_oauth_client", {"oauth_client_id": CLIENT})
    served.text("list_oauth_clients", {})
    assert len(fake.requests) >= 5
    assert all("cookie" not in {name.lower() for name in request.headers} for request in fake.requests)


class _HeaderDrip:
    """A loopback server that answers a status line, then one header byte every `every` seconds, never ending."""

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/client/v4"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                request = b""
                while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                    request += chunk
                give_up = time.monotonic() + 20  # a client that never gives up must not keep this thread
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    while not self.stop.is_set() and time.monotonic() < give_up:
                        conn.sendall(b"X")
                        time.sleep(self.every)
                except OSError:
                    pass  # the client hung up: what the deadline does

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.mark.anyio
async def test_headers_dripped_a_byte_at_a_time_end_within_the_whole_answer_deadline():
    drip = _HeaderDrip()
    client = CloudflareClient(
        Settings(credentials=Credentials(api_token=TOKEN), base_url=drip.base_url, timeout=0.3, max_retries=0)
    )
    try:
        with anyio.fail_after(15), pytest.raises(TransportFailure) as caught:  # a bound on the test, not a timing
            await client.get_oauth_client(ACCOUNT, CLIENT)
        assert caught.value.problem == "no complete answer within the timeout"
    finally:
        await client.aclose()
        drip.close()


@pytest.mark.anyio
async def test_a_body_dripped_a_byte_at_a_time_ends_within_the_whole_answer_deadline(fake):
    fake.script(Fault(drip=0.02))
    client = CloudflareClient(
        Settings(credentials=Credentials(api_token=TOKEN), base_url=fake.base_url, timeout=0.3, max_retries=0)
    )
    try:
        with anyio.fail_after(15), pytest.raises(TransportFailure) as caught:
            await client.get_oauth_client(ACCOUNT, CLIENT)
        assert caught.value.problem == "no complete answer within the timeout"
    finally:
        await client.aclose()


async def _cancelled_write(tmp_path: Any, hold: Any, **settings: Any) -> tuple[list[dict[str, Any]], int, bool]:
    """A write whose request reaches a transport that runs `hold(scope)`, under a scope the caller cancels; returns
    the audit lines, the requests the transport saw and whether the cancellation reached the caller."""
    from mcp_oauth_clients.write_path import Plan, PlannedRequest, Target, attempt_write

    seen: list[httpx.Request] = []
    scope = anyio.CancelScope()

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        await hold(scope)
        return httpx.Response(200, content=_ok_body())

    client = _client(handler, **settings)
    audit = AuditLog(str(tmp_path / "audit.jsonl"))
    target = Target("update_oauth_client", ACCOUNT, CLIENT)
    path = f"/accounts/{ACCOUNT}/oauth_clients/{CLIENT}"

    async def prepare() -> Plan:
        return Plan(target, None, PlannedRequest("PATCH", path, {"client_name": "x"}))

    with anyio.fail_after(15):
        with scope:
            await attempt_write(audit, client, target, prepare, lambda answer: None)
    audit.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    return lines, len(seen), scope.cancelled_caught


@pytest.mark.anyio
async def test_a_write_cancelled_from_outside_while_in_flight_is_recorded_unknown_and_cancelled(tmp_path):
    async def hold(scope: anyio.CancelScope) -> None:
        scope.cancel()
        await anyio.sleep_forever()

    lines, requests, cancelled = await _cancelled_write(tmp_path, hold, timeout=5.0)
    assert cancelled and requests == 1
    assert [(line["event"], line.get("outcome"), line.get("reason")) for line in lines] == [
        ("write_intent", None, None),
        ("write_outcome", "unknown", "cancelled"),
    ]


@pytest.mark.anyio
async def test_a_write_cancelled_from_outside_as_its_deadline_also_passes_stays_cancelled_and_is_not_retried(
    tmp_path,
):
    """Both the outer cancel and the deadline's are pending when the task next runs: the outer one must win (a
    TimeoutError would be read as a lost answer and the write retried)."""

    async def hold(scope: anyio.CancelScope) -> None:
        scope.cancel()
        time.sleep(0.2)  # the event loop held past the deadline: its timer is due with the outer cancel
        await anyio.sleep_forever()

    lines, requests, cancelled = await _cancelled_write(tmp_path, hold, timeout=0.1, max_retries=2)
    assert cancelled and requests == 1
    assert [(line["event"], line.get("outcome"), line.get("reason")) for line in lines] == [
        ("write_intent", None, None),
        ("write_outcome", "unknown", "cancelled"),
    ]


@pytest.mark.anyio
async def test_a_write_whose_deadline_passes_is_unknown_not_cancelled_and_the_caller_is_not_cancelled(tmp_path):
    async def hold(scope: anyio.CancelScope) -> None:
        await anyio.sleep_forever()

    lines, requests, cancelled = await _cancelled_write(tmp_path, hold, timeout=0.1, max_retries=0)
    assert not cancelled and requests == 1
    assert [(line["event"], line.get("outcome")) for line in lines] == [
        ("write_intent", None),
        ("write_outcome", "unknown"),
    ]
    assert lines[1].get("reason") != "cancelled"


# ---------------------------------------------------------------------------------------------------------------
# 4. `redact_measured`: one compact dump decides "holds no secret" and the size
# ---------------------------------------------------------------------------------------------------------------

HOSTILE_SECRETS = [
    'tok"quoted"secret',
    "back\\slash\\secret",
    "sécrét-ünïcode-☃-𝕏",
    '",",',
    '":"x',
    "],[{",
    "}}}}",
    "line\nbreak\tsecret",
    "\\u0041BCD",  # a literal backslash-u: what JSON writes for a control character
    "ABCD\u2028EFGH",
    "a/b?c=d&e f",  # differs once percent-encoded
    "nul\x00secret",
    "\u202eRLO-secret",
]


PLACEMENTS = {
    "inside a string": lambda secret, encoded: {"plain": f"before {secret} after", "n": 1},
    "a whole string": lambda secret, encoded: ["x", secret, None],
    "a key": lambda secret, encoded: {secret: True},
    "twice, deep": lambda secret, encoded: {"a": [{"b": [secret + secret]}]},
    "percent-encoded only": lambda secret, encoded: {"uri": f"https://example.com/cb?t={encoded}"},
    "split in two strings": lambda secret, encoded: [secret[: len(secret) // 2], secret[len(secret) // 2 :]],
}


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("secret", HOSTILE_SECRETS)
def test_redact_measured_leaves_no_form_of_any_secret_and_weighs_what_it_returns(secret, placement):
    from urllib.parse import quote

    from mcp_oauth_clients.budget import size_of
    from mcp_oauth_clients.untrusted import redact, redact_measured

    value = PLACEMENTS[placement](secret, quote(secret, safe=""))
    redacted, size = redact_measured(value, [secret, TOKEN])
    assert redacted == redact(value, [secret, TOKEN])
    for text in _strings(redacted):
        assert secret not in text and quote(secret, safe="") not in text
    assert size is None or size == size_of(redacted)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("secret", ["plain-secret-9", "sécrét-☃", 'tok"quoted"secret', "back\\slash"])
def test_redact_measured_returns_a_value_holding_no_secret_as_it_is_weighed_as_the_budget_weighs_it(secret):
    from mcp_oauth_clients.budget import size_of
    from mcp_oauth_clients.untrusted import redact_measured

    value = {"name": 'a "quoted" \\ name', "list": ["é" * 5, "\u2028", "☃𝕏"], "n": 1.5, "none": None}
    redacted, size = redact_measured(value, [secret])
    assert redacted == value
    if not set(secret) & {'"', "\\"}:  # a secret JSON writes as it is: the dump decided, and weighed
        assert size == size_of(value)
    assert size in (None, size_of(value))


@pytest.mark.parametrize("secret", ['tok"quo\\te"é-secret', "sécrét-☃", '","x","', "plain-secret-9"])
def test_a_secret_the_caller_sends_as_a_name_never_reaches_a_dry_runs_structured_content_or_text(secret):
    from mcp import Client

    from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
    from mcp_oauth_clients.server import build_server
    from tests.conftest import settings_for

    settings = settings_for(BASE, http_token=secret)
    server = build_server(settings, transport=mock_transport(CloudflareEmulator(tokens={TOKEN})))

    async def call() -> dict[str, Any]:
        async with Client(server) as client:
            result = await client.call_tool(
                "update_oauth_client",
                {"oauth_client_id": CLIENT, "client_name": f"Name {secret} end", "dry_run": True},
            )
            return result.model_dump(by_alias=True, exclude_none=True, mode="json")

    result = anyio.run(call)
    for text in _strings(result):
        assert secret not in text


# ---------------------------------------------------------------------------------------------------------------
# 5. The envelope's bracket count, in every encoding json.loads reads
# ---------------------------------------------------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]


def _nested(levels: int) -> str:
    inner = "[" * levels + "]" * levels
    return f'{{"success": true, "errors": [], "messages": [], "result": {{"deep": {inner}}}}}'


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_answer_in_any_json_encoding_one_level_past_the_depth_limit_is_unreadable_and_at_it_is_read(encoding):
    from mcp_oauth_clients.envelope import MAX_ANSWER_DEPTH, read

    def answer(levels: int) -> httpx.Response:
        return httpx.Response(
            200, content=_nested(levels).encode(encoding), headers={"content-type": "application/json"}
        )

    assert read(answer(MAX_ANSWER_DEPTH - 2), []).readable  # the envelope and `result` are two levels
    assert not read(answer(MAX_ANSWER_DEPTH - 1), []).readable


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_brackets_inside_strings_and_escapes_never_let_a_deep_answer_skip_the_walk(encoding):
    """The count includes brackets in strings (more, never fewer) and a `\\u005b` escape is no bracket in the
    structure: however the body is written, each level of the structure is one `[` or `{` byte-pattern."""
    from mcp_oauth_clients.envelope import MAX_ANSWER_DEPTH, read

    levels = MAX_ANSWER_DEPTH - 1
    mixed = "".join('{"k":' if n % 2 else "[" for n in range(levels))
    closing = "".join("}" if n % 2 else "]" for n in reversed(range(levels)))
    body = f'{{"success": true, "errors": [], "messages": ["\\u005b\\u007b"], "result": {{"d": {mixed}1{closing}}}}}'
    response = httpx.Response(200, content=body.encode(encoding), headers={"content-type": "application/json"})
    assert not read(response, []).readable


# ---------------------------------------------------------------------------------------------------------------
# 6. `uri_host`'s cache of parsed hosts
# ---------------------------------------------------------------------------------------------------------------


def test_uri_host_answers_the_same_from_its_cache_as_from_a_parse_for_hostile_urls_and_keeps_at_most_256():
    from mcp_oauth_clients import oauth_client
    from mcp_oauth_clients.oauth_client import _UNPARSEABLE, uri_host

    hostile = [
        "https://Example.COM/cb",
        "https://example.com:99999/cb",  # a port out of range
        "https://[::1/cb",  # an unclosed bracket
        "https://user:pa ss@host.example/",
        "https://host.example:80:80/",
        "https://xn--n3h.example/☃",
        "https://ex\uff0fample.com/",  # a full-width solidus: NFKC makes it '/', urlsplit refuses the netloc
        "javascript:alert(1)",
        "https://" + "a" * 2035 + ".com/",  # 2,048 characters: kept
        "https://" + "a" * 2036 + ".com/",  # 2,049: never kept
    ]
    assert len(hostile[-2]) == 2048 and len(hostile[-1]) == 2049
    fresh = [oauth_client._host(url) for url in hostile]
    assert [uri_host(url) for url in hostile] == fresh
    assert [uri_host(url) for url in hostile] == fresh  # the second answer comes from the cache
    assert fresh[1] is _UNPARSEABLE and fresh[2] is _UNPARSEABLE and fresh[0] == "example.com"
    before = oauth_client._cached_host.cache_info()
    uri_host(hostile[-1])
    assert oauth_client._cached_host.cache_info().currsize == before.currsize  # the long one is not kept
    for n in range(600):  # a hostile answer of many distinct URLs cannot grow the cache past its bound
        uri_host(f"https://h{n}.example/")
    assert oauth_client._cached_host.cache_info().currsize <= 256
