"""Who may send through the relay, and the exact answer everyone else gets."""

from __future__ import annotations

import aiosmtplib
import pytest

from adapters import smtp_replies as reply
from gateway.service import Relay
from tests.conftest import PASSWORD, Downstream
from tests.mail import archive_rows, compose, submit

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"


async def connect(relay: Relay) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port("submission"), start_tls=False, timeout=10)
    await client.connect()
    return client


async def test_ehlo_advertises_enhanced_status_codes_and_auth(relay: Relay) -> None:
    client = await connect(relay)
    await client.ehlo()
    assert client.supports_extension("enhancedstatuscodes")
    assert {"plain", "login"} <= set(client.server_auth_methods)
    client.close()


async def test_mail_without_auth_is_refused_530(relay: Relay) -> None:
    client = await connect(relay)
    await client.ehlo()
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail(REYES)
    assert refused.value.code == 530 and refused.value.message.startswith("5.7.0")
    client.close()


async def test_bad_credentials_are_refused_535(relay: Relay) -> None:
    client = await connect(relay)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await client.login(REYES, "wrong password")
    assert refused.value.code == 535 and refused.value.message.startswith("5.7.8")
    client.close()


async def test_unknown_user_gets_the_same_535(relay: Relay) -> None:
    client = await connect(relay)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await client.login("nobody@nusd.example.org", PASSWORD)
    assert refused.value.code == 535
    client.close()


async def test_personal_mail_from_is_refused_553(relay: Relay) -> None:
    client = await connect(relay)
    await client.login(REYES, PASSWORD)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail("dana.reyes.home@gmail.com")
    assert refused.value.code == 553 and "5.7.1" in refused.value.message
    assert "personal" in refused.value.message
    client.close()
    refusals = archive_rows(relay.settings.archive.url, "smtp.refusal")
    assert refusals[-1]["payload"]["address"] == "dana.reyes.home@gmail.com"


async def test_from_header_of_someone_else_is_refused_553(relay: Relay, downstream: Downstream) -> None:
    forged = compose("dana.reyes.home@gmail.com", [PATEL])
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await submit(relay.port("submission"), REYES, [PATEL], forged)
    assert refused.value.code == 553 and refused.value.message.startswith("5.7.1")
    assert downstream.received == []


async def test_unrostered_recipient_is_refused_550_at_rcpt(relay: Relay) -> None:
    client = await connect(relay)
    await client.login(REYES, PASSWORD)
    await client.mail(REYES)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt("sampatel2010@gmail.com")
    assert refused.value.code == 550 and refused.value.message.startswith("5.1.1")
    assert "roster" in refused.value.message
    client.close()


async def test_too_many_recipients_452(relay: Relay) -> None:
    client = await connect(relay)
    await client.login(REYES, PASSWORD)
    await client.mail(REYES)
    students = ["spatel@students.nusd.example.org", "mito@students.nusd.example.org"]
    limit = relay.settings.smtp.max_recipients
    everyone = (students * limit)[: limit + 1]
    for address in everyone[:limit]:
        await client.rcpt(address)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt(everyone[limit])
    assert refused.value.code == 452 and refused.value.message.startswith("4.5.3")
    client.close()


async def test_declared_size_over_limit_552(relay: Relay) -> None:
    client = await connect(relay)
    await client.login(REYES, PASSWORD)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail(REYES, options=[f"SIZE={relay.settings.smtp.max_message_size + 1}"])
    assert refused.value.code == 552 and refused.value.message.startswith("5.3.4")
    client.close()


async def test_internal_failure_is_451_without_details(relay: Relay) -> None:
    await relay.store.close()  # the archive is gone: nothing can be committed
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await submit(relay.port("submission"), REYES, [PATEL])
    assert refused.value.code == 451 and refused.value.message == reply.INTERNAL_ERROR[4:]
    await relay.store.start()


async def test_accepted_reply_names_the_message_id(relay: Relay) -> None:
    response = await submit(relay.port("submission"), REYES, [PATEL])
    assert response.startswith("2.0.0 Accepted as m-")
