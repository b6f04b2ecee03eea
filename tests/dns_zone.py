"""A small DNS zone served from memory on loopback UDP: no DNS reaches this machine, so this is the one
thing the sender-verification tests fake. The relay asks it through its real resolver code (dnspython),
named by ``[smtp] inbound_dns_resolver``; names in ``silent`` never get an answer (a resolver timing out).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import dkim
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class DnsZone(asyncio.DatagramProtocol):
    records: dict[tuple[str, str], list[str]]  # (name, type) → records as text, e.g. TXT "v=spf1 -all"
    silent: set[str] = field(default_factory=set)
    address: str = ""  # "127.0.0.1:PORT", once serving
    asked: list[tuple[str, str]] = field(default_factory=list)
    transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.asked.append((name, rdtype))
        if name in self.silent:
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        values = self.records.get((name, rdtype))
        if values:
            texts = [_zone_text(rdtype, value) for value in values]
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, texts))
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


def _zone_text(rdtype: str, value: str) -> str:
    if rdtype != "TXT":
        return value
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)]  # a TXT string holds 255 octets
    return " ".join(f'"{chunk}"' for chunk in chunks)


@contextlib.asynccontextmanager
async def serving(zone: DnsZone) -> AsyncIterator[DnsZone]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: zone, local_addr=("127.0.0.1", 0))
    zone.address = f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    try:
        yield zone
    finally:
        transport.close()


@dataclass(frozen=True)
class SigningKey:
    """A domain's DKIM key: the private half signs test messages, the public half goes in the zone."""

    selector: str
    domain: str
    private_pem: bytes
    public_record: str

    @classmethod
    def new(cls, selector: str, domain: str) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # dkimpy's minimum
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(selector, domain, private, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode())

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, message: bytes) -> bytes:
        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_pem,
            include_headers=[b"from", b"to", b"subject", b"message-id"],
        )
        return bytes(signature) + message
