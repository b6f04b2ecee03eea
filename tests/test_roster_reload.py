"""A running relay follows the roster: a nightly `chaperone roster import` takes effect without a restart, an
unreadable snapshot leaves the roster in force, and a message whose people leave the roster between RCPT and
DATA is deferred (451), not lost and not sent with half a roster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from adapters import smtp_replies as reply
from gateway.directory import Directory
from gateway.roster_snapshot import roster_snapshot_path, save_directory
from gateway.service import Relay, running_relay
from tests.conftest import PASSWORD, Downstream, give_passwords, relay_settings
from tests.mail import compose, submit

REYES = "dreyes@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"


def without(directory: Directory, address: str) -> Directory:
    return Directory(
        [person for person in directory.people() if person.email != address],
        schools=directory.school_names(),
        classes=directory.class_titles(),
    )


@pytest.fixture
async def following(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[Relay]:
    settings = relay_settings(tmp_path, downstream.port, roster={"reload_seconds": 0.05})
    give_passwords(settings, REYES)
    save_directory(directory, roster_snapshot_path(settings))
    async with running_relay(settings) as relay:  # loads the snapshot, then follows it
        yield relay


async def rcpt_code(relay: Relay, address: str) -> int:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port("submission"), start_tls=False, timeout=10)
    await client.connect()
    try:
        await client.login(REYES, PASSWORD)
        await client.mail(REYES)
        response = await client.execute_command(f"RCPT TO:<{address}>".encode())
        return response.code
    finally:
        client.close()


async def until_refused(relay: Relay, address: str) -> None:
    async with asyncio.timeout(10):
        while await rcpt_code(relay, address) != 550:
            pass


async def test_a_new_import_takes_effect_without_a_restart(following: Relay, directory: Directory) -> None:
    assert await rcpt_code(following, PATEL) == 250
    save_directory(without(directory, PATEL), roster_snapshot_path(following.settings))
    await until_refused(following, PATEL)
    assert len(following.directory) == len(directory) - 1


async def test_an_unreadable_snapshot_leaves_the_roster_in_force(
    following: Relay, directory: Directory
) -> None:
    snapshot = roster_snapshot_path(following.settings)
    snapshot.write_text('{"format": "chaperone-roster", "version": 1, "people": [{"half": ', encoding="utf-8")
    await asyncio.sleep(0.3)  # six reload periods
    assert len(following.directory) == len(directory)
    assert (await submit(following.port("submission"), REYES, [PATEL])).startswith("2.0.0 Accepted")
    # ... and the relay still follows: the next good import takes effect.
    save_directory(without(directory, PATEL), snapshot)
    await until_refused(following, PATEL)


async def test_people_who_leave_between_rcpt_and_data_defer_the_message(
    following: Relay, directory: Directory, downstream: Downstream
) -> None:
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=following.port("submission"), start_tls=False, timeout=10
    )
    await client.connect()
    await client.login(REYES, PASSWORD)
    await client.mail(REYES)
    await client.rcpt(PATEL)
    following.directory.take_over(without(directory, PATEL))  # a re-import lands mid-transaction
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        await client.data(compose(REYES, [PATEL]))
    client.close()
    assert f"{deferred.value.code} {deferred.value.message}" == reply.ROSTER_CHANGED
    assert downstream.received == []
