"""Shared fixtures (the anyio backend, the loopback fake and DNS server, settings pointing at them, the server
in memory or as the console script) and the two markers that sort the suite into tiers:

- `e2e`: the test starts a process (the console script, Prism, npm tools, git...). `pytest -m "not e2e"` runs
  in memory. A test that starts a process without the mark fails, so the tier cannot drift.
- `slow` (set by hand): in memory, but waits out the timeouts and Retry-After waits it provokes, or pushes
  megabytes or hundreds of generated examples. `pytest -m "not e2e and not slow"` is the quick tier.
- `outside`: the test needs the npm tools (`python3 -m tests.npm_tools` installs them) or installs
  packages itself. Selected by `-m outside` or run under `CI=true`; otherwise skipped with the reason, so a
  plain `pytest` installs nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from mcp import Client

from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID
from tests import npm_tools
from tests.fake_cloudflare import TOKEN, FakeCloudflare


def _share_compiled_output_validators() -> None:
    """`mcp.Client` compiles and meta-checks each tool's output schema once per session (~25 ms for the client
    models); the suite opens a session per test, so one compiled validator per distinct schema is shared. Every
    result is still validated against its tool's schema, and a schema that fails to compile is never shared."""
    from mcp.client.session import ClientSession

    compile_for_session = ClientSession._output_schema_validator
    compiled: dict[str, Any] = {}

    def shared(self: ClientSession, name: str, output_schema: dict[str, Any]) -> Any:
        key = json.dumps(output_schema, sort_keys=True)
        if key not in compiled:
            compiled[key] = compile_for_session(self, name, output_schema)
        return compiled[key]

    ClientSession._output_schema_validator = shared  # type: ignore[method-assign]


_share_compiled_output_validators()

ACCOUNT = DEMO_ACCOUNT_ID
CLIENT = DEMO_CLIENT_ID

# Fixtures that start a process (so a test using one is e2e), and whose process may start before the test's
# own guard is in place (a module-scoped fixture).
PROCESS_FIXTURES = {"stdio", "fresh_copy", "judged"}

# Tests in files whose owners have not marked them yet, found by the guard below: a module name alone means
# every test in it starts a process. Each owner may move the mark into the file (`pytestmark`) and drop it here.
E2E_TESTS: dict[str, set[str] | None] = {
    "test_container": {"test_the_image_builds_starts_and_reports_healthy"},
    "test_every_bad_field": {"test_one_refusal_names_every_bad_field_nulls_and_unknown_names_among_them_over_stdio"},
    "test_find_read_verify": {
        "test_a_resolver_that_never_answers_is_a_failed_lookup_within_the_timeout",
    },
}

OUTSIDE_SKIP = (
    "outside check: needs the npm tools or installs packages; run "
    f"`{npm_tools.INSTALL_COMMAND}` then `pytest -m outside` (CI=true runs them)"
)


def outside_selected(markexpr: str, ci: bool) -> bool:
    """Whether the outside checks run: under CI always, else only when `-m` asks for them."""
    return ci or re.search(r"(?<!not )\boutside\b", markexpr) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = outside_selected(config.option.markexpr or "", npm_tools.in_ci())
    for item in items:
        listed = E2E_TESTS.get(item.path.stem, set())
        if (
            item.get_closest_marker("outside")
            or PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
            or listed is None
            or getattr(item, "originalname", item.name) in listed
        ):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("outside") and not selected:
            item.add_marker(pytest.mark.skip(reason=OUTSIDE_SKIP))


_RUNNING: list[pytest.Item] = []  # the test being set up, run or torn down (fixtures of any scope included)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _RUNNING.append(item)
    try:
        return (yield)
    finally:
        _RUNNING.pop()


