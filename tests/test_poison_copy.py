"""Hardening: one copy that cannot be sent never stops or slows the others.

A copy whose header the DKIM signer cannot parse used to stay pending for ever, retried about 1,200 times a
second, first in line, so that a handful of them stopped all outbound mail. Such copies can no longer be
accepted (a header that is not RFC 5322 is refused at DATA), but a queue written by an earlier version,
or a signer that fails for another reason, must still end in a DSN and an alert, never in a spin.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from archive.changes import Changes
from gateway import queue
from gateway.directory import Directory
from gateway.models import Purpose, new_id
from gateway.service import running_relay
from tests.conftest import Downstream
from tests.mail import archive_rows, eventually, queued_copies, submit
from tests.test_dkim_and_archive import signing_relay_settings

REYES = "dreyes@nusd.example.org"
OKAFOR = "cokafor@nusd.example.org"
POISON_HEADER = (
    f"From: {REYES}\r\nTo: {OKAFOR}\r\nX Bad Header: y\r\nSubject: queued by an earlier version\r\n"
).encode()


def states(url: str) -> dict[str, tuple[str, int]]:
    return {copy.delivery_id: (copy.state, copy.attempts) for copy in queued_copies(url)}


async def test_a_copy_the_signer_cannot_read_fails_once_with_a_dsn_and_an_alert_and_others_flow(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    settings, _ = signing_relay_settings(tmp_path, downstream)
    async with running_relay(settings, directory) as relay:
        poisoned = []
        writes = Changes()
        for _ in range(5):  # five were enough to stop every other copy with two acceptance processes
            delivery = queue.QueuedDelivery(
                delivery_id=new_id("d-"),
                message_id=new_id("m-"),
                envelope_from=REYES,
                recipients=(OKAFOR,),
                headers=POISON_HEADER,
                body_digest=writes.put_body(POISON_HEADER + b"\r\nhello\r\n"),
                not_before=time.time() - 60,  # older than anything else: first in line
                expires_at=time.time() + 3600,
                attempts=0,
                purpose=str(Purpose.DIRECT),
            )
            queue.enqueue(writes, delivery)
            poisoned.append(delivery.delivery_id)
        await relay.store.commit(writes)
        assert relay.workers is not None
        relay.workers.wake()

        await submit(relay.port("submission"), REYES, [OKAFOR])
        received = await downstream.wait_for(6)  # the good copy and five DSNs, one each
        db = settings.archive.url
        await eventually(lambda: all(states(db)[d] == ("failed", 1) for d in poisoned))
        await asyncio.sleep(0.5)  # nothing may be retried meanwhile: the attempt counts stay at one
        assert all(states(db)[d] == ("failed", 1) for d in poisoned)

    dsns = [r for r in received if r.mail_from == "<>"]
    assert len(dsns) == 5 and all(r.rcpt_tos == [REYES] for r in dsns)
    assert b"5.3.0" in dsns[0].content
    assert any(r.rcpt_tos == [OKAFOR] and r.mail_from != "<>" for r in received)
    alerts = [a for a in archive_rows(db, "alert.raised") if a["payload"].get("delivery_id") in poisoned]
    assert len(alerts) == 5 and "could not build" in alerts[0]["payload"]["errors"][0]
