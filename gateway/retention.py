"""Retention and legal hold: the only way anything leaves the archive.

The relay never deletes. A district's retention schedule says how long messages are kept (``[archive]
retention_years``); ``purge`` then removes, for each message older than that which no legal hold covers,
its bodies and the sealed personal values of its records (``archive.sealing``), and appends an
``archive.disposed`` record naming what went. The leaves stay, so the tree, every checkpoint and every
proof still verify. A body shared with a message that is kept (an attachment sent to many) stays.

A legal hold covers a person (every message they sent or received) or one message, for a named case, until
it is released; placing and releasing are both recorded.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archive.changes import Changes
from archive.models import ArchivedRecord, Disposal, LegalHold
from archive.records import Record, RecordKind, recorded_at_text
from archive.store import Store
from gateway.search_index import concerned_people

_PAGE = 2000  # message records read at a time
_PER_UNIT = 200  # messages disposed of in one transaction


@dataclass
class Purge:
    """What a purge did (or, dry, would do)."""

    cutoff: str
    messages: list[str] = field(default_factory=list)  # whose bodies or sealed values went
    bodies: int = 0
    openings: int = 0
    held: int = 0  # old enough, kept for a legal hold
    shared: int = 0  # bodies kept because a kept message has them too


class Retention:
    def __init__(self, store: Store, retention_years: int) -> None:
        self.store = store
        self.years = retention_years

    async def place_hold(
        self, case_name: str, scope: str, subjects: Collection[str], placed_by: str
    ) -> list[LegalHold]:
        if scope not in ("person", "message"):
            raise ValueError(f"a legal hold covers a person or a message, not {scope!r}")
        now = recorded_at_text(datetime.now(UTC))
        holds = [
            LegalHold(f"hold-{secrets.token_hex(8)}", case_name, scope, subject, placed_by, now)
            for subject in subjects
        ]
        changes = Changes()
        for hold in holds:
            changes.place_hold(hold)
            changes.append(Record(RecordKind.HOLD_PLACED, _message(hold), _described(hold)))
        await self.store.commit(changes)
        return holds

    async def release(self, case_name: str, released_by: str) -> list[LegalHold]:
        """Release every hold of the case still in force; returns them."""
        now = recorded_at_text(datetime.now(UTC))
        held = [h for h in await self.store.legal_holds() if h.case_name == case_name]
        changes = Changes()
        for hold in held:
            changes.release_hold(hold.hold_id, released_by, now)
            changes.append(
                Record(
                    RecordKind.HOLD_RELEASED, _message(hold), _described(hold) | {"released_by": released_by}
                )
            )
        if held:
            await self.store.commit(changes)
        return held

    async def purge(self, operator: str, *, now: datetime | None = None, dry_run: bool = False) -> Purge:
        cutoff = recorded_at_text(_years_before(now or datetime.now(UTC), self.years))
        report = Purge(cutoff)
        holds = await self.store.legal_holds()
        held_people = {h.subject for h in holds if h.scope == "person"}
        held_messages = {h.subject for h in holds if h.scope == "message"}
        old: dict[str, list[str]] = {}  # message id -> its bodies' digests
        async for record in self._messages(before=cutoff):
            assert record.message_id is not None  # a message record names its message
            concerned = concerned_people(record.payload)
            if record.message_id in held_messages or held_people.intersection(concerned):
                report.held += 1
            else:
                old[record.message_id] = _digests(record.payload)
        shared = await self._kept_bodies(old)
        report.shared = len(shared)
        basis = {"basis": f"retention: {self.years} years", "before": cutoff, "operator": operator}
        ids = list(old)
        for start in range(0, len(ids), _PER_UNIT):
            changes = Changes()
            for message_id in ids[start : start + _PER_UNIT]:
                await self._dispose(changes, report, basis, message_id, set(old[message_id]) - shared)
            if changes.records and not dry_run:
                await self.store.commit(changes)
        changes = Changes()
        await self._dispose(changes, report, basis, None, set(), unlinked_before=cutoff)
        if changes.records and not dry_run:
            await self.store.commit(changes)
        return report

    async def _dispose(
        self,
        changes: Changes,
        report: Purge,
        basis: dict[str, Any],
        message_id: str | None,
        digests: set[str],
        unlinked_before: str | None = None,
    ) -> None:
        gone = await self.store.disposed([f"body:{d}" for d in digests])
        bodies = tuple(sorted(d for d in digests if f"body:{d}" not in gone))
        ids = [message_id] if message_id is not None else []
        openings = tuple(await self.store.sealed_leaves(ids, unlinked_before=unlinked_before))
        if not bodies and not openings:
            return  # disposed of by an earlier purge
        changes.dispose(Disposal(bodies, openings, tuple(ids), recorded_at_text(datetime.now(UTC))))
        payload = basis | {"bodies": list(bodies), "openings": [leaf.hex() for leaf in openings]}
        changes.append(Record(RecordKind.DISPOSED, message_id, payload))
        if message_id is not None:
            report.messages.append(message_id)
        report.bodies += len(bodies)
        report.openings += len(openings)

    async def _kept_bodies(self, disposable: dict[str, list[str]]) -> set[str]:
        """The digests of those messages' bodies that a message not among them has too."""
        wanted = {d for digests in disposable.values() for d in digests}
        kept: set[str] = set()
        async for record in self._messages():
            if record.message_id not in disposable:
                kept |= wanted.intersection(_digests(record.payload))
        return kept

    async def _messages(self, before: str | None = None) -> AsyncIterator[ArchivedRecord]:
        after = 0
        while page := await self.store.records(
            kinds=[str(RecordKind.MESSAGE)], after=after, before=before, limit=_PAGE
        ):
            for record in page:
                yield record
            after = page[-1].seq


def _digests(payload: dict[str, Any]) -> list[str]:
    media = [m["digest"] for m in payload.get("media") or [] if isinstance(m, dict) and "digest" in m]
    return [d for d in [payload.get("body_digest"), *media] if isinstance(d, str)]


def _message(hold: LegalHold) -> str | None:
    return hold.subject if hold.scope == "message" else None


def _described(hold: LegalHold) -> dict[str, Any]:
    return {"hold_id": hold.hold_id, "case": hold.case_name, "scope": hold.scope, "covers": hold.subject,
            "placed_by": hold.placed_by}  # fmt: skip


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February, in a year that has none
        return moment.replace(year=moment.year - years, day=28)
