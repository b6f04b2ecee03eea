"""Reviewers' verdicts as labelled examples, in the corpus format (shared/corpus/README.md), so a district
can retrain the learned detector on its own decisions (README: "Learning from reviewers").

A rejected message is labelled with the content categories it was held or flagged for; an approved (or
seen) one is clean: the reviewer judged its findings false alarms. The text is read from the archived
body as the rules read it. The file holds students' messages: it stays inside the district.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from archive.models import ReviewEntry
from archive.records import RecordKind
from archive.store import Store
from gateway.reading import read_email
from policies.learned.training import CATEGORIES
from policies.message import Party

CONTENT = frozenset(CATEGORIES)  # what the learned detector is trained on
_DECIDED = ("approved", "seen", "rejected")


async def reviewed_examples(store: Store) -> list[dict[str, Any]]:
    examples = []
    decided = await store.reviews(_DECIDED)
    for entry in sorted(decided, key=lambda e: (e.decided_at or "", e.message_id)):
        example = await _example(store, entry)
        if example is not None:
            examples.append(example)
    return examples


async def _example(store: Store, entry: ReviewEntry) -> dict[str, Any] | None:
    kinds = (str(RecordKind.MESSAGE), str(RecordKind.DECISION))
    records = {r.kind: r.payload for r in await store.records(message_ids=[entry.message_id], kinds=kinds)}
    message, decision = records.get("message"), records.get("decision")
    if message is None or decision is None:
        return None
    body = await store.body(message["body_digest"])
    if body is None:  # disposed of: nothing to learn from
        return None
    message_id, verdict, reviewer, decided_at = (
        entry.message_id, entry.state, entry.decided_by, entry.decided_at,
    )  # fmt: skip
    sender = message["sender"]["address"]
    read = read_email(
        body,
        message_id=message_id,
        sender=Party(sender, None),
        recipients=(),
        received_at=datetime.fromisoformat(message["received_at"]).astimezone(UTC),
    )
    found = sorted({f["category"] for f in decision["findings"] if f["category"] in CONTENT})
    rejected = verdict == "rejected"
    return {
        "id": f"review-{message_id}",
        "channel": message.get("channel", "email"),
        "from": sender,
        "to": [r["address"] for r in message["recipients"]],
        "subject": read.subject,
        "body": "\n\n".join(part for part in (read.body, read.quoted) if part),
        "sent_at": message["received_at"],
        "expect": {"categories": found if rejected else [], "action": "hold" if rejected else "deliver"},
        "note": (
            f"Reviewed: {verdict} by {reviewer} at {decided_at}; "
            + (
                f"held for {', '.join(found) or 'other reasons'}."
                if rejected
                else "findings judged false alarms."
            )
        ),
    }
