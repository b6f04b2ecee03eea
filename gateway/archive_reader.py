"""Searching and reading the archive, for every edge alike: each search, thread view and refusal is itself
archived (who, when, which query, which messages), within the searcher's window (gateway.archive_access).

A thread is every message of one conversation in order, each with its decision and every copy and its
delivery status. A guardian sees only their own family's copies, and no policy findings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from archive.changes import Changes
from archive.models import QueuedDelivery, ReviewEntry, SearchHit, SearchQuery
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.archive_access import Viewer, Window
from gateway.reading import archived_text
from gateway.review import PENDING

AUDIT_KINDS = (str(RecordKind.SEARCHED), str(RecordKind.VIEWED), str(RecordKind.REFUSED_VIEW))


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    hit: SearchHit
    sender: dict[str, Any]
    recipients: list[dict[str, Any]]
    subject: str
    text: str  # the words, as a reader shows them ("" once its body was disposed of)
    decision: dict[str, Any]
    copies: list[QueuedDelivery]  # each with its delivery state and attempts
    review: ReviewEntry | None  # its place in the review queue, if it was held or flagged


@dataclass(frozen=True, slots=True)
class Waiting:
    """A held or flagged message in a supervisor's review queue."""

    hit: SearchHit
    entry: ReviewEntry
    severity: int  # its most severe finding: 3 high, 2 medium, 1 low
    alerted: bool  # supervisors and the compliance contact were alerted at once (threat, sexual, secrecy)


