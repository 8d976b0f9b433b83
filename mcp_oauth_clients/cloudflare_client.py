"""The Cloudflare API client: HTTP, retries, and the outcome of each call, decided in one place.

Retries follow the official SDK: 408, 409, 429, every 5xx and connection errors; 2 retries;
exponential backoff from 0.5 s up to 8 s less up to 25 % jitter; `Retry-After` (seconds or an
HTTP date) and `retry-after-ms` honoured; `x-should-retry` overrides. One difference, on purpose:
a wait longer than `max_retry_wait` is not slept through. Cloudflare's 429 can last five minutes,
and an assistant must not hang that long, so the call answers at once saying when to retry.

Each call ends in one of three outcomes, decided by `_settle`: *not sent* (no connection opened, or
a guard refused: `NotConfigured`, `TransportFailure`), *answered* (an `APIResult`, or the failure the
answer stands for, see `envelope`), or *maybe applied* (`UnknownOutcome`): a write that some attempt
sent and whose answer was lost or a server error. Once a write may have been applied, no later
attempt's answer can say it was not, so the whole call ends as an unknown outcome.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from mcp_oauth_clients import __version__
from mcp_oauth_clients.answer_body import ACCEPT_ENCODING, MAX_ANSWER_BYTES, read_within_limit
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.envelope import CUT, MAX_RETRY_AFTER, Answer, read, retry_after_seconds
from mcp_oauth_clients.errors import (
    NotConfigured,
    RateLimited,
    ToolFailure,
    TransportFailure,
    UnknownOutcome,
    UnreadableAnswer,
)

if TYPE_CHECKING:  # httpx is imported on the first request: start-up and tools/list never need it
    import ssl

    import httpx

# MAX_RETRY_AFTER and retry_after_seconds live in `envelope`; tests/test_bounded_work.py imports them from here.
__all__ = ["MAX_ANSWER_BYTES", "MAX_RETRY_AFTER", "APIResult", "CloudflareClient", "retry_after_seconds"]

logger = logging.getLogger(__name__)

USER_AGENT = f"mcp-oauth-clients/{__version__} (+https://github.com/mcp-oauth-clients/mcp-oauth-clients)"
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))


# Never compared, hashed or printed (`result` holds a created client's secret until it is taken out): eq and repr
# are not generated, since before Python 3.13 each generated method is compiled at import, which start-up pays for.
@dataclass(frozen=True, eq=False, repr=False)
class APIResult:
    """A successful answer: the envelope's `result` and Cloudflare's request id (cf-ray), if any."""

    result: Any
    request_id: str | None
    attempts: int
    result_info: dict[str, Any] | None = None  # a collection's count, page, per_page, total_count


def _tls() -> ssl.SSLContext:
    """httpx's verifying context for the CA bundle the environment names (SSL_CERT_FILE, SSL_CERT_DIR, else
    certifi's), loaded once per process: loading a bundle costs ~20 ms, paid once rather than per server."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context(trust_env=True)  # reads the same two variables, which match the key


