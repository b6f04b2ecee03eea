"""Outcomes that arrive later: a provider that accepted a copy (an SMS provider) says minutes afterwards
whether it was delivered. Every edge that hears such a report (the Twilio status webhook) hands it here.

Providers repeat their callbacks and send them out of order ("sent" after "delivered"), so a report is
archived as it came, and only the first final one settles the copy; a report about a copy nobody here
accepted is refused, so a forged callback cannot invent one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from archive.changes import Changes, DeliveryUpdate
from archive.models import Conflict, DeliveryState, QueuedDelivery
from archive.records import Record, RecordKind
from archive.store import Store


class Settled(StrEnum):
    UNKNOWN = "unknown"  # no copy was accepted under this id
    NOTED = "noted"  # archived; the copy's state is unchanged (a report on the way, or a repeat)
    DELIVERED = "delivered"
    FAILED = "failed"


class Fallback(Protocol):
    async def add(self, changes: Changes, copy: QueuedDelivery) -> None:
        """What to do instead, in the same unit, for a copy that failed (gateway.text_fallback)."""
        ...


class DeliveryStatus:
    def __init__(self, store: Store, fallback: Fallback | None = None) -> None:
        self.store = store
        self.fallback = fallback

    async def report(
        self, provider_id: str, status: str, *, final: bool, delivered: bool, detail: str = ""
    ) -> Settled:
        copy = await self.store.copy_by_provider(provider_id)
        if copy is None:
            return Settled.UNKNOWN
        changes = Changes()
        changes.append(
            Record(
                RecordKind.DELIVERY_STATUS,
                copy.message_id,
                {
                    "delivery_id": copy.delivery_id,
                    "provider_id": provider_id,
                    "status": status,
                    "detail": detail,
                },
            )
        )
        settles = final and copy.state == DeliveryState.ACCEPTED
        if settles:
            state = DeliveryState.SENT if delivered else DeliveryState.FAILED
            changes.update_delivery(
                DeliveryUpdate(
                    copy.delivery_id, state, (), not_before=copy.not_before, attempts=copy.attempts,
                    expect_state=DeliveryState.ACCEPTED,
                )
            )  # fmt: skip
            kind = RecordKind.DELIVERY_DONE if delivered else RecordKind.DELIVERY_FAILED
            changes.append(Record(kind, copy.message_id, {"delivery_id": copy.delivery_id}))
            if not delivered and self.fallback is not None:
                await self.fallback.add(changes, copy)
        try:
            await self.store.commit(changes)
        except Conflict:  # another instance settled it meanwhile: archive the report alone
            return await self.report(provider_id, status, final=False, delivered=delivered, detail=detail)
        if not settles:
            return Settled.NOTED
        return Settled.DELIVERED if delivered else Settled.FAILED
