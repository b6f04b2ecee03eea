"""A guardian's text that the carrier could not deliver (a status callback: undelivered or failed, e.g.
30003 unreachable, 30006 a landline, 30007 filtered) comes to them by e-mail instead, if the roster has
an address: the family's copy is a transparency duty, not a courtesy."""

from __future__ import annotations

import time

from archive.changes import Changes
from archive.models import QueuedDelivery
from archive.records import Record, RecordKind
from archive.store import Store
from gateway import queue
from gateway.channels.sms import TextCopy
from gateway.config import Settings
from gateway.directory import Directory
from gateway.models import Channel, Purpose
from gateway.notices import compose
from policies.parties import Role


class EmailFallback:
    def __init__(self, settings: Settings, directory: Directory, store: Store) -> None:
        self.settings = settings
        self.directory = directory
        self.store = store

    async def add(self, changes: Changes, copy: QueuedDelivery) -> None:
        """Into ``changes`` (the unit settling ``copy`` as failed): the e-mail copy, if one is due."""
        if copy.channel != Channel.SMS or copy.purpose != Purpose.FAMILY:
            return
        planned = await self.store.records(
            message_ids=[copy.message_id], kinds=[str(RecordKind.DELIVERY_PLANNED)]
        )
        phones: list[str] = next(
            (r.payload["recipients"] for r in planned if r.payload["delivery_id"] == copy.delivery_id), []
        )
        guardians = [p for phone in phones for p in self.directory.by_phone(phone) if p.role is Role.GUARDIAN]
        addresses = tuple(dict.fromkeys(g.email for g in guardians if g.email))
        words = await self.store.body(copy.body_digest)
        if not addresses or words is None:
            return
        prefix = TextCopy.of(copy.headers).prefix
        raw = compose(
            sender=self.settings.delivery.bounce_from,
            to=addresses,
            subject=f"Text message: {prefix.rstrip(': ') or 'from school'}",
            text=f"{prefix}{words.decode(errors='replace')}\n\n"
            "(Sent to you by e-mail because the text to your phone could not be delivered.)\n",
            about=copy.message_id,
            domain=self.settings.district.relay_domain,
        )
        queue.enqueue_generated(
            changes, message_id=copy.message_id, recipients=addresses, raw=raw, purpose=str(Purpose.FAMILY),
            now=time.time(), lifetime_seconds=self.settings.delivery.lifetime_hours * 3600,
        )  # fmt: skip
        changes.append(
            Record(
                RecordKind.NOTICE,
                copy.message_id,
                {
                    "to": list(addresses),
                    "instead_of": copy.delivery_id,
                    "why": "text undelivered: sent by e-mail",
                },
            )
        )
