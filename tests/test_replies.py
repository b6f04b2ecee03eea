"""Replies come back through the relay: a student's reply is seen by the guardians and the supervisor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from gateway.directory import Directory
from gateway.service import Relay, running_relay
from tests.conftest import Downstream, give_passwords, relay_settings
from tests.dns_zone import DnsZone, serving
from tests.mail import archive_rows, conversation_address, parse, send_inbound

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"


@pytest.fixture
async def relay(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[Relay]:
    """The sample district's relay. Port 25 checks who a reply is from in DNS; in this zone the students'
    domain lets this machine send for it (as it would the district's own mail servers), so a student's
    reply passes SPF in alignment and goes out as before."""
    zone = DnsZone({("students.nusd.example.org", "TXT"): ["v=spf1 ip4:127.0.0.1 -all"]})
    async with serving(zone):
        settings = relay_settings(tmp_path, downstream.port, smtp={"inbound_dns_resolver": zone.address})
        give_passwords(settings, REYES)
        async with running_relay(settings, directory) as running:
            yield running


async def test_a_students_reply_reaches_the_teacher_guardians_and_principal(
    relay: Relay, downstream: Downstream
) -> None:
    address = await conversation_address(relay, downstream, REYES, PATEL)
    await send_inbound(relay, PATEL, address)
    received = await downstream.wait_for(1)
    assert set(received[0].rcpt_tos) == {
        REYES,
        "priya.patel@example.net",
        "raj.patel@example.com",
        "abrooks@nusd.example.org",
    }
    assert parse(received[0].content)["To"] == REYES
    replies = [r for r in archive_rows(relay.settings.archive.url, "message") if r["payload"]["conversation"]]
    assert replies and replies[0]["payload"]["sender"]["person_id"] == "s-patel"
    assert replies[0]["payload"]["sender_auth"]["aligned"] is True  # verified, not taken on its word


async def test_a_forged_token_is_refused_550(relay: Relay) -> None:
    forged = "c-" + "a" * 24 + "@relay.nusd.example.org"
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_inbound(relay, PATEL, forged)
    assert refused.value.recipients[0].code == 550
    assert refused.value.recipients[0].message.startswith("5.1.1")


async def test_port_25_is_not_an_open_relay(relay: Relay) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_inbound(relay, "spammer@example.net", "victim@example.com")
    assert refused.value.recipients[0].code == 550
    assert "relay access denied" in refused.value.recipients[0].message


async def test_a_stranger_cannot_reply_into_a_conversation(relay: Relay, downstream: Downstream) -> None:
    address = await conversation_address(relay, downstream, REYES, PATEL)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send_inbound(relay, "mito@students.nusd.example.org", address)
    assert refused.value.code == 550
    assert downstream.received == []
