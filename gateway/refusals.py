"""Refusals at SMTP time are evidence too: who tried to send what to whom, and what we answered.

But a client may be refused thousands of times a minute (one connection wrote 2,000 records in 6.5 s),
so each connection's first few refusals are archived one by one and the rest as one summary record when
the connection closes: how many, at which stage, with which replies, between when and when.
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


async def _append(store: Store, kind: RecordKind, payload: dict[str, Any]) -> None:
    """One record about no message in particular, in a transaction of its own."""
    changes = Changes()
    changes.append(Record(kind, None, payload))
    await store.commit(changes)


async def record_refusal(
    store: Store, *, stage: str, reply: str, peer: str, sender: str | None, address: str | None
) -> None:
    payload = {"stage": stage, "reply": reply, "peer": peer, "sender": sender, "address": address}
    await _append(store, RecordKind.REFUSAL, payload)


async def record_security_event(store: Store, payload: dict[str, Any]) -> None:
    await _append(store, RecordKind.SECURITY, payload)


async def record_sign_in(store: Store, payload: dict[str, Any]) -> None:
    await _append(store, RecordKind.SIGNED_IN, payload)


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

    async def refused(
        self, connection: int, *, stage: str, reply: str, peer: str, sender: str | None, address: str | None
    ) -> None:
        done = self._archived.get(connection, 0)
        if done < self.individually:
            self._archived[connection] = done + 1
            await record_refusal(
                self.store, stage=stage, reply=reply, peer=peer, sender=sender, address=address
            )
            return
        now = datetime.now(UTC)
        rest = self._unarchived.setdefault(connection, _Unarchived(peer, now, now))
        rest.last_at = now
        rest.replies[(stage, reply[:9])] += 1
        if sender and len(rest.senders) < 20:
            rest.senders.add(sender)

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
        task = asyncio.get_running_loop().create_task(_append(self.store, RecordKind.REFUSALS, payload))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def drain(self) -> None:
        """Wait for summaries still being written (the relay is stopping)."""
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
