"""The one-time link that hands a person a client secret over streamable HTTP (issue 18, point 3).

End to end in memory: the real HTTP app over `httpx2.ASGITransport`, an SDK client that declares URL-mode
elicitation and whose elicitation callback stands in for the person's browser, the emulator as Cloudflare.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestURLParams, ElicitResult

from mcp_oauth_clients.emulator import CloudflareEmulator, mock_transport
from mcp_oauth_clients.http_transport import http_app
from mcp_oauth_clients.secret_links import LINK_LIFETIME, LinkDelivery, SecretLinks
from mcp_oauth_clients.server import build_server
from tests.conftest import ACCOUNT, CLIENT, asgi_lifespan, settings_for
from tests.fake_cloudflare import TOKEN

pytestmark = pytest.mark.anyio

BASE = "https://api.cloudflare.test/client/v4"
NEW = {"client_name": "New App", "redirect_uris": ["https://new.example.com/cb"], "scopes": ["account.read"]}
ORIGIN = "http://127.0.0.1:8000"


class Clock:
    """An injected monotonic clock: a link's expiry is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the registry ------------------------------------------------------------------------------------------


def filled(links: SecretLinks, secret: str = "s3cret-value") -> str:
    slot = links.offer()
    reservation = links.claim(slot.elicitation_id)
    assert reservation is not None and reservation.write(secret) is not None
    return slot.token


def test_a_link_gives_its_secret_once_then_nothing():
    links = SecretLinks()
    token = filled(links)
    assert links.take(token) == "s3cret-value"
    assert links.take(token) is None


def test_a_link_whose_write_has_not_answered_waits_without_spending_its_one_reading():
    links = SecretLinks()
    slot = links.offer()
    assert links.take(slot.token) == "waiting"
    reservation = links.claim(slot.elicitation_id)
    assert reservation is not None and reservation.write("late") is not None
    assert links.take(slot.token) == "late" and links.take(slot.token) is None


def test_an_expired_link_is_gone_and_a_secret_arriving_after_it_is_not_kept():
    clock = Clock()
    links = SecretLinks(clock=clock)
    token = filled(links)
    late = links.offer()
    reservation = links.claim(late.elicitation_id)
    assert reservation is not None
    clock.now += LINK_LIFETIME
    assert links.take(token) is None
    assert reservation.write("too late") is None and links.take(late.token) is None
    assert links.claim(late.elicitation_id) is None


def test_no_repr_shows_a_token_or_a_secret():
    links = SecretLinks()
    slot = links.offer()
    reservation = links.claim(slot.elicitation_id)
    assert reservation is not None and reservation.write("s3cret-value") is not None
    shown = repr(links) + repr(slot) + repr(reservation) + repr(LinkDelivery(reservation, "accepted"))
    assert slot.token not in shown and "s3cret-value" not in shown and slot.elicitation_id not in shown


# --- end to end over streamable HTTP -----------------------------------------------------------------------


@asynccontextmanager
async def served(
    tmp_path: Path, links: SecretLinks | None = None, host: str = "127.0.0.1", **settings: Any
) -> AsyncIterator[tuple[Any, CloudflareEmulator, httpx.AsyncClient]]:
    """The HTTP app over the emulator; yields the app, the emulator and a 'browser' for the person."""
    emulator = CloudflareEmulator(tokens={TOKEN})
    config = settings_for(BASE, audit_log=str(tmp_path / "audit.jsonl"), **settings)
    app = http_app(build_server(config, transport=mock_transport(emulator)), config, host, links)
    async with asgi_lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as browser:
        yield app, emulator, browser


@asynccontextmanager
async def mcp_client(
    app: Any, callback: Callable[..., Awaitable[ElicitResult]] | None, origin: str = ORIGIN, mode: str = "auto"
) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
    async with (
        http,
        Client(
            streamable_http_client(f"{origin}/mcp", http_client=http), elicitation_callback=callback, mode=mode
        ) as client,
    ):  # type: ignore[arg-type]
        yield client


def person(browser: httpx.AsyncClient, emulator: CloudflareEmulator, action: str = "accept"):
    """The person: sees the URL the client shows, opens it at once (as a client does on accept), answers."""
    seen: list[dict[str, Any]] = []

    async def callback(context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestURLParams)
        page = await browser.get(params.url)
        seen.append({"params": params, "first_page": page, "writes_before": writes(emulator)})
        return ElicitResult(action=action)

    return callback, seen


def writes(emulator: CloudflareEmulator) -> list:
    return [r for r in emulator.requests if r.method != "GET"]


def server_logs(caplog: pytest.LogCaptureFixture) -> str:
    # httpx's own lines are the test's clients (the person's browser, the MCP client), not the server's
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))


