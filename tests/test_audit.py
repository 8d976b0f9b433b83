"""The audit log: an intent line on file before a write leaves, an outcome line after, and no write without it.

In memory (`mcp.Client(server)` and the write path against the emulator), except the one test only a
process can show: SIGKILL while the PATCH is at Cloudflare still leaves the intent line in the file.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import threading

import anyio
import httpx
import pytest
from mcp import Client

from mcp_oauth_clients import operations
from mcp_oauth_clients.audit import AuditLog
from mcp_oauth_clients.emulator import Answer, CloudflareEmulator, mock_transport
from mcp_oauth_clients.models import OAuthClientUpdate
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, settings_for
from tests.fake_cloudflare import TOKEN, FakeCloudflare
from tests.stdio_client import RawClient, fake_env

BASE = "https://api.example.test/client/v4"
REFUSAL = {"success": False, "errors": [{"code": 1004, "message": "no"}], "messages": [], "result": None}
SERVER_ERROR = {"success": False, "errors": [{"code": 1000, "message": "oops"}], "messages": [], "result": None}
NULL_RESULT = {"success": True, "errors": [], "messages": [], "result": None}


def audit_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def outcomes(path) -> list[str]:
    return [line["outcome"] for line in audit_lines(path) if line["event"] == "write_outcome"]


def rename(name: str = "Audited", **extra) -> dict:
    return {"oauth_client_id": CLIENT, "client_name": name, **extra}


def scripted(emulator: CloudflareEmulator, answers: list[tuple[int, dict]]):
    """Each PATCH gets the next scripted answer (then the emulator's own); reads are the emulator's."""
    original = emulator.handle

    def handle(method, path, headers, body):
        if method == "PATCH" and answers:
            status, payload = answers.pop(0)
            emulator.record(method, path, headers, body)
            return Answer(status, json.dumps(payload).encode())
        return original(method, path, headers, body)

    emulator.handle = handle


def server_for(emulator: CloudflareEmulator, audit: str, **settings):
    return build_server(
        settings_for(BASE, audit_log=audit, retry_backoff=0.0, **settings), transport=mock_transport(emulator)
    )


def patches(emulator: CloudflareEmulator) -> list:
    return [r for r in emulator.requests if r.method == "PATCH"]


@pytest.mark.anyio
async def test_each_outcome_path_leaves_one_outcome_line_after_an_intent_line_and_a_dry_run_none(tmp_path):
    audit = tmp_path / "audit.jsonl"
    emulator = CloudflareEmulator(tokens={TOKEN})
    server = server_for(emulator, str(audit))
    async with Client(server) as client:
        await client.call_tool("update_oauth_client", rename())  # applied
        scripted(emulator, [(400, REFUSAL)])
        await client.call_tool("update_oauth_client", rename("Refused"))  # failed: Cloudflare said no
        await client.call_tool("update_oauth_client", {"oauth_client_id": CLIENT, "visibility": "public"})  # refused
        scripted(emulator, [(500, SERVER_ERROR)] * 3)
        await client.call_tool("update_oauth_client", rename("Lost"))  # unknown: a server error after it arrived
        scripted(emulator, [(200, NULL_RESULT)])
        await client.call_tool("update_oauth_client", rename("Unreadable"))  # unknown: accepted, answer unusable
        await client.call_tool("update_oauth_client", rename(dry_run=True))  # a preview writes nothing: no line
    lines = audit_lines(audit)
    assert [(line["event"], line.get("outcome")) for line in lines] == [
        ("write_intent", None),
        ("write_outcome", "applied"),
        ("write_intent", None),
        ("write_outcome", "failed"),
        ("write_outcome", "refused"),  # refused before anything could be sent: no intent
        ("write_intent", None),
        ("write_outcome", "unknown"),
        ("write_intent", None),
        ("write_outcome", "unknown"),
    ]


@pytest.mark.anyio
async def test_a_write_cancelled_while_the_patch_is_out_is_recorded_as_unknown_cancelled(tmp_path):
    audit = AuditLog(str(tmp_path / "audit.jsonl"))
    emulator = CloudflareEmulator(tokens={TOKEN})
    serve = mock_transport(emulator)
    at_cloudflare = anyio.Event()

    async def hold_the_patch(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            at_cloudflare.set()
            await anyio.sleep_forever()
        return await serve.handle_async_request(request)

    services = services_with(httpx.MockTransport(hold_the_patch), audit)
    params = OAuthClientUpdate(oauth_client_id=CLIENT, client_name="Cut short")
    async with anyio.create_task_group() as group:
        group.start_soon(operations.apply_update, services, params)
        await at_cloudflare.wait()
        group.cancel_scope.cancel()
    audit.close()
    intent, outcome = audit_lines(tmp_path / "audit.jsonl")
    assert intent["event"] == "write_intent" and intent["attempt"] == outcome["attempt"]
    assert (outcome["outcome"], outcome["reason"]) == ("unknown", "cancelled")


def services_with(transport, audit: AuditLog) -> operations.Services:
    from mcp_oauth_clients.cloudflare_client import CloudflareClient

    settings = settings_for(BASE)
    return operations.Services(
        settings=settings, cloudflare=CloudflareClient(settings, transport=transport), audit=audit
    )


@pytest.mark.anyio
async def test_our_own_failure_after_the_request_left_is_recorded_as_unknown(tmp_path, monkeypatch):
    def broken(answer):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(operations, "written_client", broken)
    emulator = CloudflareEmulator(tokens={TOKEN})
    audit = tmp_path / "audit.jsonl"
    async with Client(server_for(emulator, str(audit))) as client:
        result = await client.call_tool("update_oauth_client", rename())
    assert result.is_error and "Internal error" in result.content[0].text
    assert [(r.method, r.body) for r in patches(emulator)] == [("PATCH", {"client_name": "Audited"})]
    last = audit_lines(audit)[-1]
    assert (last["outcome"], last["reason"]) == ("unknown", "internal_error")


@pytest.mark.anyio
async def test_line_separators_in_a_value_never_split_the_audit_line(tmp_path):
    # A caller's name with these characters is refused before anything is sent; Cloudflare's stored one is the
    # value that reaches the audit line (as "before"), so that is where they are planted.
    audit = tmp_path / "audit.jsonl"
    name = "a\u2028b\u2029c\u0085d\x1be"
    emulator = CloudflareEmulator(tokens={TOKEN})
    emulator.clients[(ACCOUNT, CLIENT)]["client_name"] = name
    async with Client(server_for(emulator, str(audit))) as client:
        await client.call_tool("update_oauth_client", rename("Plain"))
    text = audit.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 2  # str.splitlines breaks on U+2028, U+2029 and U+0085
    intent = json.loads(text.splitlines()[0])
    assert intent["before"]["client_name"] == "a\\u2028b\\u2029c\\u0085d\\u001be"  # escaped where it came in


@pytest.mark.anyio
async def test_an_audit_fifo_without_a_reader_refuses_the_write_at_once_and_reads_still_answer(tmp_path):
    audit = tmp_path / "audit.fifo"
    os.mkfifo(audit)  # no process reads it: the intent line cannot be delivered
    emulator = CloudflareEmulator(tokens={TOKEN})
    async with Client(server_for(emulator, str(audit))) as client:
        write = await client.call_tool("update_oauth_client", rename())
        read = await client.call_tool("get_oauth_client", {"oauth_client_id": CLIENT})
    text = write.content[0].text
    assert write.is_error and "FIFO with no process reading it" in text and "nothing was sent" in text
    assert patches(emulator) == [] and not read.is_error


@pytest.mark.anyio
async def test_an_audit_fifo_with_a_reader_receives_the_intent_before_the_patch(tmp_path):
    audit = tmp_path / "audit.fifo"
    os.mkfifo(audit)
    # Opened for reading here, without waiting for a writer: a reader is present before the server starts.
    fd = os.open(audit, os.O_RDONLY | os.O_NONBLOCK)
    data = bytearray()

    def reader() -> None:
        while data.count(b"\n") < 2 and select.select([fd], [], [], 60)[0]:  # 60 s: a bound for a hang only
            chunk = os.read(fd, 65536)
            if not chunk:  # the log was closed
                return
            data.extend(chunk)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    emulator = CloudflareEmulator(tokens={TOKEN})
    try:
        async with Client(server_for(emulator, str(audit))) as client:
            result = await client.call_tool("update_oauth_client", rename())
        await anyio.to_thread.run_sync(thread.join, 60)
    finally:
        os.close(fd)
    received = data.decode("utf-8").splitlines()
    assert not result.is_error, result.content[0].text
    assert [json.loads(line)["event"] for line in received] == ["write_intent", "write_outcome"]


@pytest.mark.anyio
async def test_an_audit_file_that_fails_every_write_means_no_write_is_sent():
    emulator = CloudflareEmulator(tokens={TOKEN})
    async with Client(server_for(emulator, "/dev/full")) as client:
        result = await client.call_tool("update_oauth_client", rename())
    text = result.content[0].text
    assert result.is_error and "The audit log cannot record this write" in text and "nothing was sent" in text
    assert "No space left on device" in text and patches(emulator) == []


@pytest.mark.anyio
async def test_an_audit_folder_removed_after_start_up_means_no_write_is_sent(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    emulator = CloudflareEmulator(tokens={TOKEN})
    async with Client(server_for(emulator, str(folder / "audit.jsonl"))) as client:
        first = await client.call_tool("update_oauth_client", rename("First"))
        shutil.rmtree(folder)
        second = await client.call_tool("update_oauth_client", rename("Second"))
    assert not first.is_error and second.is_error
    assert "its folder does not exist" in second.content[0].text
    assert [r.body for r in patches(emulator)] == [{"client_name": "First"}]


def test_a_noted_event_is_one_line_with_its_fields_and_no_secret(tmp_path):
    audit = AuditLog(str(tmp_path / "audit.jsonl"), secrets=[TOKEN])
    audit.note("dns_lookup", name="_x.example.com", resolver="system", verdict=f"echo {TOKEN}")
    audit.close()
    [line] = audit_lines(tmp_path / "audit.jsonl")
    assert line["event"] == "dns_lookup" and line["name"] == "_x.example.com" and "time" in line
    assert line["verdict"] == "echo [REDACTED]"


def test_audit_line_escapes_every_hidden_character_and_reads_back_unchanged():
    value = "x\u2028\u2029\u0085\x00\x1b\u202e\u200b\ud800\U000e0041\ue000y"
    line = AuditLog(secrets=[TOKEN]).line({"value": value, "token": f"echo {TOKEN}"})
    assert line.isprintable() and len(line.splitlines()) == 1
    entry = json.loads(line)
    assert entry["value"] == value and entry["token"] == "echo [REDACTED]"


@pytest.mark.e2e
def test_sigkill_while_the_patch_is_at_cloudflare_leaves_the_intent_line_in_the_file(tmp_path):
    """Only a process shows this: the line must be in the file, not in a buffer, when the request leaves."""
    audit = tmp_path / "audit.jsonl"
    patch_arrived, release = threading.Event(), threading.Event()
    with FakeCloudflare() as fake:
        original = fake.emulator.handle

        def hold_the_patch(method, path, headers, body):
            if method == "PATCH":
                patch_arrived.set()
                release.wait(30)
            return original(method, path, headers, body)

        fake.emulator.handle = hold_the_patch
        client = RawClient(fake_env(fake), args=("--audit-log", str(audit)))
        try:
            client.initialize()
            client.next_id += 1
            client._send(
                {
                    "jsonrpc": "2.0",
                    "id": client.next_id,
                    "method": "tools/call",
                    "params": {"name": "update_oauth_client", "arguments": rename("Killed")},
                }
            )
            assert patch_arrived.wait(30), "the PATCH never reached the fake"
            client.proc.send_signal(signal.SIGKILL)
            client.proc.wait(timeout=30)
        finally:
            release.set()
            if client.proc.poll() is None:
                client.proc.kill()
    [intent] = audit_lines(audit)
    assert intent["event"] == "write_intent" and intent["body"] == {"client_name": "Killed"}
    assert intent["before"] == {"client_name": "Demo OAuth App"} and intent["account_id"] == ACCOUNT


@pytest.mark.anyio
async def test_an_intent_to_an_open_regular_file_is_written_without_a_thread(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path))
    await audit.intend(attempt="1")  # the first line opens the file, from a thread (a FIFO's open may wait)

    def no_thread(*args, **kwargs):
        raise AssertionError("the intent line went through a thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
    await audit.intend(attempt="2")
    audit.close()
    assert [line["attempt"] for line in audit_lines(path)] == ["1", "2"]


@pytest.mark.anyio
async def test_an_intent_waits_for_the_lines_queued_before_it_even_on_a_regular_file(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path))
    await audit.intend(attempt="1")
    write = AuditLog._append

    def slow_outcomes(self, line):  # the writer thread is still busy with the outcome when the next intent comes
        if '"write_outcome"' in line:
            threading.Event().wait(0.2)
        write(self, line)

    monkeypatch.setattr(AuditLog, "_append", slow_outcomes)
    audit.record(attempt="1", outcome="applied")
    await audit.intend(attempt="2")
    audit.close()
    assert [(line["event"], line["attempt"]) for line in audit_lines(path)] == [
        ("write_intent", "1"),
        ("write_outcome", "1"),
        ("write_intent", "2"),
    ]


@pytest.mark.anyio
async def test_an_intent_after_the_file_was_rotated_goes_to_the_new_file(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path))
    await audit.intend(attempt="1")
    path.rename(tmp_path / "audit.jsonl.1")
    await audit.intend(attempt="2")
    audit.close()
    assert [line["attempt"] for line in audit_lines(tmp_path / "audit.jsonl.1")] == ["1"]
    assert [line["attempt"] for line in audit_lines(path)] == ["2"]


class StalledReader:
    """A FIFO whose reader is there but stalls (a log shipper that stopped reading): the pipe is full, so any write
    to it waits. The reader drains only when `release` is called, or after `bound` seconds of being armed, which
    is the only way out for a caller that waited for it; `waited_out` then says the bound had to be used."""

    def __init__(self, folder, bound: float = 5.0) -> None:
        self.path = str(folder / "audit.fifo")
        os.mkfifo(self.path)
        self.reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.filler = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        try:
            while True:
                os.write(self.filler, b"." * 65536)
        except BlockingIOError:
            pass  # full: the next writer waits
        self.bound = bound
        self.armed, self.released, self.stopped, self.waited_out = (threading.Event() for _ in range(4))
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        self.armed.wait()
        if not self.released.wait(self.bound):
            self.waited_out.set()
        while not self.stopped.is_set():
            if select.select([self.reader], [], [], 0.05)[0] and not os.read(self.reader, 1 << 20):
                return

    def release(self) -> None:
        self.armed.set()
        self.released.set()

    def close(self) -> None:
        self.release()
        self.stopped.set()
        self.thread.join(10)
        os.close(self.filler)
        os.close(self.reader)


@pytest.fixture
def stalled(tmp_path, monkeypatch):
    from mcp_oauth_clients import audit as audit_module

    monkeypatch.setattr(audit_module, "INTENT_WAIT", 0.1)  # the bound the intent's wait is refused after
    fifo = StalledReader(tmp_path)
    yield fifo
    fifo.close()


@pytest.mark.anyio
async def test_an_outcome_recorded_while_a_refused_intent_is_stuck_on_a_stalled_fifo_never_waits_for_its_reader(
    stalled,
):
    from mcp_oauth_clients.audit import AuditUnwritable

    audit = AuditLog(stalled.path)
    with pytest.raises(AuditUnwritable):  # refused after INTENT_WAIT; its thread still holds the file, waiting
        await audit.intend(attempt="1")
    stalled.armed.set()
    audit.record(attempt="1", outcome="refused")  # on the event loop, as write_path records it: must not block
    waited = stalled.waited_out.is_set()
    stalled.release()
    audit.close()
    assert not waited, "record() blocked the event loop until the stalled FIFO reader drained"


@pytest.mark.anyio
async def test_a_second_intent_while_the_first_is_stuck_on_a_stalled_fifo_is_refused_within_the_bound(stalled):
    from mcp_oauth_clients.audit import AuditUnwritable

    audit = AuditLog(stalled.path)
    with pytest.raises(AuditUnwritable):
        await audit.intend(attempt="1")
    stalled.armed.set()
    try:
        await audit.intend(attempt="2")
        refused = False
    except AuditUnwritable:
        refused = True
    waited = stalled.waited_out.is_set()
    stalled.release()
    audit.close()
    assert not waited, "intend() blocked the event loop (outside its INTENT_WAIT bound) on the stalled FIFO"
    assert refused, "the second intent was written only because the reader was released: it must be refused"


@pytest.mark.anyio
async def test_a_stalled_audit_fifo_refuses_the_write_without_freezing_the_server(stalled):
    emulator = CloudflareEmulator(tokens={TOKEN})
    stalled.armed.set()  # from here, only the bound frees a server that waits for the reader
    async with Client(server_for(emulator, stalled.path)) as client:
        result = await client.call_tool("update_oauth_client", rename())
        waited = stalled.waited_out.is_set()
        stalled.release()
    text = result.content[0].text
    assert result.is_error and "nothing was sent" in text and patches(emulator) == []
    assert not waited, "the refused write's outcome line blocked the event loop until the FIFO reader drained"


@pytest.mark.anyio
async def test_an_outcome_on_stderr_never_waits_for_a_stalled_intent_write(monkeypatch):
    from mcp_oauth_clients import audit as audit_module
    from mcp_oauth_clients.audit import AuditUnwritable

    monkeypatch.setattr(audit_module, "INTENT_WAIT", 0.1)
    armed, released, waited_out = threading.Event(), threading.Event(), threading.Event()

    class StalledStderr:  # the host stopped reading our stderr: a write waits for it
        def write(self, text: str) -> int:
            armed.wait(10)
            if not released.wait(5.0):
                waited_out.set()
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr("sys.stderr", StalledStderr())
    audit = AuditLog(None)
    with pytest.raises(AuditUnwritable):
        await audit.intend(attempt="1")
    armed.set()
    audit.record(attempt="1", outcome="refused")
    waited = waited_out.is_set()
    released.set()
    audit.close()
    assert not waited, "record() blocked the event loop until the stalled stderr took the intent line"


@pytest.mark.anyio
@pytest.mark.parametrize("replacement", ["fifo", "symlink to a fifo", "symlink to /dev/full"])
async def test_an_audit_file_replaced_by_what_cannot_take_a_line_refuses_the_next_intent_and_keeps_the_old_file(
    tmp_path, replacement
):
    from mcp_oauth_clients.audit import AuditUnwritable

    path, old = tmp_path / "audit.jsonl", tmp_path / "audit.jsonl.1"
    audit = AuditLog(str(path))
    await audit.intend(attempt="1")
    path.rename(old)
    if replacement == "fifo":
        os.mkfifo(path)
    elif replacement == "symlink to a fifo":
        os.mkfifo(tmp_path / "elsewhere.fifo")
        os.symlink(tmp_path / "elsewhere.fifo", path)
    else:
        os.symlink("/dev/full", path)
    audit.record(attempt="0", outcome="applied")  # not written inline into the file no longer at the path
    with pytest.raises(AuditUnwritable):
        await audit.intend(attempt="2")
    audit.close()
    assert [line["attempt"] for line in audit_lines(old)] == ["1"]


@pytest.mark.anyio
async def test_lines_queued_from_many_threads_and_failed_writes_leave_nothing_counted_as_queued(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path))
    await audit.intend(attempt="first")
    path.rename(tmp_path / "away.jsonl")
    os.mkfifo(path)  # no reader: every queued line fails, and must still be counted off
    for n in range(5):
        audit.note("dns_check", attempt=f"lost{n}")
    audit.close()
    path.unlink()

    def outcomes_from(thread: int) -> None:
        for n in range(40):
            audit.record(attempt=f"{thread}.{n}", outcome="applied")

    threads = [threading.Thread(target=outcomes_from, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    audit.close()  # drains the writer
    await audit.intend(attempt="reopen")  # the held file was closed: reopened from a thread

    def no_thread(*args, **kwargs):
        raise AssertionError("a line is still counted as queued: the intent went through a thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
    await audit.intend(attempt="inline")
    audit.close()
    attempts = [line["attempt"] for line in audit_lines(path)]
    assert len(attempts) == 6 * 40 + 2 and attempts[-2:] == ["reopen", "inline"]


def _no_thread(*args, **kwargs):
    raise AssertionError("the line went through a thread")


def _pipe_as_stderr(monkeypatch) -> tuple[int, int]:
    """sys.stderr a real pipe (as the MCP client's log usually is); returns (read end, write end)."""
    read_end, write_end = os.pipe()
    monkeypatch.setattr("sys.stderr", open(write_end, "w", closefd=False))  # noqa: SIM115 - closed by the test
    return read_end, write_end


def _drain(fd: int) -> list[dict]:
    from tests.test_fast_path_attacks_2 import _read_lines  # every whole line waiting in the pipe, parsed

    return _read_lines(fd)


@pytest.mark.anyio
async def test_an_intent_on_stderr_that_is_a_pipe_is_written_without_a_thread_and_leaves_its_flags_alone(
    monkeypatch,
):
    read_end, write_end = _pipe_as_stderr(monkeypatch)
    monkeypatch.setattr(anyio.to_thread, "run_sync", _no_thread)
    audit = AuditLog(None)
    try:
        await audit.intend(attempt="1")
        audit.record(attempt="1", outcome="applied")
        # our non-blocking descriptor is our own: the one the host handed us stays blocking
        assert os.get_blocking(write_end) and os.get_blocking(sys_stderr_fd())
    finally:
        audit.close()
    assert [(line["event"], line["attempt"]) for line in _drain(read_end)] == [
        ("write_intent", "1"),
        ("write_outcome", "1"),
    ]
    os.close(read_end), os.close(write_end)


def sys_stderr_fd() -> int:
    import sys

    return sys.stderr.fileno()


@pytest.mark.anyio
async def test_an_intent_on_a_full_stderr_pipe_is_refused_within_the_bound_and_arrives_whole_once_drained(
    monkeypatch,
):
    from mcp_oauth_clients import audit as audit_module
    from mcp_oauth_clients.audit import AuditUnwritable

    monkeypatch.setattr(audit_module, "INTENT_WAIT", 0.2)
    read_end, write_end = _pipe_as_stderr(monkeypatch)
    os.set_blocking(write_end, False)
    try:
        while True:  # the host stopped reading: the pipe is full
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    audit = AuditLog(None)
    with pytest.raises(AuditUnwritable):  # no room: the thread's bounded wait, not a blocked event loop
        await audit.intend(attempt="1")
    filler = b""
    while filler.count(b"{") == 0:  # drain until the refused line, written by its thread once there is room
        filler += os.read(read_end, 1 << 16)
    audit.close()
    rest = filler[filler.index(b"{") :] + b"".join(iter(lambda: _read_some(read_end), b""))
    assert [json.loads(line)["attempt"] for line in rest.decode().splitlines()] == ["1"]
    os.close(read_end), os.close(write_end)


def _read_some(fd: int) -> bytes:
    return os.read(fd, 1 << 16) if select.select([fd], [], [], 0.2)[0] else b""


@pytest.mark.anyio
async def test_a_line_longer_than_one_atomic_pipe_write_takes_the_thread_and_is_never_split(monkeypatch):
    read_end, write_end = _pipe_as_stderr(monkeypatch)
    audit = AuditLog(None)
    called = []
    run_sync = anyio.to_thread.run_sync

    async def counted(*args, **kwargs):
        called.append(args[0])
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    await audit.intend(attempt="1", body={"client_name": "n" * (select.PIPE_BUF + 1)})
    await audit.intend(attempt="2")
    audit.close()
    lines = _drain(read_end)
    assert [line["attempt"] for line in lines] == ["1", "2"] and len(called) == 1
    assert lines[0]["body"]["client_name"] == "n" * (select.PIPE_BUF + 1)
    os.close(read_end), os.close(write_end)


@pytest.mark.anyio
async def test_an_intent_to_dev_null_or_to_a_fifo_with_a_reader_is_written_without_a_thread(tmp_path, monkeypatch):
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    to_fifo, to_null = AuditLog(str(fifo)), AuditLog(os.devnull)
    await to_fifo.intend(attempt="1")  # the first line opens the log, from a thread (an open may wait)
    await to_null.intend(attempt="1")
    monkeypatch.setattr(anyio.to_thread, "run_sync", _no_thread)
    await to_fifo.intend(attempt="2")
    await to_null.intend(attempt="2")
    to_fifo.close(), to_null.close()
    assert [line["attempt"] for line in _drain(reader)] == ["1", "2"]
    os.close(reader)
