"""The sandbox's own DNS zone: the check's three findings, offline, and nothing asked of any resolver.

`--sandbox` promises that nothing leaves the machine, and a model can set a demo client's client_uri to
any host, so the sandbox's DNS check never asks a resolver: this zone answers it. It holds TXT records
for the seeded demo clients' hosts, one per finding: the right value on the verified client's host, a
wrong one (the value without its prefix) on the public client's host, none on the pending demo client's
host (the name exists, with an unrelated SPF record). Every other name is "no such name". To try a
finding, point the demo client's client_uri at one of these hosts: the emulator then expects that host's
value, and the check finds it right, wrong or missing. This is the one module beside the server that
reads the emulator's seed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mcp_oauth_clients.dns_lookup import TXTAnswer
from mcp_oauth_clients.emulator import PUBLIC_CLIENT_ID, VERIFIED_CLIENT_ID, seeded_clients
from mcp_oauth_clients.untrusted import quoted
from mcp_oauth_clients.verification import TXT_PREFIX

UNRELATED = "v=spf1 -all"


def _seeded_hosts() -> dict[str, tuple[str, str]]:
    """client id -> (host, the verification value the emulator expects for that host)."""
    hosts = {}
    for client in seeded_clients():
        host = urlsplit(client["client_uri"]).hostname or ""
        hosts[client["client_id"]] = (host, client["client_uri_verification"]["text"])
    return hosts


class SandboxZone:
    """A `dns_lookup.TXTResolver` that answers from memory; `zone` maps each name to its TXT records."""

    label = "sandbox zone"

    def __init__(self) -> None:
        self.zone: dict[str, list[list[str]]] = {}
        for client_id, (host, value) in _seeded_hosts().items():
            if client_id == VERIFIED_CLIENT_ID:
                self.right = host
                self.zone[host] = [[UNRELATED], [value]]
            elif client_id == PUBLIC_CLIENT_ID:
                self.wrong = host
                self.zone[host] = [[value.removeprefix(TXT_PREFIX)]]
            else:
                self.missing = host
                self.zone[host] = [[UNRELATED]]

    @property
    def note(self) -> str:
        return (
            f"DNS here is the sandbox's own zone; no resolver was asked. It holds the right record on "
            f"{quoted(self.right)}, a wrong one on {quoted(self.wrong)} and none on {quoted(self.missing)}: point "
            "the demo client's client_uri at one of them to see each finding."
        )

    async def txt(self, name: str) -> TXTAnswer:
        records = self.zone.get(name)
        if records is None:
            return TXTAnswer(name, "nxdomain")
        return TXTAnswer(name, "txt" if records else "no_txt", [list(r) for r in records])