class CloudflareClient:
    """One per process: an `httpx.AsyncClient` with connection reuse, plus the retry and envelope rules."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | Callable[[], httpx.AsyncBaseTransport] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = anyio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._transport = transport  # a transport, or a factory called when the first request is made
        self._sleep = sleep
        self._jitter = jitter
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            transport = self._transport() if callable(self._transport) else self._transport
            self._client = httpx.AsyncClient(
                base_url=self.settings.base_url,
                transport=transport,
                timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
                follow_redirects=False,
                limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
                verify=_tls(),
                trust_env=True,
                cookies=_no_cookies(),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def get_oauth_client(self, account_id: str, client_id: str) -> APIResult:
        return await self.request("GET", f"/accounts/{account_id}/oauth_clients/{client_id}")

    async def update_oauth_client(
        self, account_id: str, client_id: str, body: dict[str, Any], *, retry: bool = True
    ) -> APIResult:
        return await self.request("PATCH", f"/accounts/{account_id}/oauth_clients/{client_id}", json=body, retry=retry)

    async def list_oauth_clients(self, account_id: str) -> APIResult:
        # No query parameters: the published schema names none, and the SDK reads this as one page.
        return await self.request("GET", f"/accounts/{account_id}/oauth_clients")

    async def list_scopes(self) -> APIResult:
        # One attempt: a missing catalogue only means Cloudflare checks the scopes itself.
        return await self.request("GET", "/oauth/scopes", retry=False)

    async def request(self, method: str, path: str, *, json: Any = None, retry: bool = True) -> APIResult:
        """Send one API call with retries; return the envelope's result or raise the call's one `ToolFailure`."""
        import httpx

        credentials = self.settings.credentials
        if not credentials.configured and not self.settings.sandbox:
            raise NotConfigured(
                "No Cloudflare credentials: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_KEY with CLOUDFLARE_EMAIL) "
                "in the server's environment or its .env file. Nothing was sent.",
                next_step="a person must add the token to the MCP client's configuration for this server and "
                "restart it; or start the server with --sandbox to try it without an account.",
            )
        write = method not in ("GET", "HEAD")
        attempts = self.settings.max_retries + 1 if retry else 1
        unsure: tuple[int, str] | None = None  # the first attempt that may have applied a write, and how it ended
        for attempt in range(1, attempts + 1):
            progress = _Progress()
            try:
                # httpx's timeout bounds each read, so an answer dripping one byte at a time never ends:
                # the whole answer of one attempt must arrive within the timeout.
                # anyio's own scope, not asyncio.timeout: httpcore's clean-up is shielded from anyio's cancellation
                # only. Used bare (fail_after wraps it in two generators, twice the cost): the scope is ours alone,
                # so it is cancelled by its deadline or not at all.
                with anyio.CancelScope(deadline=anyio.current_time() + self.settings.timeout) as deadline:
                    response = await self._receive(method, path, json, credentials.headers(), progress)
                if deadline.cancelled_caught:
                    raise TimeoutError
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                problem = _describe_transport(exc)  # no connection: this attempt cannot have reached Cloudflare
            except TimeoutError:
                # The whole-answer deadline can end an attempt still connecting (a loaded machine runs the
                # connect timeout late): then nothing was sent. Otherwise the request may have arrived.
                problem = "no complete answer within the timeout"
                if progress.connecting:
                    problem = "connection timed out"
                else:
                    unsure = unsure or _maybe(write, attempt, f"got no answer ({problem})")
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = _describe_transport(exc)  # the request may have reached Cloudflare
                unsure = unsure or _maybe(write, attempt, f"got no answer ({problem})")
            except httpx.HTTPError as exc:  # refused by httpx itself (e.g. an unsupported URL): nothing left
                problem = _describe_transport(exc)
                failure = TransportFailure(
                    f"The request to Cloudflare failed: {problem}.",
                    next_step="check CLOUDFLARE_BASE_URL and any proxy setting (HTTPS_PROXY), then try again.",
                    problem=problem,
                    attempts=attempt,
                )
                raise _settle(failure, unsure, attempt) from None
            else:
                answer = read(response, self.settings.secrets())
                logger.debug("Cloudflare answered HTTP %s (request id %s)", answer.status, answer.request_id)
                if answer.status >= 500:  # it arrived; a server error does not say whether it was applied
                    unsure = unsure or _maybe(
                        write, attempt, f"was answered with a server error (HTTP {answer.status})"
                    )
                wait = self._retry_wait(response, attempt)
                hinted = retry_after_seconds(response.headers) if wait is not None else None
                if hinted is not None and hinted > self.settings.max_retry_wait:
                    raise _settle(self._too_long(answer, hinted), unsure, attempt)
                if wait is None or attempt == attempts:
                    if answer.readable:
                        return self._result(answer, attempt)
                    raise _settle(_for_write(answer.failure(), write), unsure, attempt)
                logger.info("Cloudflare answered %s; retrying in %.2fs", answer.status, wait)
                await self._sleep(wait)
                continue
            if attempt < attempts:
                await self._sleep(self._backoff(attempt))
        # Only an attempt that got no answer falls through: an answer on the last attempt returns or raises.
        raise _settle(TransportFailure.unreachable(self.settings.base_url, attempts, problem), unsure, attempts)

    async def _receive(
        self, method: str, path: str, json: Any, headers: dict[str, str], progress: _Progress
    ) -> httpx.Response:
        """One answer, read whole but never beyond MAX_ANSWER_BYTES once decoded (a gzip bomb included).

        A longer body is cut there and read as any unreadable answer is: `UnreadableAnswer` for a read,
        an unknown outcome for a write. No Cloudflare answer of this API comes near the limit.
        """
        import httpx

        async with self._http.stream(
            method, path, json=json, headers=headers, extensions={"trace": progress}
        ) as streamed:
            # The common case, read at once without a copy: HTTP/1.1's reader stops at Content-Length (a test's or
            # the sandbox's transport, which need not, and every encoded answer take the bounded read).
            if streamed.extensions.get("http_version") == b"HTTP/1.1" and _announced_within_limit(streamed.headers):
                await streamed.aread()
                return streamed
            body, cut = await read_within_limit(streamed)  # decoded here, within the limit at every step
        # Raw bytes: a header may carry latin-1 that httpx would refuse to encode again as str.
        kept = [(k, v) for k, v in streamed.headers.raw if k.lower() not in (b"content-encoding", b"content-length")]
        answer = httpx.Response(streamed.status_code, headers=kept, content=body, request=streamed.request)
        if cut:  # even when its first 8 MiB read as an envelope, a longer answer is no answer
            answer.extensions[CUT] = True
        return answer

    def _backoff(self, attempt: int) -> float:
        """The wait after attempt number `attempt` (the first is 1) failed without a Retry-After."""
        delay = min(self.settings.retry_backoff * 2 ** (attempt - 1), 8.0)
        return delay * (1 - 0.25 * self._jitter())

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying this answer, or None when it is final."""
        should = response.headers.get("x-should-retry", "").lower()
        if should == "false":
            return None
        if should != "true" and response.status_code not in RETRY_STATUSES:
            return None
        hinted = retry_after_seconds(response.headers)
        if hinted is not None and hinted > 0:
            return hinted
        return self._backoff(attempt)

    def _too_long(self, answer: Answer, wait: float) -> RateLimited:
        retry_at = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
        error = answer.error()
        return RateLimited(
            answer.status, error.errors, retry_after=wait, retry_at=retry_at, request_id=answer.request_id
        )

    @staticmethod
    def _result(answer: Answer, attempts: int) -> APIResult:
        info = answer.payload.get("result_info")
        return APIResult(
            answer.payload["result"], answer.request_id, attempts, info if isinstance(info, dict) else None
        )


