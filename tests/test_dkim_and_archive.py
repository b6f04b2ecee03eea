"""Outbound copies carry the district's DKIM signature (that the archive refuses rewriting: the store
contract tests)."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import Settings
from gateway.directory import Directory
from gateway.service import running_relay
from tests.conftest import Downstream, give_passwords, relay_settings
from tests.mail import submit

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"


def district_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "dkim.pem"
    path.write_bytes(private)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def signing_relay_settings(tmp_path: Path, downstream: Downstream) -> tuple[Settings, bytes]:
    """A relay that DKIM-signs with a fresh district key, and the DNS record publishing that key."""
    key_file, dns_record = district_key(tmp_path)
    settings = relay_settings(
        tmp_path,
        downstream.port,
        dkim={"selector": "chaperone", "domain": "nusd.example.org", "key_file": key_file},
    )
    give_passwords(settings, REYES)
    return settings, dns_record


async def test_delivered_copies_verify_against_the_district_key(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings, dns_record = signing_relay_settings(tmp_path, downstream)
    async with running_relay(settings, directory) as relay:
        await submit(relay.port("submission"), REYES, [OKAFOR])
        received = await downstream.wait_for(1)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return dns_record if name == b"chaperone._domainkey.nusd.example.org." else b""

    assert received[0].content.startswith(b"DKIM-Signature:")
    assert dkim.verify(received[0].content, dnsfunc=dns)
    tampered = received[0].content.replace(b"Due Friday.", b"Due Monday.")
    assert not dkim.verify(tampered, dnsfunc=dns)
