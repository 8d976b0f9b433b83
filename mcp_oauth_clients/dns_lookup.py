"""Asking DNS for TXT records: which names may be asked, and who answers.

A name is asked only when it obeys DNS's own limits (`NAME_RULE`), so a stored client_uri whose host
is a sentence, or a 2,000-character chain of labels, never reaches any resolver; and at most
`MAX_NAMES` names are asked per check. Who answers is a `TXTResolver`: `SystemResolver` (the
system's resolver, or MCP_OAUTH_CLIENTS_DNS_SERVER) for a real account, `sandbox_zone.SandboxZone`
in the sandbox, which asks no one. The server's lifespan picks one; nothing here reads the emulator.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import anyio

from mcp_oauth_clients.untrusted import escape

if TYPE_CHECKING:  # only a type here: checks.py may import NAME_RULE, and config imports checks
    from mcp_oauth_clients.config import Settings

MAX_NAME_CHARS = 253
MAX_LABEL_CHARS = 63
NAME_RULE = (
    f"a DNS name has at most {MAX_NAME_CHARS} characters, each dot-separated label 1 to {MAX_LABEL_CHARS} "
    "letters, digits, hyphens or underscores"
)
# The host, then parent domains up to the registrable one: app.example.com needs 2, a.b.c.example.co.uk 4.
# A deeper host keeps its 3 nearest names and the registrable domain; the ones between are counted, not asked.
MAX_NAMES = 4
# A person waits on the answer: DNS gets at most this long, however long Cloudflare may take.
DNS_TIMEOUT = 5.0

_LABEL = re.compile(r"[a-z0-9_-]+")
Outcome = Literal["txt", "no_txt", "nxdomain", "failed"]


@dataclass(eq=False, repr=False)  # only __init__: nothing compares or prints one (see operations.Services)
class TXTAnswer:
    """What one name answered, whole (a DNS answer is at most 64 KiB); the check keeps a bounded part of it."""

    name: str
    outcome: Outcome
    records: list[list[str]] = field(default_factory=list)  # each record's strings, hidden characters escaped
    problem: str | None = None  # why the lookup failed (our text and dnspython's, with the name in it)


class TXTResolver(Protocol):
    """Whatever answers TXT questions for the check."""

    @property
    def label(self) -> str:
        """Who answered, as a check reports it: 'system', 'IP:PORT' or 'sandbox zone'."""
        ...

    @property
    def note(self) -> str | None:
        """A sentence for the check's answer about who answered, when that is not DNS itself."""
        ...

    async def txt(self, name: str) -> TXTAnswer: ...


def name_problem(host: str) -> str | None:
    """Why `host` may not be asked of DNS, in NAME_RULE's words; None when it may.

    Lengths are those of the name as sent (an internationalised label is counted in its xn-- form).
    """
    try:
        ipaddress.ip_address(host)
        return "it is an IP address, and Cloudflare verifies a DNS name, not an address"
    except ValueError:
        pass
    name = host.removesuffix(".")
    if len(name) > MAX_NAME_CHARS:
        return f"it is {len(name)} characters long; {NAME_RULE}"
    ascii_name = _ascii(name)
    if len(ascii_name) > MAX_NAME_CHARS:
        return f"it is {len(ascii_name)} characters long; {NAME_RULE}"
    longest = max(len(label) for label in ascii_name.split("."))
    if longest > MAX_LABEL_CHARS:
        return f"one label is {longest} characters long; {NAME_RULE}"
    if not all(_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        return f"it is not a DNS name; {NAME_RULE}"
    return None


def _ascii(name: str) -> str:
    """The name as DNS carries it: lowercase, a non-ASCII label in its xn-- (punycode) form."""
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in name.lower().split(".")
    )


@functools.cache
def _suffixes():  # type: ignore[no-untyped-def]  # publicsuffixlist ships no type hints
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list bundled with the package: nothing is downloaded


def names_to_check(host: str) -> tuple[list[str], int]:
    """(names to ask, how many parent names were left out): the host, then each parent domain down to the
    registrable one, at most MAX_NAMES of them. `host` must have passed `name_problem`."""
    name = _ascii(host.removesuffix("."))
    registrable = _suffixes().privatesuffix(name)
    labels = name.split(".")
    chain = [".".join(labels[i:]) for i in range(len(labels))]
    # Up to the registrable domain; a public suffix or a single label has none: only the host itself.
    chain = chain[: chain.index(registrable) + 1] if registrable in chain else chain[:1]
    if len(chain) <= MAX_NAMES:
        return chain, 0
    return chain[: MAX_NAMES - 1] + chain[-1:], len(chain) - MAX_NAMES


async def ask_all(resolver: TXTResolver, names: list[str]) -> list[TXTAnswer]:
    """Each name's answer, in the order given. All at once: a silent resolver costs one timeout, not one per name."""
    out: dict[int, TXTAnswer] = {}

    async def one(i: int, name: str) -> None:
        out[i] = await resolver.txt(name)

    async with anyio.create_task_group() as group:
        for i, name in enumerate(names):
            group.start_soon(one, i, name)
    return [out[i] for i in range(len(names))]


class SystemResolver:
    """The system's resolver, or the one MCP_OAUTH_CLIENTS_DNS_SERVER names: the real account's DNS."""

    def __init__(self, server: tuple[str, int] | None, timeout: float) -> None:
        self.server = server
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SystemResolver:
        return cls(settings.dns_server, min(settings.timeout, DNS_TIMEOUT))

    note: str | None = None  # its answers speak for themselves

    @property
    def label(self) -> str:
        if self.server is None:
            return "system"
        host, port = self.server
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def txt(self, name: str) -> TXTAnswer:
        import dns.asyncresolver
        import dns.exception
        import dns.resolver

        try:
            resolver = dns.asyncresolver.Resolver(configure=self.server is None)
        except dns.exception.DNSException as exc:
            return TXTAnswer(name, "failed", problem=f"no system resolver ({_said(exc)})")
        if self.server is not None:
            resolver.nameservers = [self.server[0]]
            resolver.port = self.server[1]
        resolver.lifetime = self.timeout
        try:
            answer = await resolver.resolve(name + ".", "TXT", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return TXTAnswer(name, "nxdomain")
        except dns.exception.DNSException as exc:
            return TXTAnswer(name, "failed", problem=_said(exc))
        # A TXT answer is whoever-runs-the-zone's text: escaped here, once, like a Cloudflare answer.
        records = [[escape(part.decode("utf-8", "replace")) for part in r.strings] for r in answer.rrset or []]
        return TXTAnswer(name, "txt" if records else "no_txt", records)


def _said(exc: Exception) -> str:
    return escape(str(exc)[:200]) or type(exc).__name__


class NoResolver:
    """The resolver of a server wired without one: it asks no one and says so (fail closed, never the system's)."""

    label = "none"
    note: str | None = None

    async def txt(self, name: str) -> TXTAnswer:
        return TXTAnswer(name, "failed", problem="this server was started without a resolver; nothing was asked")
