"""In production AUTH is offered only over TLS: STARTTLS on submission, or implicit TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiosmtplib
import pytest

from gateway.config import ConfigError
from gateway.directory import Directory
from gateway.service import running_relay
from tests.conftest import PASSWORD, Downstream, give_passwords, relay_settings
from tests.tls import self_signed

REYES = "dreyes@nusd.example.org"


def trusting_client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a throwaway certificate on loopback
    return context


async def test_auth_is_offered_only_after_starttls(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    cert, key = self_signed(tmp_path)
    settings = relay_settings(
        tmp_path,
        downstream.port,
        smtp={"require_tls": True, "tls_cert": cert, "tls_key": key, "submission_tls": "127.0.0.1:0"},
    )
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=relay.port("submission"),
            start_tls=False,
            tls_context=trusting_client_context(),
        )
        await client.connect()
        await client.ehlo()
        assert client.supports_extension("starttls")
        assert not client.supports_extension("auth")
        response = await client.execute_command(b"AUTH", b"PLAIN")
        assert response.code == 538
        await client.starttls()
        await client.ehlo()
        assert client.supports_extension("auth")
        await client.login(REYES, PASSWORD)
        client.close()

        implicit = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=relay.port("submission_tls"),
            use_tls=True,
            tls_context=trusting_client_context(),
        )
        await implicit.connect()
        await implicit.login(REYES, PASSWORD)
        implicit.close()


async def test_require_tls_without_a_certificate_is_a_config_error(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, smtp={"require_tls": True})
    with pytest.raises(ConfigError, match="require_tls"):
        async with running_relay(settings, directory):
            pass


def _ehlo_and_starttls(port: int) -> tuple[dict[str, str], tuple[int, bytes], dict[str, str]]:
    """With the stdlib's smtplib, which reads EHLO keyword lines strictly: the extensions it saw, the
    STARTTLS reply, and the extensions after TLS."""
    import smtplib

    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        before = dict(client.esmtp_features)
        reply = client.docmd("STARTTLS")
        client.sock = trusting_client_context().wrap_socket(client.sock, server_hostname="relay.test")
        client.file = None
        client.helo_resp = client.ehlo_resp = None
        client.esmtp_features = {}
        client.does_esmtp = False
        client.ehlo()
        return before, reply, dict(client.esmtp_features)


async def test_ehlo_keywords_carry_no_code_starttls_does_and_port_25_never_offers_auth(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    import asyncio

    cert, key = self_signed(tmp_path)
    settings = relay_settings(
        tmp_path, downstream.port, smtp={"require_tls": True, "tls_cert": cert, "tls_key": key}
    )
    async with running_relay(settings, directory) as relay:
        for listener in ("submission", "inbound"):
            before, reply, after = await asyncio.to_thread(_ehlo_and_starttls, relay.port(listener))
            # "250 2.0.0 HELP" made smtplib see an extension named "2"
            assert "2" not in before and "help" in before and "enhancedstatuscodes" in before
            assert reply[0] == 220 and reply[1].startswith(b"2.0.0")
            assert ("auth" in after) is (listener == "submission")
