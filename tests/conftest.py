"""Shared fixtures: the anyio backend, the loopback fake, settings pointing at it."""

from __future__ import annotations

import contextlib
import threading

import pytest

from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID
from tests.fake_cloudflare import TOKEN, FakeCloudflare

ACCOUNT = DEMO_ACCOUNT_ID
CLIENT = DEMO_CLIENT_ID


def pytest_configure(config: pytest.Config) -> None:
    """Start installing the pinned npm tools at once, in the background, so tests rarely wait for them."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller (or the first test that needs them) installs

    def install_quietly() -> None:
        from tests.npm_tools import install

        with contextlib.suppress(Exception, pytest.skip.Exception):  # resurfaces in the tests that need the tools
            install()

    threading.Thread(target=install_quietly, daemon=True).start()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake():
    with FakeCloudflare() as server:
        yield server


def settings_for(base_url: str, **overrides) -> Settings:
    """Settings as the environment would give them, pointed at a fake, with short timeouts."""
    values = dict(
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


@pytest.fixture
def stdio(fake, dns):
    """The console script over stdio, pointed at the loopback fake and the loopback DNS server."""
    from tests.stdio_client import RawClient, fake_env  # here: stdio_client imports this module

    client = RawClient(fake_env(fake, MCP_OAUTH_CLIENTS_DNS_SERVER=dns.address))
    client.initialize()
    yield client
    client.close()
