"""Searching and reading the archive, for every edge alike: each search, thread view and refusal is itself
archived (who, when, which query, which messages), within the searcher's window (gateway.archive_access).

A thread is every message of one conversation in order, each with its decision and every copy and its
delivery status. A guardian sees only their own family's copies, and no policy findings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from archive.changes import Changes
from archive.models import QueuedDelivery, SearchHit, SearchQuery
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.archive_access import Viewer, Window
from gateway.reading import archived_text

AUDIT_KINDS = (str(RecordKind.SEARCHED), str(RecordKind.VIEWED), str(RecordKind.REFUSED_VIEW))


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    hit: SearchHit
    sender: dict[str, Any]
    recipients: list[dict[str, Any]]
    subject: str
    text: str  # the words, as a reader shows them (None when its body was disposed of: "")
    decision: dict[str, Any]
    copies: list[QueuedDelivery]
    statuses: list[dict[str, Any]]  # what providers and delivery said, in order


class ArchiveReader:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def search(self, viewer: Viewer, query: SearchQuery, *, via: str) -> list[SearchHit]:
        hits = await self.store.search(replace(query, scope=viewer.scope, limit=min(query.limit, 500)))
        await self._audit(RecordKind.SEARCHED, viewer, via, None, query=_described(query), found=hits)
        return hits

    async def thread(self, viewer: Viewer, thread: str, *, via: str) -> list[ThreadMessage] | None:
        """The thread as this viewer may see it; None (the attempt archived) if none of it is theirs."""
        hits = await self.store.search(SearchQuery(thread=thread, scope=viewer.scope, limit=500))
        if not hits:
            await self._audit(RecordKind.REFUSED_VIEW, viewer, via, None, asked=thread)
            return None
        await self._audit(RecordKind.VIEWED, viewer, via, hits[0].message_id, asked=thread, found=hits)
        return [await self._message(viewer, hit) for hit in hits]

    async def _message(self, viewer: Viewer, hit: SearchHit) -> ThreadMessage:
        records = await self.store.records(message_ids=[hit.message_id])
        payloads = {r.kind: r.payload for r in records}
        message = payloads.get(str(RecordKind.MESSAGE), {})
        body = await self.store.body(str(message.get("body_digest")))
        copies = await self.store.copies(hit.message_id)
        recipients = list(message.get("recipients") or [])
        decision = payloads.get(str(RecordKind.DECISION), {})
        statuses = [
            {"kind": r.kind, "at": r.recorded_at, **r.payload}
            for r in records
            if r.kind.startswith("delivery.") and r.kind != str(RecordKind.DELIVERY_PLANNED)
        ]
        if viewer.window is Window.GUARDIAN:
            # Their own family's part only: the other families' addresses and copies are not theirs.
            family = {key.removeprefix("person:") for key in viewer.scope or ()} | {viewer.person.person_id}
            recipients = [r for r in recipients if r.get("person_id") in family]
            planned = [r.payload for r in records if r.kind == str(RecordKind.DELIVERY_PLANNED)]
            mine = {p["delivery_id"] for p in planned if _to_family(p.get("recipients") or [], viewer)}
            copies = [c for c in copies if c.delivery_id in mine]
            statuses = [s for s in statuses if s.get("delivery_id") in mine]
            decision = {"action": decision.get("action")}
        return ThreadMessage(
            hit=hit,
            sender=message.get("sender") or {},
            recipients=recipients,
            subject=message.get("subject") or "",
            text="" if body is None else archived_text(body, hit.channel),
            decision=decision,
            copies=copies,
            statuses=statuses,
        )

    async def _audit(
        self, kind: RecordKind, viewer: Viewer, via: str, message_id: str | None, **what: Any
    ) -> None:
        found = what.pop("found", None)
        payload = {"viewer": viewer.person.person_id, "window": str(viewer.window), "via": via, **what}
        if found is not None:
            payload["messages"] = [hit.message_id for hit in found]
        changes = Changes()
        changes.append(Record(kind, message_id, payload))
        await self.store.commit(changes)


def _to_family(recipients: list[str], viewer: Viewer) -> bool:
    """Whether a copy went to this guardian (a family's copy goes to the student and guardians at once)."""
    person = viewer.person
    own = {a for a in (person.email, person.sms, person.phone) if a}
    return not own.isdisjoint(recipients)


def _described(query: SearchQuery) -> dict[str, Any]:
    described = {
        "words": list(query.words), "keys": list(query.keys), "channel": query.channel,
        "direction": query.direction, "actions": list(query.actions), "category": query.category,
        "since": query.since, "until": query.until,
    }  # fmt: skip
    return {"query": {k: v for k, v in described.items() if v}}
