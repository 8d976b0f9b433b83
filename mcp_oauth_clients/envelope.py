"""Reading one Cloudflare answer: its envelope, its request id, its Retry-After, and the failure it stands for.

Every string read here from an answer (body, headers) is cleaned of hidden characters and redacted of
the configured secrets once, as it comes in. What the answer means for a write (applied, refused, maybe
applied) is not decided here but in `cloudflare_client`, which knows what was sent and how often.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_oauth_clients.errors import CloudflareAPIError, CloudflareMessage, ToolFailure, UnreadableAnswer
from mcp_oauth_clients.untrusted import clean, quoted

if TYPE_CHECKING:
    import httpx

PERMISSIONS_HINT = (
    'the API token needs the "OAuth Client Read" and "OAuth Client Write" permissions on this account '
    "(Cloudflare dashboard > My Profile > API Tokens). Check that account_id is the account the token belongs to."
)
# The longest wait a Retry-After may ask for, as we read it: any larger value (a huge number, inf, nan,
# a date in year 9999) is read as this, so "wait until" is always a time we can compute and print.
MAX_RETRY_AFTER = 86400.0
# Cloudflare's answers are a few levels deep. Anything nested deeper than this is no answer of this API, and
# every stage after (clean()'s walk takes two frames a level) stays well within Python's recursion limit.
MAX_ANSWER_DEPTH = 320
# Set in a response's extensions by the client when its body was cut at the size limit.
CUT = "mcp_oauth_clients.cut"


# Never compared, hashed or printed (a repr would show `secrets`): eq and repr are not generated, since before
# Python 3.13 each generated method is compiled at import, which start-up pays for.
@dataclass(frozen=True, eq=False, repr=False)
class Answer:
    """One HTTP answer, read: the body's JSON cleaned (None when it is not JSON) and the request id (cf-ray)."""

    response: httpx.Response
    payload: Any
    request_id: str | None
    secrets: list[str]

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def readable(self) -> bool:
        """A 2xx success envelope holding a result object or list: the only answer a call returns."""
        payload = self.payload
        return (
            self.response.is_success
            and isinstance(payload, dict)
            and payload.get("success") is True
            and isinstance(payload.get("result"), dict | list)
        )

    def failure(self) -> ToolFailure:
        """The failure an answer that is not `readable` stands for, as Cloudflare gave it."""
        refused = isinstance(self.payload, dict) and self.payload.get("success") is False
        if self.response.is_success and not refused:
            return UnreadableAnswer.answered(self.status, shape_problem(self), self.request_id)
        return self.error()

    def error(self) -> CloudflareAPIError:
        """The answer as a Cloudflare error: its status, its envelope's errors, and the next step they call for."""
        payload = self.payload
        messages = _messages(payload.get("errors")) if isinstance(payload, dict) else []
        readable = isinstance(payload, dict) and "success" in payload
        summary = "" if readable else f"The answer could not be read ({shape_problem(self)})."
        return CloudflareAPIError(
            self.status,
            messages,
            summary=summary,
            next_step=_next_step(self.status, messages),
            request_id=self.request_id,
        )


def read(response: httpx.Response, secrets: list[str]) -> Answer:
    """The answer as data; every string in it is cleaned and redacted here, once.

    A client secret the answer issues (a create, a rotation) is a secret from this moment: it stays in its
    own field, for the tool to take to the person, and is redacted from the headers and every text made
    from the answer (its request id reaches logs, the audit and results).
    """
    payload = _payload(response, secrets)
    issued = _issued_secret(payload)
    if issued is not None:
        secrets = [*secrets, issued]
    return Answer(response, payload, _header(response, "cf-ray", secrets), secrets)


def _issued_secret(payload: Any) -> str | None:
    result = payload.get("result") if isinstance(payload, dict) else None
    secret = result.get("client_secret") if isinstance(result, dict) else None
    return secret if isinstance(secret, str) and secret else None


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


def shape_problem(answer: Answer) -> str:
    """Why the answer is not a readable envelope, in a few words."""
    payload = answer.payload
    if payload is None:
        content_type = (_header(answer.response, "content-type", answer.secrets) or "unknown type").split(";")[0]
        return f"{content_type} body: {quoted(_excerpt(answer.response, answer.secrets))}"
    if not isinstance(payload, dict):
        return f"JSON {type(payload).__name__} instead of an object"
    if payload.get("success") is True:
        return "success without a result object"
    return "JSON object without the success/errors/result envelope"


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
                message=_clip(str(item.get("message", "")), 300),
                pointer=pointer if isinstance(pointer, str) else None,
                documentation_url=doc if isinstance(doc, str) and doc else None,
            )
        )
    return out


def _next_step(status: int, messages: list[CloudflareMessage]) -> str:
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
        return "Cloudflare had a problem; try again in a minute."
    if any(m.field for m in messages):
        return (
            "correct the field(s) named above and call again, or ask the person first when the fix would change "
            "what they asked for."
        )
    return "read the messages above, correct the request and call again."


def _payload(response: httpx.Response, secrets: list[str]) -> Any:
    """The answer's JSON, cleaned; None when it is not JSON, was cut at the size limit (`CUT`), or is nested
    deeper than MAX_ANSWER_DEPTH (decided by that number, not by how much stack a walk happens to have left)."""
    if response.extensions.get(CUT):
        return None
    try:
        payload = response.json()
    except (ValueError, RecursionError):  # RecursionError: a body of a million '[' is not an answer
        return None
    # Every level opens with a bracket: a body with few of them needs no walk (a count at C speed).
    content = response.content
    if content.count(b"[") + content.count(b"{") > MAX_ANSWER_DEPTH and not _nested_within(payload, MAX_ANSWER_DEPTH):
        return None
    try:
        return clean(payload, secrets)
    except RecursionError:  # not expected within the limit: still an unreadable answer, never a crash
        return None


def _nested_within(value: Any, limit: int) -> bool:
    """Whether no list or object in `value` is more than `limit` levels deep (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            pending.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return True


_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)


def _excerpt(response: httpx.Response, secrets: list[str], limit: int = 160) -> str:
    """The body's text without tags, cleaned and redacted before it is clipped (so no part of a secret survives)."""
    try:
        text = response.text[:8192]  # the tag pattern is costly on a long body; an excerpt needs the start only
    except Exception:  # noqa: BLE001 - e.g. `charset=hex`, a codec but not text: httpx fails an assertion
        return "<unreadable body>"
    return _clip(clean(" ".join(_TAGS.sub(" ", text).split()), secrets), limit)


def _header(response: httpx.Response, name: str, secrets: list[str]) -> str | None:
    """A header value from the answer, cleaned like its body (a proxy may echo anything there)."""
    value = response.headers.get(name)
    return None if value is None else clean(value, secrets)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
