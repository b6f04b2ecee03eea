"""The durable outbound queue, as the gateway plans it: copies are queued in the same unit of work as the
records that explain them, and a copy changes state only together with an appended archive record.
The rows themselves are the store's (``archive.store.DeliveryQueue``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from archive.changes import Changes, DeliveryUpdate
from archive.models import ArchivedRecord, DeliveryState, QueuedDelivery
from archive.records import Record, RecordKind, body_digest
from gateway.headers import split_message
from gateway.models import new_id

State = DeliveryState
__all__ = [
    "QueuedDelivery",
    "State",
    "enqueue",
    "enqueue_generated",
    "release_held",
    "text_from_relay",
    "unreleased",
]


def enqueue(writer: Changes, delivery: QueuedDelivery) -> None:
    writer.enqueue(delivery)
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
    writer: Changes,
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


def text_from_relay(
    writer: Changes,
    *,
    message_id: str,
    relay_number: str,
    to: str,
    text: str,
    now: float,
    lifetime_seconds: float,
) -> QueuedDelivery:
    """A text the relay writes itself (a notice to a sender) from one of its numbers, its words kept in
    ``writer``; the caller queues it (``enqueue``), claimed for this process's workers if it goes now."""
    return QueuedDelivery(
        delivery_id=new_id("d-"),
        message_id=message_id,
        envelope_from=relay_number,
        recipients=(to,),
        headers=b"",
        body_digest=writer.put_body(text.encode()),
        not_before=now,
        expires_at=now + lifetime_seconds,
        attempts=0,
        purpose="notice",
        channel="sms",
    )


def release_held(
    writer: Changes, held: Iterable[QueuedDelivery], *, send: bool, not_before: float, lifetime_seconds: float
) -> list[str]:
    """A supervisor's verdict on a held message's copies: send them from ``not_before``, or never.
    Each change is guarded by the copy still being held; returns the ids of the copies."""
    released = []
    for copy in held:
        if copy.state != State.HELD:
            continue
        start = max(copy.not_before, not_before)
        writer.update_delivery(
            DeliveryUpdate(
                copy.delivery_id,
                State.PENDING if send else State.REJECTED,
                copy.recipients,
                not_before=start,
                attempts=copy.attempts,
                expires_at=start + lifetime_seconds if send else None,
                expect_state=State.HELD,
            )
        )
        released.append(copy.delivery_id)
    return released


RELEASE_RECORDS = (str(RecordKind.DECISION), str(RecordKind.REVIEW_DECIDED))


def unreleased(found: Iterable[ArchivedRecord], now: float) -> set[str]:
    """Of the messages these decision and review.decided records are about, those whose records do not
    allow a copy to leave now: held by the decision and never approved, or deferred past ``now``. The
    queue's rows are working state anyone with the database could change; the archive's records are
    the evidence, so a copy leaves only when they say it may (a held row flipped to pending by hand
    stays)."""
    decisions: dict[str, dict[str, Any]] = {}
    approved: set[str] = set()
    for record in found:
        if record.message_id is None:
            continue
        if record.kind == RecordKind.DECISION:
            decisions[record.message_id] = record.payload
        elif record.payload.get("verdict") == "approved":
            approved.add(record.message_id)
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


def set_state(
    writer: Changes,
    copy: QueuedDelivery,
    state: str,
    *,
    remaining: tuple[str, ...],
    not_before: float,
    attempts: int,
    provider_id: str | None = None,
) -> None:
    """A delivery worker's outcome for a copy it claimed: guarded by that claim, and letting go of it."""
    writer.update_delivery(
        DeliveryUpdate(
            copy.delivery_id, state, remaining, not_before=not_before, attempts=attempts,
            expect_claim=copy.claimed_by, provider_id=provider_id,
        )
    )  # fmt: skip


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