async def test_over_http_a_create_offers_its_secret_through_a_link_the_person_reads_once(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with served(tmp_path) as (app, emulator, browser):
        callback, seen = person(browser, emulator)
        async with mcp_client(app, callback) as client:
            result = await client.call_tool("create_oauth_client", NEW)
        assert not result.is_error, result.content
        url = seen[0]["params"].url
        first, again = await browser.get(url), await browser.get(url)
    (secret,) = emulator.issued_secrets(ACCOUNT, result.structured_content["client"]["client_id"])
    assert seen[0]["writes_before"] == []  # the person had the link before anything was sent
    assert seen[0]["first_page"].status_code == 200 and secret not in seen[0]["first_page"].text
    assert first.status_code == 200 and secret in first.text and first.headers["cache-control"] == "no-store"
    assert again.status_code == 404 and secret not in again.text
    token = url.rsplit("/", 1)[1]
    said = result.content[0].text + json.dumps(result.structured_content)
    audit = (tmp_path / "audit.jsonl").read_text()
    for text in (said, audit, server_logs(caplog)):
        assert secret not in text and token not in text
    assert "one-time link" in result.content[0].text and " UTC" in result.content[0].text
    assert result.structured_content["secret"]["file"] is None
    assert result.structured_content["secret"]["link"]["fingerprint"] in result.content[0].text


async def test_over_http_a_rotation_offers_the_new_secret_through_the_link(tmp_path):
    async with served(tmp_path) as (app, emulator, browser):
        callback, seen = person(browser, emulator)
        async with mcp_client(app, callback) as client:
            result = await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": CLIENT})
        page = await browser.get(seen[0]["params"].url)
    (secret,) = emulator.issued_secrets(ACCOUNT, CLIENT)
    assert not result.is_error and secret in page.text and secret not in result.content[0].text
    assert "delete_rotated_oauth_client_secret" in result.content[0].text


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_link_sends_nothing_and_the_link_closes(tmp_path, action):
    async with served(tmp_path) as (app, emulator, browser):
        callback, seen = person(browser, emulator, action)
        async with mcp_client(app, callback) as client:
            result = await client.call_tool("create_oauth_client", NEW)
        page = await browser.get(seen[0]["params"].url)
    assert result.is_error and "Nothing was sent" in result.content[0].text
    assert writes(emulator) == [] and page.status_code == 404


async def test_an_expired_link_fails_and_an_answer_after_expiry_sends_nothing(tmp_path):
    clock = Clock()
    async with served(tmp_path, SecretLinks(clock=clock)) as (app, emulator, browser):
        callback, seen = person(browser, emulator)
        async with mcp_client(app, callback) as client:
            created = await client.call_tool("create_oauth_client", NEW)
        clock.now += LINK_LIFETIME
        expired = await browser.get(seen[0]["params"].url)

        async def slow_person(context: Any, params: Any) -> ElicitResult:
            clock.now += LINK_LIFETIME  # the person answers after the link expired
            return ElicitResult(action="accept")

        async with mcp_client(app, slow_person) as client:
            late = await client.call_tool("rotate_oauth_client_secret", {"oauth_client_id": CLIENT})
    assert not created.is_error and expired.status_code == 404
    assert late.is_error and "expired" in late.content[0].text
    assert [r.path.endswith(f"/accounts/{ACCOUNT}/oauth_clients") for r in writes(emulator)] == [True]  # the create


async def test_a_head_request_does_not_spend_the_link(tmp_path):
    links = SecretLinks()
    token = filled(links)
    async with served(tmp_path, links) as (_, _, browser):
        head = await browser.head(f"{ORIGIN}/secret/{token}")
        got = await browser.get(f"{ORIGIN}/secret/{token}")
    assert head.status_code == 405 and got.status_code == 200 and "s3cret-value" in got.text


async def test_the_link_is_built_on_the_name_the_client_reached_after_the_host_check(tmp_path):
    async with served(tmp_path, host="0.0.0.0", http_allowed_hosts=("mcp.example.com",)) as (app, emulator, _):
        urls: list[str] = []

        async def callback(context: Any, params: Any) -> ElicitResult:
            urls.append(params.url)
            return ElicitResult(action="decline")

        async with mcp_client(app, callback, origin="https://mcp.example.com") as client:
            await client.call_tool("create_oauth_client", NEW)
    assert urls and urls[0].startswith("https://mcp.example.com/secret/") and len(urls[0].rsplit("/", 1)[1]) >= 43


@pytest.mark.parametrize("mode", ["legacy", "no-url-mode"])
async def test_without_url_mode_on_2026_07_28_over_http_the_create_is_refused_before_anything_is_sent(tmp_path, mode):
    async with served(tmp_path) as (app, emulator, browser):
        callback, seen = person(browser, emulator)
        protocol = "legacy" if mode == "legacy" else "auto"
        async with mcp_client(app, callback if mode == "legacy" else None, mode=protocol) as client:
            result = await client.call_tool("create_oauth_client", NEW)
    assert result.is_error and "MCP_OAUTH_CLIENTS_SECRETS_DIR" in result.content[0].text
    assert "URL-mode elicitation" in result.content[0].text
    assert seen == [] and writes(emulator) == []


async def test_without_url_mode_the_operators_folder_takes_the_secret(tmp_path):
    folder = tmp_path / "secrets"
    async with served(tmp_path, secrets_dir=str(folder)) as (app, emulator, _), mcp_client(app, None) as client:
        result = await client.call_tool("create_oauth_client", NEW)
    assert not result.is_error and len(list(folder.glob("*.secret"))) == 1


async def test_a_dry_run_over_http_says_the_secret_would_come_through_a_link_and_offers_none(tmp_path):
    async with served(tmp_path) as (app, emulator, browser):
        callback, seen = person(browser, emulator)
        async with mcp_client(app, callback) as client:
            result = await client.call_tool("create_oauth_client", {**NEW, "dry_run": True})
    assert not result.is_error and "one-time link" in result.content[0].text
    assert seen == [] and writes(emulator) == []


def test_serving_keeps_uvicorns_access_log_off_so_no_request_line_carries_a_token(monkeypatch):
    import uvicorn

    from mcp_oauth_clients import http_transport

    configs: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: configs.append(self.config))
    config = settings_for(BASE)
    http_transport.serve(build_server(config), config, "127.0.0.1", 0)
    assert configs and configs[0].access_log is False
