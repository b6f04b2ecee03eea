"""The review queue: held messages wait here for a supervisor; flagged ones are listed after delivery.

Approving a held message releases its copies (re-applying the hour-of-day rules at the time of approval);
rejecting it keeps them from ever being sent and tells the sender. Every action is archived.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archive.records import Record, RecordKind
from archive.sqlite import Writer
from archive.writes import ArchiveWriter
from gateway import queue
from policies.decision import Action, Decision


class ReviewError(Exception):
    """A review action that cannot be taken, said plainly (unknown id, already decided)."""


@dataclass(frozen=True, slots=True)
class PendingReview:
    message_id: str
    action: str
    state: str
    sender: str
    subject: str | None
    reasons: str
    opened_at: str


def open_review(
    writer: ArchiveWriter, message_id: str, decision: Decision, *, sender: str, subject: str | None
) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    writer.execute(
        "INSERT INTO reviews(message_id, action, state, sender, subject, reasons, opened_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (message_id, str(decision.action), "pending", sender, subject, decision.explain(), now),
    )
    writer.append(Record(RecordKind.REVIEW_OPENED, message_id, {"action": str(decision.action)}))


def pending(connection: sqlite3.Connection) -> list[PendingReview]:
    rows = connection.execute(
        "SELECT message_id, action, state, sender, subject, reasons, opened_at FROM reviews"
        " WHERE state = 'pending' ORDER BY opened_at, message_id"
    ).fetchall()
    return [PendingReview(*row) for row in rows]


def find(connection: sqlite3.Connection, message_id: str) -> PendingReview | None:
    row = connection.execute(
        "SELECT message_id, action, state, sender, subject, reasons, opened_at FROM reviews"
        " WHERE message_id = ?",
        (message_id,),
    ).fetchone()
    return None if row is None else PendingReview(*row)


def decide(
    writer: Writer,
    message_id: str,
    *,
    approve: bool,
    reviewer: str,
    comment: str,
    release_at: float,
    lifetime_seconds: float,
    operator: dict[str, Any] | None = None,
) -> PendingReview:
    """Approve (release held copies at ``release_at``) or reject (never send them) one pending review."""
    review = find(writer.connection, message_id)
    if review is None:
        raise ReviewError(f"{message_id}: no such message in the review queue")
    if review.state != "pending":
        raise ReviewError(f"{message_id}: already {review.state}")
    verdict = "approved" if approve else "rejected"
    if review.action == str(Action.FLAG):
        verdict = "seen" if approve else "rejected"  # a flagged message was already delivered
    now = datetime.now(UTC).isoformat(timespec="seconds")
    writer.execute(
        "UPDATE reviews SET state = ?, decided_by = ?, decided_at = ?, comment = ? WHERE message_id = ?",
        (verdict, reviewer, now, comment, message_id),
    )
    released = queue.release_held(
        writer, message_id, send=approve, not_before=release_at, lifetime_seconds=lifetime_seconds
    )
    writer.append(
        Record(
            RecordKind.REVIEW_DECIDED,
            message_id,
            {
                "verdict": verdict,
                "reviewer": reviewer,
                "operator": operator or {},
                "comment": comment,
                "copies": released,
            },
        )
    )
    return find(writer.connection, message_id) or review
