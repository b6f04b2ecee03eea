"""Refusals are evidence too: who tried to send what to whom, why it was not taken, and what we answered.

One shape for every edge and stage (``RefusedAttempt``): an SMTP command refused in the session, a message the
policy blocks once read, a text from a stranger. Each is archived by ``refusal_record``, in the unit of
work of the edge that refused it.

But an SMTP client may be refused thousands of times a minute (one connection wrote 2,000 records in
6.5 s), so each connection's first few refusals are archived one by one and the rest as one summary record
when the connection closes: how many, at which stage, with which replies, between when and when.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archive.changes import Changes
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.models import Channel


@dataclass(frozen=True, slots=True)
class RefusedAttempt:
    """Something an edge did not take. ``stage`` is where: an SMTP command (MAIL, RCPT, DATA), ``policy``
    for a message refused once read, ``received`` for a text refused before it was read."""

    channel: Channel
    stage: str
    sender: str | None  # the address or number it came from, as given
    address: str | None  # the address or number refused, or written to
    reason: str | None = None  # in words a district can read
    reply: str | None = None  # what the sender was answered, in the edge's protocol
    peer: str | None = None  # the client's IP and port
    provider_id: str | None = None  # a text's id at the provider

    def payload(self) -> dict[str, Any]:
        return {
            "channel": str(self.channel),
            "stage": self.stage,
            "sender": self.sender,
            "address": self.address,
            "reason": self.reason,
            "reply": self.reply,
            "peer": self.peer,
            "provider_id": self.provider_id,
        }


def refusal_record(refused: RefusedAttempt, message_id: str | None = None) -> Record:
    """The archive's record of a refusal; ``message_id`` when a message was read before it was refused."""
    kind = RecordKind.SMS_REFUSAL if refused.channel is Channel.SMS else RecordKind.REFUSAL
    return Record(kind, message_id, refused.payload())


async def _append(store: Store, record: Record) -> None:
    """One record, in a transaction of its own."""
    changes = Changes()
    changes.append(record)
    await store.commit(changes)


async def record_security_event(store: Store, payload: dict[str, Any]) -> None:
    await _append(store, Record(RecordKind.SECURITY, None, payload))


async def record_sign_in(store: Store, payload: dict[str, Any]) -> None:
    await _append(store, Record(RecordKind.SIGNED_IN, None, payload))


@dataclass
class _Unarchived:
    """Refusals on one connection past the ones archived one by one."""

    peer: str
    first_at: datetime
    last_at: datetime
    replies: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage, reply code) -> count
    senders: set[str] = field(default_factory=set)


class RefusalArchive:
    """Archives each connection's first ``individually`` refusals in full, then counts the rest and
    archives them as one ``smtp.refusals`` summary when the connection closes (``closed``)."""

    def __init__(self, store: Store, *, individually: int) -> None:
        self.store = store
        self.individually = individually
        self._archived: dict[int, int] = {}  # connection -> refusals archived one by one
        self._unarchived: dict[int, _Unarchived] = {}
        self._flushing: set[asyncio.Task[object]] = set()

    async def refused(self, connection: int, refused: RefusedAttempt) -> None:
        done = self._archived.get(connection, 0)
        if done < self.individually:
            self._archived[connection] = done + 1
            await _append(self.store, refusal_record(refused))
            return
        now = datetime.now(UTC)
        rest = self._unarchived.setdefault(connection, _Unarchived(refused.peer or "", now, now))
        rest.last_at = now
        rest.replies[(refused.stage, (refused.reply or "")[:9])] += 1
        if refused.sender and len(rest.senders) < 20:
            rest.senders.add(refused.sender)

    def closed(self, connection: int) -> None:
        """The connection is gone: archive its summary, if it has one, without holding anyone up."""
        self._archived.pop(connection, None)
        rest = self._unarchived.pop(connection, None)
        if rest is None:
            return
        payload = {
            "peer": rest.peer,
            "count": sum(rest.replies.values()),
            "first_at": rest.first_at.isoformat(),
            "last_at": rest.last_at.isoformat(),
            "replies": [
                {"stage": stage, "reply": code, "count": count}
                for (stage, code), count in sorted(rest.replies.items())
            ],
            "senders": sorted(rest.senders),
        }
        summary = Record(RecordKind.REFUSALS, None, payload)
        task = asyncio.get_running_loop().create_task(_append(self.store, summary))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def drain(self) -> None:
        """Wait for summaries still being written (the relay is stopping)."""
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
