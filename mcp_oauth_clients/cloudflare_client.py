"""The Cloudflare API client: HTTP, the envelope, retries, and errors.

Retries follow the official SDK: 408, 409, 429, every 5xx and connection errors; 2 retries;
exponential backoff from 0.5 s up to 8 s less up to 25 % jitter; `Retry-After` (seconds or an
HTTP date) and `retry-after-ms` honoured; `x-should-retry` overrides. One difference, on purpose:
a wait longer than `max_retry_wait` is not slept through. Cloudflare's 429 can last five minutes,
and an assistant must not hang that long, so the call answers at once saying when to retry.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from mcp_oauth_clients import __version__
from mcp_oauth_clients.config import Settings
from mcp_oauth_clients.errors import (
    CloudflareAPIError,
    CloudflareMessage,
    NotConfigured,
    RateLimited,
    TransportFailure,
    UnknownOutcome,
)
from mcp_oauth_clients.untrusted import clean, quoted

if TYPE_CHECKING:  # httpx is imported on the first request: start-up and tools/list never need it
    import httpx

logger = logging.getLogger(__name__)

# The most of one answer we read (decoded). A page of clients is a few kilobytes; no answer needs more.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
USER_AGENT = f"mcp-oauth-clients/{__version__} (+https://github.com/mcp-oauth-clients/mcp-oauth-clients)"
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
PERMISSIONS_HINT = (
    'the API token needs the "OAuth Client Read" and "OAuth Client Write" permissions on this account '
    "(Cloudflare dashboard > My Profile > API Tokens). Check that account_id is the account the token belongs to."
)


@dataclass(frozen=True)
class APIResult:
    """A successful answer: the envelope's `result` and Cloudflare's request id (cf-ray), if any."""

    result: Any
    request_id: str | None
    attempts: int
    result_info: dict[str, Any] | None = None  # a collection's count, page, per_page, total_count


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
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,
                limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
                trust_env=True,
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
        """Send one API call with retries; return the envelope's result or raise a `ToolFailure`."""
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
        maybe_applied = False  # a write was sent and its answer lost
        last_problem = ""
        for attempt in range(attempts):
            final = attempt == attempts - 1
            try:
                # httpx's timeout bounds each read, so an answer dripping one byte at a time never ends:
                # the whole answer of one attempt must arrive within the timeout.
                with anyio.fail_after(self.settings.timeout):
                    response = await self._receive(method, path, json, credentials.headers())
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last_problem = _describe_transport(exc)
                if final:
                    break
                await self._sleep(self._backoff(attempt))
                continue
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, TimeoutError) as exc:
                # The request may have reached Cloudflare: a write's outcome is now unknown.
                maybe_applied = maybe_applied or write
                whole = isinstance(exc, TimeoutError)
                last_problem = "no complete answer within the timeout" if whole else _describe_transport(exc)
                if final:
                    break
                await self._sleep(self._backoff(attempt))
                continue
            except httpx.HTTPError as exc:
                raise TransportFailure(
                    f"The request to Cloudflare failed: {_describe_transport(exc)}. Nothing was written."
                ) from None

            wait = self._retry_wait(response, attempt)
            hinted = retry_after_seconds(response.headers) if wait is not None else None
            if hinted is not None and hinted > self.settings.max_retry_wait:
                too_long = self._too_long(response, hinted)
                if maybe_applied:
                    raise UnknownOutcome(f"An earlier attempt got no answer, then: {too_long}")
                raise too_long
            if wait is None or final or not retry:
                return self._finish(response, write=write, maybe_applied=maybe_applied, attempts=attempt + 1)
            logger.info("Cloudflare answered %s; retrying in %.2fs", response.status_code, wait)
            await self._sleep(wait)

        if maybe_applied:
            raise UnknownOutcome(f"It was sent, but no answer came back ({last_problem}).")
        raise TransportFailure(
            f"Could not reach Cloudflare at {self.settings.base_url} after {attempts} "
            f"attempt{'' if attempts == 1 else 's'} ({last_problem}). "
            "Nothing was written.",
            next_step="check the network, a proxy (HTTPS_PROXY) or CLOUDFLARE_BASE_URL, then try again.",
        )

    async def _receive(self, method: str, path: str, json: Any, headers: dict[str, str]) -> httpx.Response:
        """One answer, read whole but never beyond MAX_ANSWER_BYTES once decoded (a gzip bomb included).

        A longer body is cut there and read as any unreadable answer is: an error for a read, an unknown
        outcome for a write. No Cloudflare answer of this API comes near the limit.
        """
        import httpx

        async with self._http.stream(method, path, json=json, headers=headers) as streamed:
            body = bytearray()
            async for chunk in streamed.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    del body[MAX_ANSWER_BYTES:]
                    break
        # Raw bytes: a header may carry latin-1 that httpx would refuse to encode again as str.
        kept = [(k, v) for k, v in streamed.headers.raw if k.lower() not in (b"content-encoding", b"content-length")]
        return httpx.Response(streamed.status_code, headers=kept, content=bytes(body), request=streamed.request)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.retry_backoff * 2**attempt, 8.0)
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

    def _too_long(self, response: httpx.Response, wait: float) -> RateLimited:
        retry_at = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
        error = _error_from(response)
        return RateLimited(
            response.status_code,
            error.errors,
            summary=f"Cloudflare asks to wait {wait:.0f} s before the next call (until about {retry_at}); "
            "the server does not hold the conversation that long. Nothing was written.",
            hint=f"wait until {retry_at} before calling again. Cloudflare's rate limit is 1,200 requests per "
            "5 minutes per user; once exceeded, every call is refused for five minutes.",
            request_id=error.request_id,
            retry_after=wait,
        )

    def _finish(self, response: httpx.Response, *, write: bool, maybe_applied: bool, attempts: int) -> APIResult:
        """The answer's result, or the failure it stands for. Every string in it is cleaned here, once."""
        secrets = self.settings.secrets()
        request_id = _header(response, "cf-ray", secrets)
        logger.debug("Cloudflare answered HTTP %s (request id %s)", response.status_code, request_id)
        payload = _payload(response, secrets)
        ok = (
            response.is_success
            and isinstance(payload, dict)
            and payload.get("success") is True
            and isinstance(payload.get("result"), dict | list)
        )
        if ok:
            info = payload.get("result_info")
            return APIResult(payload["result"], request_id, attempts, info if isinstance(info, dict) else None)
        refused = isinstance(payload, dict) and payload.get("success") is False
        if response.is_success and write and not refused:
            # A 2xx we cannot read: Cloudflare most likely applied the write, but we cannot show it.
            raise UnknownOutcome(
                f"Cloudflare answered HTTP {response.status_code} but the answer could not be read "
                f"({_shape_problem(payload, response, secrets)})."
            )
        error = _error_from(response, payload, secrets=secrets)
        if maybe_applied:
            raise UnknownOutcome(f"An earlier attempt got no answer, and the retry ended with: {error}")
        if write and response.status_code >= 500:
            # A server or gateway error after the request arrived says nothing about whether it was applied.
            raise UnknownOutcome(f"Cloudflare answered with a server error: {error}")
        raise error


