"""Shared fixtures: the anyio backend, the loopback fake, settings pointing at it."""

from __future__ import annotations

import pytest

from mcp_oauth_clients.config import Credentials, Settings
from mcp_oauth_clients.emulator import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID
from tests.fake_cloudflare import TOKEN, FakeCloudflare

ACCOUNT = DEMO_ACCOUNT_ID
CLIENT = DEMO_CLIENT_ID


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
