"""A real DNS server on 127.0.0.1 (dnslib) serving a small test zone, for check_verification_record.

Names in `zone` answer with their TXT records (a name with an empty list exists without TXT); names
in `servfail` answer SERVFAIL; any other name answers NXDOMAIN. The resolver code under test is the
real one: only where it sends its queries differs (MCP_OAUTH_CLIENTS_DNS_SERVER).
"""

from __future__ import annotations

import threading

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class TestZone(BaseResolver):
    """What the server answers; a test changes it between calls."""

    def __init__(self) -> None:
        self.zone: dict[str, list[list[str]]] = {}
        self.servfail: set[str] = set()
        self.queries: list[str] = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append(name)
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
        elif name not in self.zone:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for strings in self.zone[name]:
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT([s.encode() for s in strings]), ttl=1))
        return reply


class LoopbackDNS:
    """`with LoopbackDNS() as dns:`; `dns.address` is IP:PORT for MCP_OAUTH_CLIENTS_DNS_SERVER."""

    def __init__(self) -> None:
        self.zone = TestZone()
        self.server = DNSServer(self.zone, address="127.0.0.1", port=0, logger=DNSLogger("-request,-reply,-truncated"))

    @property
    def address(self) -> str:
        host, port = self.server.server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> LoopbackDNS:
        # dnslib's own start_thread() polls for shutdown every 0.5 s, which every test using this server
        # paid at teardown; a short poll makes stopping immediate.
        udp = self.server.server
        self._thread = threading.Thread(target=udp.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.server.shutdown()
        self.server.server.server_close()
        self._thread.join()