def _no_cookies() -> Any:
    """A cookie jar that keeps nothing: the API authenticates every request by its headers, and no state is
    carried from one answer to the next request (httpx would store every Set-Cookie, ~10 us a request).
    Made when the first request is, as httpx is imported then."""
    import http.cookiejar

    class NoCookies(http.cookiejar.CookieJar):
        def extract_cookies(self, response: Any, request: Any) -> None:
            return None

    return NoCookies()


def _announced_within_limit(headers: httpx.Headers) -> bool:
    """Whether the body, as sent and as read, is one uncompressed Content-Length within MAX_ANSWER_BYTES."""
    length = headers.get("content-length")
    return (
        length is not None
        and length.isascii()  # "²" is a digit to isdigit(), and int() refuses it
        and length.isdigit()
        and len(length) < 10
        and int(length) <= MAX_ANSWER_BYTES
        and headers.get("content-encoding", "identity").strip().lower() == "identity"
        and "transfer-encoding" not in headers
    )


def _maybe(write: bool, attempt: int, ended: str) -> tuple[int, str] | None:
    """An attempt that may have applied a write, and how it ended; None for a read, which applies nothing."""
    return (attempt, ended) if write else None


def _for_write(failure: ToolFailure, write: bool) -> ToolFailure:
    """A success answer to a write that cannot be read most likely means it was applied, but we cannot show it."""
    if write and isinstance(failure, UnreadableAnswer):
        return UnknownOutcome(cause=failure)
    return failure


def _settle(failure: ToolFailure, unsure: tuple[int, str] | None, attempt: int) -> ToolFailure:
    """The call's one failure: `failure` as it stands, unless an attempt may already have applied the write."""
    if unsure is None or isinstance(failure, UnknownOutcome):
        return failure
    first, ended = unsure
    if isinstance(failure, TransportFailure):  # no answer to show: say how the first and the last attempt ended
        last = "" if first == attempt else f"; attempt {attempt}, the last, got no answer ({failure.problem})"
        return UnknownOutcome(f"Attempt {first} {ended}{last}.")
    if first == attempt:  # the answer itself is why: it is shown in full
        return UnknownOutcome(cause=failure)
    return UnknownOutcome(f"Attempt {first} {ended}; attempt {attempt}, the last, was answered:", cause=failure)


class _Progress:
    """How far one attempt got, from httpcore's trace events: still opening its connection, or past that.

    Only a connection being opened proves nothing was sent; a transport that does not trace (a test's
    MockTransport, the emulator) is taken to have sent at once, which errs towards "maybe applied".
    """

    def __init__(self) -> None:
        self.connecting = False

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith((".connect_tcp.started", ".start_tls.started")):
            self.connecting = True
        elif event.endswith(".send_request_headers.started"):
            self.connecting = False


def _describe_transport(exc: httpx.HTTPError) -> str:
    import httpx

    kinds = {
        httpx.ConnectTimeout: "connection timed out",
        httpx.ConnectError: "connection failed",
        httpx.ReadTimeout: "no answer within the timeout",
        httpx.WriteTimeout: "sending timed out",
        httpx.PoolTimeout: "no free connection",
        httpx.RemoteProtocolError: "the connection closed mid-answer",
        httpx.ReadError: "the connection broke while reading",
        httpx.WriteError: "the connection broke while sending",
    }
    for kind, text in kinds.items():
        if isinstance(exc, kind):
            return text
    return type(exc).__name__
