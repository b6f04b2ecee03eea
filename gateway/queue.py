"""The durable outbound queue: rows in the archive database, written in the same transaction as the
records that explain them. A row changes state only together with an appended archive record."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archive.records import Record, RecordKind, body_digest
from archive.sqlite import Writer
from archive.writes import ArchiveWriter
from gateway.headers import split_message
from gateway.models import new_id


class State:
    PENDING = "pending"
    HELD = "held"
    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    delivery_id: str
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    headers: bytes
    body_digest: str
    not_before: float
    expires_at: float
    attempts: int
    purpose: str
    state: str = State.PENDING


def enqueue(writer: ArchiveWriter, delivery: QueuedDelivery) -> None:
    writer.execute(
        "INSERT INTO deliveries(delivery_id, message_id, envelope_from, recipients, headers, body_digest,"
        " state, not_before, expires_at, attempts, purpose) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            delivery.delivery_id,
            delivery.message_id,
            delivery.envelope_from,
            json.dumps(list(delivery.recipients)),
            delivery.headers,
            delivery.body_digest,
            delivery.state,
            delivery.not_before,
            delivery.expires_at,
            delivery.attempts,
            delivery.purpose,
        ),
    )
    writer.append(
        Record(
            RecordKind.DELIVERY_PLANNED,
            delivery.message_id,
            {
                "delivery_id": delivery.delivery_id,
                "purpose": delivery.purpose,
                "envelope_from": delivery.envelope_from,
                "recipients": list(delivery.recipients),
                "state": delivery.state,
                "not_before": _iso(delivery.not_before),
                "headers_digest": body_digest(delivery.headers),
            },
        )
    )


def enqueue_generated(
    writer: ArchiveWriter,
    *,
    message_id: str,
    recipients: tuple[str, ...],
    raw: bytes,
    purpose: str,
    now: float,
    lifetime_seconds: float,
) -> None:
    """Queue a message the relay wrote itself (a DSN, a notice, an alert). Its envelope sender is empty,
    so a failure to deliver it never bounces back into the relay."""
    header_block, _ = split_message(raw)
    enqueue(
        writer,
        QueuedDelivery(
            delivery_id=new_id("d-"),
            message_id=message_id,
            envelope_from="",
            recipients=recipients,
            headers=header_block,
            body_digest=writer.put_body(raw),
            not_before=now,
            expires_at=now + lifetime_seconds,
            attempts=0,
            purpose=purpose,
        ),
    )


def release_held(
    writer: Writer, message_id: str, *, send: bool, not_before: float, lifetime_seconds: float
) -> int:
    """A supervisor's verdict on a held message's copies: send them from ``not_before``, or never."""
    if send:
        cursor = writer.execute(
            "UPDATE deliveries SET state = 'pending', not_before = MAX(not_before, ?), expires_at = ?"
            " WHERE message_id = ? AND state = 'held'",
            (not_before, not_before + lifetime_seconds, message_id),
        )
    else:
        cursor = writer.execute(
            "UPDATE deliveries SET state = 'rejected' WHERE message_id = ? AND state = 'held'", (message_id,)
        )
    return cursor.rowcount


def due(
    connection: sqlite3.Connection, now: float, limit: int, skip: AbstractSet[str]
) -> list[tuple[QueuedDelivery, bytes | None]]:
    """Up to ``limit`` copies due now, oldest first, leaving out those already being sent (``skip``),
    each with the original message's bytes (None should the archived body be missing). Only their ids
    are read first (from the index), so a long backlog costs nothing per pass."""
    ids = [
        row[0]
        for row in connection.execute(
            "SELECT delivery_id FROM deliveries WHERE state = 'pending' AND not_before <= ?"
            " ORDER BY not_before LIMIT ?",
            (now, limit + len(skip)),
        )
        if row[0] not in skip
    ][:limit]
    if not ids:
        return []
    placeholders = ",".join("?" * len(ids))  # only "?"s: the ids themselves are bound parameters
    rows = connection.execute(
        "SELECT delivery_id, message_id, envelope_from, recipients, headers, body_digest, not_before,"  # noqa: S608
        " expires_at, attempts, purpose, state, content"
        " FROM deliveries LEFT JOIN bodies ON digest = body_digest"
        f" WHERE delivery_id IN ({placeholders}) ORDER BY not_before",
        ids,
    ).fetchall()
    return [(_from_row(row[:-1]), None if row[-1] is None else bytes(row[-1])) for row in rows]


def unreleased(connection: sqlite3.Connection, message_ids: AbstractSet[str], now: float) -> set[str]:
    """Of these messages, those whose archived records do not allow a copy to leave now: held by the
    decision and never approved in a review.decided record, or deferred past ``now``. The queue's rows
    are working state anyone with the database file could change; the archive's records are the
    evidence, so a copy leaves only when they say it may (a held row flipped to pending by hand stays)."""
    if not message_ids:
        return set()
    placeholders = ",".join("?" * len(message_ids))
    decisions: dict[str, dict[str, Any]] = {}
    approved: set[str] = set()
    for message_id, kind, canonical in connection.execute(
        "SELECT message_id, kind, canonical FROM records"  # noqa: S608 - placeholders only
        f" WHERE message_id IN ({placeholders}) AND kind IN ('decision', 'review.decided')",
        sorted(message_ids),
    ):
        payload = json.loads(canonical)["payload"]
        if kind == "decision":
            decisions[message_id] = payload
        elif payload.get("verdict") == "approved":
            approved.add(message_id)
    blocked = set()
    for message_id, decision in decisions.items():
        if decision.get("action") == "hold" and message_id not in approved:
            blocked.add(message_id)
        release = decision.get("release_at")
        if (
            decision.get("action") == "defer"
            and release
            and datetime.fromisoformat(release).timestamp() > now
        ):
            blocked.add(message_id)
    return blocked


def next_due_at(connection: sqlite3.Connection) -> float | None:
    row = connection.execute("SELECT MIN(not_before) FROM deliveries WHERE state = 'pending'").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def set_state(
    writer: ArchiveWriter,
    delivery_id: str,
    state: str,
    *,
    remaining: tuple[str, ...],
    not_before: float,
    attempts: int,
) -> None:
    writer.execute(
        "UPDATE deliveries SET state = ?, recipients = ?, not_before = ?, attempts = ? WHERE delivery_id = ?",
        (state, json.dumps(list(remaining)), not_before, attempts, delivery_id),
    )


def _from_row(row: tuple[Any, ...]) -> QueuedDelivery:
    (delivery_id, message_id, envelope_from, recipients, headers, digest, not_before, expires, attempts,
     purpose, state) = row  # fmt: skip
    return QueuedDelivery(
        delivery_id=str(delivery_id),
        message_id=str(message_id),
        envelope_from=str(envelope_from),
        recipients=tuple(json.loads(str(recipients))),
        headers=bytes(headers),
        body_digest=str(digest),
        not_before=float(not_before),
        expires_at=float(expires),
        attempts=int(attempts),
        purpose=str(purpose),
        state=str(state),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
