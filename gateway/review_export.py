"""Reviewers' verdicts as labelled examples, in the corpus format (shared/corpus/README.md), so a district
can retrain the learned detector on its own decisions (README: "Learning from reviewers").

A rejected message is labelled with the content categories it was held or flagged for; an approved (or
seen) one is clean: the reviewer judged its findings false alarms. The text is read from the archived
body as the rules read it. The file holds students' messages: it stays inside the district.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from gateway.reading import read_email
from policies.learned.training import CATEGORIES
from policies.message import Party

CONTENT = frozenset(CATEGORIES)  # what the learned detector is trained on
_DECIDED = ("approved", "seen", "rejected")


def reviewed_examples(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = connection.execute(
        "SELECT message_id, state, decided_by, decided_at FROM reviews WHERE state IN (?,?,?)"
        " ORDER BY decided_at, message_id",
        _DECIDED,
    ).fetchall()
    return [line for row in rows if (line := _example(connection, *row)) is not None]


def _example(
    connection: sqlite3.Connection, message_id: str, verdict: str, reviewer: str, decided_at: str
) -> dict[str, Any] | None:
    records = {
        kind: json.loads(canonical)["payload"]
        for kind, canonical in connection.execute(
            "SELECT kind, canonical FROM records WHERE message_id = ? AND kind IN ('message', 'decision')"
            " ORDER BY seq",
            (message_id,),
        )
    }
    message, decision = records.get("message"), records.get("decision")
    if message is None or decision is None:
        return None
    body = connection.execute(
        "SELECT content FROM bodies WHERE digest = ?", (message["body_digest"],)
    ).fetchone()
    if body is None:  # disposed of: nothing to learn from
        return None
    sender = message["sender"]["address"]
    read = read_email(
        bytes(body[0]),
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
