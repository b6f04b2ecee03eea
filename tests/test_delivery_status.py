"""Outcomes that arrive later (gateway.status), on both stores: a copy a provider accepted waits for its
status callback; the first final report settles it, repeats and reports on the way are only archived, and a
report about a copy nobody accepted changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from archive.changes import Changes
from archive.models import DeliveryState, QueuedDelivery
from archive.store import Store
from gateway.config import Delivery
from gateway.delivery import DeliveryWorkers
from gateway.outbound import RecipientOutcome
from gateway.status import DeliveryStatus, Settled


class ProviderLike:
    """A transport of the kind an SMS provider is: it takes each copy under an id of its own and says
    later what became of it (stands in for the Twilio adapter, which the SMS issue brings)."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        provider_id = f"SM{len(self.taken):032d}"
        self.taken.append(provider_id)
        return [RecipientOutcome(r, 250, "queued", provider_id=provider_id) for r in recipients]

    async def close(self) -> None:
        pass


async def accepted_copy(store: Store) -> tuple[str, str]:
    changes = Changes()
    digest = changes.put_body(b"Subject: practice\r\n\r\nPractice moved to 4pm")
    changes.enqueue(
        QueuedDelivery("d-1", "m-1", "", ("+12025550121",), b"Subject: practice\r\n", digest, time.time() - 1,
                       time.time() + 3600, 0, "direct")
    )  # fmt: skip
    await store.commit(changes)
    provider = ProviderLike()
    workers = DeliveryWorkers(store, provider, Delivery(), reporting_mta="relay.test", poll=0.05)
    running = asyncio.create_task(workers.run())
    try:
        async with asyncio.timeout(10):
            while not (await store.records(kinds=["delivery.accepted"])):  # noqa: ASYNC110 - in the store
                await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    return "d-1", provider.taken[0]


async def test_an_accepted_copy_waits_for_its_callback_and_the_first_final_one_settles_it(
    store: Store,
) -> None:
    delivery_id, provider_id = await accepted_copy(store)
    [copy] = await store.copies("m-1")
    assert (copy.state, copy.provider_id) == (DeliveryState.ACCEPTED, provider_id)
    assert await store.records(kinds=["delivery.done"]) == []

    status = DeliveryStatus(store)
    assert await status.report(provider_id, "sent", final=False, delivered=False) is Settled.NOTED
    assert await status.report(provider_id, "delivered", final=True, delivered=True) is Settled.DELIVERED
    assert (
        await status.report(provider_id, "delivered", final=True, delivered=True) is Settled.NOTED
    )  # a repeat
    assert await status.report(provider_id, "undelivered", final=True, delivered=False) is Settled.NOTED

    [copy] = await store.copies("m-1")
    assert copy.state == DeliveryState.SENT
    assert [r.payload["delivery_id"] for r in await store.records(kinds=["delivery.done"])] == [delivery_id]
    reports = [r.payload["status"] for r in await store.records(kinds=["delivery.status"])]
    assert reports == ["sent", "delivered", "delivered", "undelivered"]


async def test_a_failed_callback_fails_the_copy(store: Store) -> None:
    _, provider_id = await accepted_copy(store)
    assert (
        await DeliveryStatus(store).report(
            provider_id, "undelivered", final=True, delivered=False, detail="30003"
        )
        is Settled.FAILED
    )
    [copy] = await store.copies("m-1")
    assert copy.state == DeliveryState.FAILED
    assert len(await store.records(kinds=["delivery.failed"])) == 1


async def test_a_report_about_a_copy_nobody_accepted_changes_nothing(store: Store) -> None:
    before = await store.count_records()
    assert (
        await DeliveryStatus(store).report("SMforged", "delivered", final=True, delivered=True)
        is Settled.UNKNOWN
    )
    assert await store.count_records() == before