class ArchiveReader:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def search(self, viewer: Viewer, query: SearchQuery, *, via: str) -> list[SearchHit]:
        hits = await self.store.search(replace(query, scope=viewer.scope, limit=min(query.limit, 500)))
        await self._audit(RecordKind.SEARCHED, viewer, via, None, query=asked(query), found=hits)
        return hits

    async def thread(self, viewer: Viewer, thread: str, *, via: str) -> list[ThreadMessage] | None:
        """The thread as this viewer may see it; None (the attempt archived) if none of it is theirs."""
        hits = await self.store.search(SearchQuery(thread=thread, scope=viewer.scope, limit=500))
        if not hits:
            await self._audit(RecordKind.REFUSED_VIEW, viewer, via, None, asked=thread)
            return None
        await self._audit(RecordKind.VIEWED, viewer, via, hits[0].message_id, asked=thread, found=hits)
        return [await self._message(viewer, hit) for hit in hits]

    async def review_queue(self, viewer: Viewer) -> list[Waiting]:
        """The pending reviews within the viewer's window: held before flagged (nothing was sent yet),
        then those that raised an alert, then the most severe, then the longest waiting."""
        if not viewer.may_review:
            return []
        pending = {entry.message_id: entry for entry in await self.store.reviews([PENDING])}
        asked = SearchQuery(message_ids=tuple(pending), scope=viewer.scope, limit=max(1, len(pending)))
        hits = await self.store.search(asked) if pending else []
        kinds = [str(RecordKind.DECISION), str(RecordKind.ALERT)]
        found = (
            await self.store.records(message_ids=[h.message_id for h in hits], kinds=kinds) if hits else []
        )
        severity = {str(r.message_id): _severity(r.payload) for r in found if r.kind == kinds[0]}
        alerted = {r.message_id for r in found if r.kind == kinds[1]}
        waiting = [
            Waiting(h, pending[h.message_id], severity.get(h.message_id, 0), h.message_id in alerted)
            for h in hits
        ]
        waiting.sort(key=lambda w: (w.entry.action != "hold", not w.alerted, -w.severity, w.entry.opened_at))
        return waiting

    async def reviewable(self, viewer: Viewer, message_id: str) -> SearchHit | None:
        """The message, if it is in this viewer's window and they may review at all."""
        if not viewer.may_review:
            return None
        found = await self.store.search(SearchQuery(message_ids=(message_id,), scope=viewer.scope, limit=1))
        return found[0] if found else None

    async def _message(self, viewer: Viewer, hit: SearchHit) -> ThreadMessage:
        records = await self.store.records(message_ids=[hit.message_id])
        payloads = {r.kind: r.payload for r in records}
        message = payloads.get(str(RecordKind.MESSAGE), {})
        body = await self.store.body(str(message.get("body_digest")))
        copies = await self.store.copies(hit.message_id)
        recipients = list(message.get("recipients") or [])
        decision = payloads.get(str(RecordKind.DECISION), {})
        if viewer.window is Window.GUARDIAN:
            # Their own family's part only: the other families' addresses and copies are not theirs.
            family = {key.removeprefix("person:") for key in viewer.scope or ()} | {viewer.person.person_id}
            recipients = [r for r in recipients if r.get("person_id") in family]
            planned = [r.payload for r in records if r.kind == str(RecordKind.DELIVERY_PLANNED)]
            mine = {p["delivery_id"] for p in planned if _to_family(p.get("recipients") or [], viewer)}
            copies = [c for c in copies if c.delivery_id in mine]
            decision = {"action": decision.get("action")}
        return ThreadMessage(
            hit=hit,
            sender=message.get("sender") or {},
            recipients=recipients,
            subject=message.get("subject") or "",
            text="" if body is None else archived_text(body, hit.channel),
            decision=decision,
            copies=copies,
            review=await self.store.review(hit.message_id),
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


def search_query(asked: Mapping[str, str]) -> SearchQuery:
    """A search as a form or a command line asks it: q (words), staff, student, guardian (sourcedIds),
    school, channel, direction, action, category, since and until (YYYY-MM-DD, whole days, UTC), thread,
    before (the next page). Raises ValueError, naming the field, for what cannot be read."""
    asked = {name: _printable(value) for name, value in asked.items() if isinstance(value, str)}
    keys = [f"person:{asked[f]}" for f in ("staff", "student", "guardian") if asked.get(f)]
    keys += [f"school:{asked['school']}"] if asked.get("school") else []
    action = asked.get("action") or ""
    if action and action not in ACTIONS:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    before = asked.get("before") or ""
    if before and not before.isdigit():
        raise ValueError(f"before: {before!r} is not a page cursor")
    return SearchQuery(
        words=words(asked.get("q", "")[:500]),
        keys=tuple(keys),
        channel=asked.get("channel") or None,
        direction=asked.get("direction") or None,
        actions=(action,) if action else (),
        category=asked.get("category") or None,
        thread=asked.get("thread") or None,
        since=_day("since", asked.get("since")),
        until=_day("until", asked.get("until"), end=True),
        older_than=int(before) if before else None,
    )


ACTIONS = ("deliver", "defer", "flag", "hold", "block")
_SEVERITY = {"high": 3, "medium": 2, "low": 1}


def _severity(decision: dict[str, Any]) -> int:
    return max((_SEVERITY.get(f.get("severity"), 0) for f in decision.get("findings") or []), default=0)


def _day(field: str, text: str | None, *, end: bool = False) -> str | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a date (YYYY-MM-DD)") from None
    # Record times are UTC text; a whole day is meant, so "until" takes in the day it names.
    return f"{day.isoformat()}T23:59:59.999999+00:00" if end else f"{day.isoformat()}T00:00:00+00:00"


_WORDS = re.compile(r'"([^"]*)"|(\S+)')


def words(text: str) -> tuple[str, ...]:
    """A search box's words: each word, or each "quoted phrase", must be in a message for it to match.
    Control characters (a NUL ends an FTS5 string) are spaces."""
    text = _printable(text)
    found = (phrase or word for phrase, word in _WORDS.findall(text))
    return tuple(w.strip() for w in found if w.strip().strip('"'))[:20]


def _printable(text: str) -> str:
    """Control characters and lone surrogates as spaces: nothing a search box is given reaches a store as
    anything but words."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)


def _to_family(recipients: list[str], viewer: Viewer) -> bool:
    """Whether a copy went to this guardian (a family's copy goes to the student and guardians at once)."""
    person = viewer.person
    own = {a for a in (person.email, person.sms, person.phone) if a}
    return not own.isdisjoint(recipients)


def asked(query: SearchQuery) -> dict[str, Any]:
    """What a search asked, for its audit record: the words and filters, not the window (the viewer's)."""
    fields = {name: getattr(query, name) for name in SearchQuery.__dataclass_fields__ if name != "scope"}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items() if v}
