"""Hardening: limits that keep one client from costing everyone else.

Each test is a finding of the hardening review: before the fix, one unauthenticated connection wrote
2,000 refusal records in 6.5 s, wrong passwords cost an argon2 hash each without end, and parallel uploads
were held in memory without a bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from gateway.directory import Directory
from gateway.service import Relay, running_relay
from tests.conftest import PASSWORD, Downstream, give_passwords, relay_settings
from tests.mail import archive_rows, compose, submit

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"


@pytest.fixture
async def limited_relay(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[Relay]:
    settings = relay_settings(
        tmp_path,
        downstream.port,
        smtp={
            "max_bytes_in_flight": 300_000,
            "soft_error_limit": 100,  # these tests count errors, they do not wait on the tarpit
            "hard_error_limit": 100,
            "auth_failures_per_address": 3,
            "auth_failures_per_client": 6,
            "refusals_archived_per_connection": 3,
            "refusals_per_client_minute": 1000,
        },
    )
    give_passwords(settings, REYES)
    async with running_relay(settings, directory) as relay:
        yield relay


async def client(relay: Relay, listener: str = "submission") -> aiosmtplib.SMTP:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port(listener), timeout=10)
    await smtp.connect()
    return smtp


async def test_repeated_refusals_on_one_connection_are_archived_as_one_summary(limited_relay: Relay) -> None:
    smtp = await client(limited_relay, "inbound")
    await smtp.mail("someone@example.com")
    for number in range(50):
        code, _ = await smtp.execute_command(f"RCPT TO:<victim{number}@example.com>".encode())
        assert code == 550
    smtp.close()
    db = limited_relay.settings.archive.url
    await asyncio.sleep(0.3)  # the summary is written as the connection closes
    assert len(archive_rows(db, "smtp.refusal")) == 3
    summary = archive_rows(db, "smtp.refusals")
    assert len(summary) == 1 and summary[0]["payload"]["count"] == 47
    assert summary[0]["payload"]["replies"] == [{"stage": "RCPT", "reply": "550 5.7.1", "count": 47}]


async def test_a_connection_that_keeps_erring_is_closed_with_421(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, smtp={"soft_error_limit": 5, "hard_error_limit": 8})
    async with running_relay(settings, directory) as relay:
        smtp = await client(relay, "inbound")
        await smtp.mail("someone@example.com")
        codes = []
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            for number in range(20):
                code, _ = await smtp.execute_command(f"RCPT TO:<victim{number}@example.com>".encode())
                codes.append(code)
        assert codes[:7] == [550] * 7 and codes[7:] == [421]


async def test_a_client_refused_too_often_gets_421(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings = relay_settings(tmp_path, downstream.port, smtp={"refusals_per_client_minute": 10})
    async with running_relay(settings, directory) as relay:
        codes = []
        for _ in range(4):  # new connections do not start the count again: it is per client IP
            smtp = await client(relay, "inbound")
            await smtp.mail("someone@example.com")
            try:
                for number in range(4):
                    code, _ = await smtp.execute_command(f"RCPT TO:<v{number}@example.com>".encode())
                    codes.append(code)
            except aiosmtplib.SMTPServerDisconnected:
                pass
            smtp.close()
        assert codes[:9] == [550] * 9 and codes[9] == 421


async def test_failed_sign_ins_are_throttled_without_hashing_and_archived(limited_relay: Relay) -> None:
    codes = []
    for _ in range(5):
        smtp = await client(limited_relay)
        try:
            await smtp.auth_plain(REYES, "wrong password")
        except aiosmtplib.SMTPAuthenticationError as error:
            codes.append(error.code)
        smtp.close()
    assert codes == [535, 535, 535, 454, 454]
    smtp = await client(limited_relay)  # the right password waits too, until the window passes
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as throttled:
        await smtp.auth_plain(REYES, PASSWORD)
    assert throttled.value.code == 454 and "4.7.0" in throttled.value.message
    smtp.close()
    events = archive_rows(limited_relay.settings.archive.url, "security.event")
    assert [e["payload"]["by"] for e in events] == ["address"]
    assert events[0]["payload"]["address"] == REYES


async def test_guessing_from_one_client_across_addresses_is_throttled_by_ip(limited_relay: Relay) -> None:
    codes = []
    for number in range(8):
        smtp = await client(limited_relay)
        try:
            await smtp.auth_plain(f"guess{number}@nusd.example.org", "wrong")
        except aiosmtplib.SMTPAuthenticationError as error:
            codes.append(error.code)
        smtp.close()
    assert codes == [535] * 6 + [454] * 2
    events = archive_rows(limited_relay.settings.archive.url, "security.event")
    assert [e["payload"]["by"] for e in events] == ["client"]


async def test_uploads_over_the_bytes_in_flight_are_told_to_try_again_later(
    limited_relay: Relay, downstream: Downstream
) -> None:
    big = compose(REYES, [PATEL], body=("Lab notes, line of text.\n" * 8_000))  # about 200 KB each
    results = await asyncio.gather(
        *(submit(limited_relay.port("submission"), REYES, [PATEL], big) for _ in range(3)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, aiosmtplib.SMTPResponseException)]
    accepted = [r for r in results if isinstance(r, str)]
    assert accepted and refused
    assert all(r.code == 452 and r.message.startswith("4.3.1") for r in refused)
    # nothing is lost: once the others are done, the same message goes through
    assert (await submit(limited_relay.port("submission"), REYES, [PATEL], big)).startswith("2.0.0")