# The longest wait a Retry-After may ask for, as we read it: any larger value (a huge number, inf, nan,
# a date in year 9999) is read as this, so "wait until" is always a time we can compute and print.
MAX_RETRY_AFTER = 86400.0


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """`retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None when absent or unreadable.

    The result is between 0 and MAX_RETRY_AFTER whatever the header says.
    """
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return _bounded_wait(float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return _bounded_wait(float(raw))
    except ValueError:
        pass
    import email.utils  # only a Retry-After given as a date needs it; kept off the start-up path

    try:
        when = email.utils.parsedate_to_datetime(raw)
        return _bounded_wait(when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _bounded_wait(seconds: float) -> float:
    if math.isnan(seconds) or seconds > MAX_RETRY_AFTER:  # nan too: a wait we cannot read is a long one
        return MAX_RETRY_AFTER
    return max(seconds, 0.0)


def _error_from(
    response: httpx.Response, payload: Any = ..., *, secrets: list[str] | None = None
) -> CloudflareAPIError:
    """Build the error for a non-success answer from the envelope, or from the raw body when it has none.

    A `payload` given is already cleaned; everything read here from the answer is cleaned with `secrets`.
    """
    secrets = secrets or []
    if payload is ...:
        payload = _payload(response, secrets)
    status = response.status_code
    request_id = _header(response, "cf-ray", secrets)
    messages = _messages(payload.get("errors")) if isinstance(payload, dict) else []
    if not isinstance(payload, dict) or "success" not in payload:
        summary = f"The answer was not a Cloudflare API envelope: {_shape_problem(payload, response, secrets)}."
    elif payload.get("success") is True and response.is_success:
        summary = "Cloudflare reported success but returned no client."
    else:
        summary = ""
    return CloudflareAPIError(status, messages, summary=summary, hint=_hint(status, messages), request_id=request_id)


def _messages(raw: Any) -> list[CloudflareMessage]:
    """The envelope's `errors` (already cleaned): readable entries only, each message clipped."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        code = item.get("code")
        source = item.get("source")
        pointer = source.get("pointer") if isinstance(source, dict) else None
        doc = item.get("documentation_url")
        out.append(
            CloudflareMessage(
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                message=_clip(clean(str(item.get("message", ""))), 300),
                pointer=pointer if isinstance(pointer, str) else None,
                documentation_url=doc if isinstance(doc, str) and doc else None,
            )
        )
    return out


def _hint(status: int, messages: list[CloudflareMessage]) -> str:
    codes = {m.code for m in messages}
    if status in (401, 403) or codes & {10000, 9106, 9109, 6003, 6102, 6103, 6111}:
        if 9109 in codes:
            return "the token is refused from this location (IP filter): " + PERMISSIONS_HINT
        return PERMISSIONS_HINT
    if status == 404 or codes & {7003, 7000}:
        return (
            "check account_id and oauth_client_id: no OAuth client by that id is visible in that account "
            "(list_oauth_clients shows its clients and their ids)."
        )
    if status == 429:
        return "wait a few minutes before calling again; Cloudflare refuses every call for five minutes past its limit."
    if status >= 500:
        return "Cloudflare had a problem; try again in a minute. If this was an update, read the client first."
    if any(m.field for m in messages):
        return (
            "correct the field(s) named above and call again, or ask the person first when the fix would change "
            "what they asked for."
        )
    return "read the messages above, correct the request and call again."


def _payload(response: httpx.Response, secrets: list[str]) -> Any:
    """The answer's JSON, cleaned; None when it is not JSON, is cut short, or is nested too deep to walk."""
    try:
        return clean(response.json(), secrets)
    except (ValueError, RecursionError):  # RecursionError: a body of a million '[' is not an answer
        return None


def _shape_problem(payload: Any, response: httpx.Response, secrets: list[str] | None = None) -> str:
    if payload is None:
        content_type = (_header(response, "content-type", secrets or []) or "unknown type").split(";")[0]
        return f"HTTP {response.status_code}, {content_type} body: {quoted(_excerpt(response, secrets=secrets))}"
    if not isinstance(payload, dict):
        return f"JSON {type(payload).__name__} instead of an object"
    if payload.get("success") is True:
        return "success without a result object"
    return "JSON object without the success/errors/result envelope"


_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)


def _excerpt(response: httpx.Response, limit: int = 160, *, secrets: list[str] | None = None) -> str:
    """The body's text without tags, cleaned and redacted before it is clipped (so no part of a secret survives)."""
    try:
        text = response.text[:8192]  # the tag pattern is costly on a long body; an excerpt needs the start only
    except Exception:  # noqa: BLE001 - an undecodable body still deserves an error, not a crash
        return "<unreadable body>"
    return _clip(clean(" ".join(_TAGS.sub(" ", text).split()), secrets or []), limit)


def _header(response: httpx.Response, name: str, secrets: list[str]) -> str | None:
    """A header value from the answer, cleaned like its body (a proxy may echo anything there)."""
    value = response.headers.get(name)
    return None if value is None else clean(value, secrets)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
