"""A unit of work: everything one event writes, collected before the transaction and applied in it.

Several relay processes share one archive and take turns to write, so what a unit does while it holds the
turn holds every other process up. The gateway therefore says what changes (append a record, keep a body,
queue a copy, settle a claim, open a review) as plain data, with the records' canonical bytes and hashes
already made; a backend (``archive.sqlite``, ``archive.postgres``) turns each change into its statements
inside one durable transaction. Guarded changes (``expect_...``) raise ``Conflict`` if the row is not as
the gateway saw it, and the whole unit rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.checkpoints import Checkpoint
from archive.models import (
    Disposal,
    LegalHold,
    OptOut,
    QueuedDelivery,
    ReviewEntry,
    SearchEntry,
    SmsSession,
    StoredConversation,
)
from archive.records import Record, body_digest, leaf_hash
from archive.sealing import openings_bytes


@dataclass(frozen=True, slots=True)
class RecordRow:
    kind: str
    message_id: str | None
    recorded_at: str
    canonical: bytes
    leaf_hash: bytes
    record: Record
    openings: bytes | None  # the sealed values, kept beside the log under the leaf hash (None: none)

    @classmethod
    def of(cls, record: Record, recorded_at: str | None = None) -> RecordRow:
        recorded_at = recorded_at or record.recorded_at_text
        sealed = record.sealed()
        canonical = record.canonical(recorded_at, sealed)
        openings = openings_bytes(sealed.openings) if sealed.openings else None
        kind, message_id = str(record.kind), record.message_id
        return cls(kind, message_id, recorded_at, canonical, leaf_hash(canonical), record, openings)


def in_time_order(rows: list[RecordRow], last: str | None) -> list[RecordRow]:
    """The rows as they go after a record of time ``last``: a record's time never goes back along the
    index. Units are prepared at once and commit in another order, so a record made a moment before the
    last one committed takes that one's time (re-made: the time is in its canonical bytes). Rare, cheap."""
    ordered = []
    for row in rows:
        if last is not None and row.recorded_at < last:
            row = RecordRow.of(row.record, last)
        ordered.append(row)
        last = row.recorded_at
    return ordered


@dataclass(frozen=True, slots=True)
class BodyRow:
    digest: str
    content: bytes


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    delivery_id: str
    state: str
    recipients: tuple[str, ...]
    not_before: float
    attempts: int
    expires_at: float | None = None  # unchanged when None
    expect_claim: str | None = None  # the claim that must still be the row's (a delivery worker's)
    expect_state: str | None = None  # the state the row must still be in (a review's release)
    provider_id: str | None = None  # set when a provider accepted the copy (unchanged when None)


@dataclass(frozen=True, slots=True)
class ReviewVerdict:
    message_id: str
    state: str  # approved | rejected | seen
    decided_by: str
    decided_at: str
    comment: str


@dataclass
class Changes:
    """What one event writes. The store applies bodies, then working state, then records, in order."""

    records: list[RecordRow] = field(default_factory=list)
    bodies: list[BodyRow] = field(default_factory=list)
    enqueued: list[QueuedDelivery] = field(default_factory=list)
    updated: list[DeliveryUpdate] = field(default_factory=list)
    conversations: list[StoredConversation] = field(default_factory=list)
    reviews: list[ReviewEntry] = field(default_factory=list)
    verdicts: list[ReviewVerdict] = field(default_factory=list)
    # SMS: sessions opened (guarded: see open_sms_session) and used, opt-outs, and the provider's ids of
    # the texts received (guarded: each once).
    sms_sessions: list[tuple[SmsSession, float]] = field(default_factory=list)
    sms_activity: list[tuple[str, float]] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    received: list[tuple[str, str | None]] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    # Retention: legal holds placed and released (hold id, by whom, when), and lawful disposals.
    holds: list[LegalHold] = field(default_factory=list)
    releases: list[tuple[str, str, str]] = field(default_factory=list)
    disposals: list[Disposal] = field(default_factory=list)
    indexed: list[SearchEntry] = field(default_factory=list)  # the search index's view of new messages

    def append(self, record: Record) -> None:
        self.records.append(RecordRow.of(record))

    def put_body(self, content: bytes) -> str:
        digest = body_digest(content)
        self.bodies.append(BodyRow(digest, content))
        return digest

    def enqueue(self, delivery: QueuedDelivery) -> None:
        self.enqueued.append(delivery)

    def update_delivery(self, update: DeliveryUpdate) -> None:
        self.updated.append(update)

    def open_conversation(self, conversation: StoredConversation) -> None:
        self.conversations.append(conversation)

    def open_review(self, review: ReviewEntry) -> None:
        self.reviews.append(review)

    def decide_review(self, verdict: ReviewVerdict) -> None:
        """Guarded: the review must still be pending."""
        self.verdicts.append(verdict)

    def open_sms_session(self, session: SmsSession, *, active_after: float) -> None:
        """Guarded: none of its participants' phones may have a session on its relay number that was
        active after ``active_after`` (another instance may have just opened one)."""
        self.sms_sessions.append((session, active_after))

    def touch_sms_session(self, session_id: str, at: float) -> None:
        self.sms_activity.append((session_id, at))

    def set_opt_out(self, opt_out: OptOut) -> None:
        self.opt_outs.append(opt_out)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.checkpoints.append(checkpoint)

    def receive_once(self, provider_id: str, message_id: str | None) -> None:
        """Guarded: a provider's id for an inbound text is taken once (its webhook may come again)."""
        self.received.append((provider_id, message_id))

    def place_hold(self, hold: LegalHold) -> None:
        self.holds.append(hold)

    def release_hold(self, hold_id: str, by: str, at: str) -> None:
        """Guarded: the hold must still be in force."""
        self.releases.append((hold_id, by, at))

    def dispose(self, disposal: Disposal) -> None:
        """Remove bodies and openings for good; the unit must also append the record that says so."""
        self.disposals.append(disposal)

    def index_message(self, entry: SearchEntry) -> None:
        self.indexed.append(entry)