def _guard_process_starts() -> None:
    """A process started for an unmarked test fails, even from a module- or session-scoped fixture, which is
    set up before the test's own guard below is in place."""
    original: Callable[..., None] = subprocess.Popen.__init__

    def guarded(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        if _RUNNING and _RUNNING[-1].get_closest_marker("e2e") is None:
            raise AssertionError(f"{_RUNNING[-1].nodeid} starts a process ({args!r:.80}) but is not marked e2e")
        original(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = guarded  # type: ignore[method-assign]


_guard_process_starts()


@pytest.fixture(autouse=True)
def _processes_only_in_e2e(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the `e2e` mark true the other way round: a marked test that starts no process is named in a warning
    (it belongs in memory). An unmarked one that starts a process fails in `_guard_process_starts`."""
    marked = request.node.get_closest_marker("e2e") is not None
    started: list[str] = []
    original: Callable[..., None] = subprocess.Popen.__init__

    def counted(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        started.append(repr(args))
        original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", counted)
    yield
    outside = request.node.get_closest_marker("outside") is not None  # needs the tools, maybe no process
    if marked and not outside and not started and not PROCESS_FIXTURES & set(request.fixturenames):
        warnings.warn(f"{request.node.nodeid} is marked e2e but started no process", pytest.PytestWarning, 2)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> Iterator[FakeCloudflare]:
    with FakeCloudflare() as server:
        yield server


def settings_for(base_url: str, **overrides: Any) -> Settings:
    """Settings as the environment would give them, pointed at a fake, with short timeouts."""
    values: dict[str, Any] = dict(
        credentials=Credentials(api_token=TOKEN),
        base_url=base_url,
        account_id=ACCOUNT,
        timeout=2.0,
        connect_timeout=1.0,
        max_retries=2,
        max_retry_wait=2.0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def dns():
    """A real DNS server on 127.0.0.1 serving a test zone (tests/dns_server.py)."""
    from tests.dns_server import LoopbackDNS

    with LoopbackDNS() as server:
        yield server


class MemoryClient:
    """The server in this process behind `mcp.Client`, with the stdio client's synchronous `call` and `text`,
    so a test of our logic needs no process. Settings come from the same variables the script would read."""

    def __init__(
        self,
        environ: dict[str, str],
        on_elicit: Callable[..., Any] | None = None,
        *,
        env_file: str | os.PathLike[str] | None = None,
        mode: Any = "auto",
    ) -> None:
        from mcp_oauth_clients.server import build_server

        self.settings = Settings.load(environ, env_file)
        self._stack = contextlib.ExitStack()
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        client = Client(build_server(self.settings), elicitation_callback=on_elicit, mode=mode)
        try:
            self.client = self._stack.enter_context(self.portal.wrap_async_context_manager(client))
        except BaseException:
            self._stack.close()
            raise

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The tool's result as the JSON a client reads (`content`, `isError`, `structuredContent`)."""
        result = self.portal.call(self.client.call_tool, name, arguments)
        return result.model_dump(by_alias=True, exclude_none=True, mode="json")

    def text(self, name: str, arguments: dict[str, Any]) -> tuple[bool, str, dict[str, Any] | None]:
        """Call a tool; return (is_error, text, structuredContent)."""
        result = self.call(name, arguments)
        return bool(result.get("isError")), result["content"][0]["text"], result.get("structuredContent")

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def served(fake, dns) -> Iterator[MemoryClient]:
    """The server in memory, pointed at the loopback fake and DNS server as `stdio` is: for tests of logic."""
    from tests.stdio_client import fake_env  # here: stdio_client imports this module

    client = MemoryClient(fake_env(fake, MCP_OAUTH_CLIENTS_DNS_SERVER=dns.address))
    yield client
    client.close()


@pytest.fixture
def stdio(fake, dns):
    """The console script over stdio, pointed at the loopback fake and the loopback DNS server."""
    from tests.stdio_client import RawClient, fake_env  # here: stdio_client imports this module

    client = RawClient(fake_env(fake, MCP_OAUTH_CLIENTS_DNS_SERVER=dns.address))
    client.initialize()
    yield client
    client.close()


@contextlib.asynccontextmanager
async def asgi_lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (which starts the MCP session manager), as uvicorn does around serving."""
    to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](2)
    app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](2)
    async with anyio.create_task_group() as group:
        group.start_soon(
            app, {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, app_receives.receive, app_sends.send
        )
        await to_app.send({"type": "lifespan.startup"})
        assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        try:
            yield
        finally:
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


@contextlib.asynccontextmanager
async def http_served(environ: dict[str, str], host: str = "127.0.0.1") -> AsyncIterator[Any]:
    """The streamable HTTP app in this process, lifespan running, with the settings the script would read from
    `environ`: what `--transport streamable-http` serves, for tests of its logic (send it requests over
    `httpx.ASGITransport`, or `httpx2.ASGITransport` for the SDK's client)."""
    from mcp_oauth_clients.http_transport import http_app
    from mcp_oauth_clients.server import build_server

    settings = Settings.load(environ)
    app = http_app(build_server(settings), settings, host)
    async with asgi_lifespan(app):
        yield app


# The loggers `cli.configure_logging` sets up, restored after an in-process run.
CONFIGURED_LOGGERS = (
    "",
    "mcp_oauth_clients.startup",
    "httpx",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
)


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Undo, on leaving, what `cli.configure_logging` does to the process's loggers."""
    saved = [(log, log.level, log.handlers[:], log.propagate) for log in map(logging.getLogger, CONFIGURED_LOGGERS)]
    try:
        yield
    finally:
        for log, level, handlers, propagate in saved:
            log.setLevel(level)
            log.handlers[:] = handlers
            log.propagate = propagate


@contextlib.contextmanager
def server_stderr(settings: Settings) -> Iterator[io.StringIO]:
    """What the console script would write to stderr, for a server in this process: logging configured as
    `cli.main` configures it (level, format, secrets masked), and the audit log when it goes to stderr."""
    from mcp_oauth_clients.cli import configure_logging

    err = io.StringIO()
    with logging_restored(), contextlib.redirect_stderr(err):
        configure_logging(settings.log_level, settings.secrets(), settings.log_format)
        yield err


class WouldServe(Exception):
    """Raised in place of serving by `cli`: the configuration was accepted."""


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`mcp-oauth-clients ARGS` in this process (`cli.main`), with exactly `environ` as the environment, `cwd`
        (default: an empty folder) as the working directory, stdout and stderr captured: for start-up refusals and
        doctor. Where the script would start serving, it stops instead with exit code 0 (nothing is served; over stdio,
    the start-up lines are written first, as there)."""
    from mcp_oauth_clients import cli as script
    from mcp_oauth_clients import doctor, http_transport, stdio_transport
    from mcp_oauth_clients.startup import announce

    def would_serve(*args: Any) -> Any:
        raise WouldServe

    def would_serve_stdio(server: Any, settings: Settings) -> None:
        announce(settings, "stdio")  # as serve_stdio does first: the start-up lines
        raise WouldServe

    run_doctor = doctor.run_doctor  # its `out` default is the stdout of import time, not the captured one
    monkeypatch.setattr(doctor, "run_doctor", lambda settings, **kw: run_doctor(settings, sys.stdout, **kw))
    monkeypatch.setattr(stdio_transport, "serve_stdio", would_serve_stdio)
    monkeypatch.setattr(http_transport, "listen", would_serve)  # after the bind checks, before the port is taken

    def run(argv: list[str], environ: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        for name in list(os.environ):
            monkeypatch.delenv(name)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(cwd or tmp_path)
        out, err = io.StringIO(), io.StringIO()
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with logging_restored(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = script.main(argv)
                except WouldServe:
                    code = 0
                except SystemExit as exit:  # argparse: --help, or a usage error
                    code = exit.code if isinstance(exit.code, int) else 1
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return subprocess.CompletedProcess(["mcp-oauth-clients", *argv], code, out.getvalue(), err.getvalue())

    return run
