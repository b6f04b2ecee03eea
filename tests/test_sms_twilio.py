"""Texts out through Twilio's API (a fake of our own on loopback), and what Twilio reports afterwards:
accepted copies wait for their status callback; errors map to retries or failures; an attempt whose answer
was lost is looked up before it is sent again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from archive.models import DeliveryState
from archive.records import RecordKind
from gateway.directory import Directory
from gateway.service import Relay
from tests.conftest import Downstream, archive_url
from tests.mail import archive_rows, eventually, queued_copies
from tests.sms import MAIN, PATEL, PATEL_MOM, REYES, post_webhook, sms_relay, sms_settings, text
from tests.twilio_fake import ACCOUNT, FakeTwilio, fake_twilio


@asynccontextmanager
async def relay_with_twilio(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> AsyncIterator[tuple[Relay, FakeTwilio]]:
    async with fake_twilio() as twilio:
        settings = sms_settings(
            tmp_path, downstream.port,
            sms={"provider": "twilio", "account_sid": ACCOUNT, "api_base_url": twilio.base_url,
                 "segments_per_second": 50},
        )  # fmt: skip
        async with sms_relay(settings, directory) as relay:
            yield relay, twilio


def copy_to(url: str, phone: str) -> str:
    """The state of the last copy planned for ``phone`` (a settled copy's row no longer names anyone)."""
    planned = [r["payload"] for r in archive_rows(url, RecordKind.DELIVERY_PLANNED)]
    last = next(p["delivery_id"] for p in reversed(planned) if p["recipients"] == [phone])
    return next(c.state for c in queued_copies(url) if c.delivery_id == last)


async def test_an_accepted_text_waits_for_its_status_callback(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    url = archive_url(tmp_path)
    async with relay_with_twilio(tmp_path, downstream, directory) as (relay, twilio):
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        await eventually(lambda: len(twilio.created) == 3)
        await eventually(lambda: copy_to(url, PATEL) == DeliveryState.ACCEPTED)
        to_student = next(m for m in twilio.created if m["to"] == PATEL)
        assert to_student["status_callback"] == "https://relay.nusd.example.org/twilio/status"
        callback = {"MessageSid": to_student["sid"], "MessageStatus": "sent", "AccountSid": ACCOUNT}
        assert (await post_webhook(relay, "/twilio/status", callback))[0] == 200
        assert copy_to(url, PATEL) == DeliveryState.ACCEPTED  # on the way, not final
        await post_webhook(relay, "/twilio/status", {**callback, "MessageStatus": "delivered"})
        await post_webhook(relay, "/twilio/status", {**callback, "MessageStatus": "delivered"})  # repeated
        assert copy_to(url, PATEL) == DeliveryState.SENT
        to_mother = next(m for m in twilio.created if m["to"] == PATEL_MOM)
        failed = {"MessageSid": to_mother["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003"}
        await post_webhook(relay, "/twilio/status", failed)
        assert copy_to(url, PATEL_MOM) == DeliveryState.FAILED
        # Her text could not be delivered: she gets it by e-mail (and Raj, who has no mobile, had his).
        mailed = await downstream.wait_for(2)
    to_mother = next(m for m in mailed if m.rcpt_tos == ["priya.patel@example.net"])
    assert b"Dana Reyes to Sam Patel: Bus leaves at 7" in to_mother.content.replace(b"=\r\n", b"")
    statuses = [r["payload"] for r in archive_rows(url, RecordKind.DELIVERY_STATUS)]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "delivered", "undelivered"]
    assert statuses[-1]["detail"] == "ErrorCode 30003"


async def test_twilio_errors_are_retried_or_final_as_twilio_means_them(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    url = archive_url(tmp_path)
    async with relay_with_twilio(tmp_path, downstream, directory) as (relay, twilio):
        # The first create is refused with 429 (retried), the next with 21610: that recipient said STOP.
        twilio.errors = [(429, 20429), (400, 21610)]
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        await eventually(lambda: len(twilio.requests) >= 4, within=15)
        await eventually(lambda: "pending" not in {c.state for c in queued_copies(url)}, within=15)
    attempts = [r["payload"]["outcomes"][0] for r in archive_rows(url, RecordKind.DELIVERY_ATTEMPT)]
    assert any(o["code"] == 450 for o in attempts)
    assert any(o["code"] == 550 and "21610" in o["text"] for o in attempts)
    assert len(archive_rows(url, RecordKind.DELIVERY_FAILED)) == 1


async def test_a_text_whose_answer_was_lost_is_not_sent_twice(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    url = archive_url(tmp_path)
    async with relay_with_twilio(tmp_path, downstream, directory) as (relay, twilio):
        twilio.accept_then_fail = 1  # Twilio keeps the first text but the relay hears a 500
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        await eventually(lambda: copy_to(url, PATEL) == DeliveryState.ACCEPTED, within=15)
        await eventually(lambda: copy_to(url, PATEL_MOM) == DeliveryState.ACCEPTED, within=15)
        await asyncio.sleep(0.3)
    bodies = [(m["to"], m["body"]) for m in twilio.created]
    assert len(bodies) == len(set(bodies)) == 3, bodies


async def test_texts_queued_when_twilio_was_unreachable_go_once_after_a_restart(
    tmp_path: Path, downstream: Downstream, directory: Directory
) -> None:
    url = archive_url(tmp_path)
    closed = sms_settings(
        tmp_path, downstream.port,
        sms={"provider": "twilio", "account_sid": ACCOUNT, "api_base_url": "http://127.0.0.1:9"},
    )  # fmt: skip
    async with sms_relay(closed, directory) as relay:
        await text(relay, REYES, MAIN, "@spatel Bus leaves at 7")
        await eventually(lambda: len(archive_rows(url, RecordKind.DELIVERY_ATTEMPT)) >= 3)
    assert archive_rows(url, RecordKind.DELIVERY_ACCEPTED) == []
    async with relay_with_twilio(tmp_path, downstream, directory) as (_, twilio):
        await eventually(lambda: len(archive_rows(url, RecordKind.DELIVERY_ACCEPTED)) == 3, within=15)
        await asyncio.sleep(0.5)
    assert sorted(m["to"] for m in twilio.created) == sorted([PATEL, PATEL_MOM, REYES])
