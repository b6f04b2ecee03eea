"""What the store keeps and hands back, whatever the backend: plain frozen dataclasses, no rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class DeliveryState(StrEnum):
    PENDING = "pending"  # may go from not_before on
    HELD = "held"  # waits for a supervisor's verdict
    ACCEPTED = "accepted"  # a provider took it and reports the outcome later (a status callback)
    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"  # a supervisor said never


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    """One planned copy of a message: to whom, from whom, with which header block over which body."""

    delivery_id: str
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    headers: bytes
    body_digest: str
    not_before: float  # epoch seconds: quiet-hours release or next retry
    expires_at: float  # give up (and tell the sender) after this
    attempts: int
    purpose: str
    state: str = DeliveryState.PENDING
    claimed_by: str | None = None  # the delivery worker sending it, until claim_until
    claim_until: float = 0.0
    provider_id: str | None = None  # the provider's id for it, once accepted (ACCEPTED)
    channel: str = "email"  # how it goes: "email" (recipients are addresses) or "sms" (E.164 numbers)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    token: str
    message_id: str
    staff_id: str
    staff_email: str
    student_ids: tuple[str, ...]
    member_ids: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SmsParticipant:
    phone: str  # E.164
    person_id: str
    stopped: bool = False  # said STOP to the session's relay number (and not START since)


@dataclass(frozen=True, slots=True)
class SmsSession:
    """A masked-number conversation: one staff member and one contact (a student or a guardian), with the
    contact's family, bound to one relay number. While it is active, none of its participants' phones has
    another session on that number, so (a participant's phone, the relay number) names the session."""

    session_id: str
    relay_number: str
    staff_id: str
    contact_id: str
    participants: tuple[SmsParticipant, ...]
    opened_at: float  # epoch seconds
    last_active: float

    def participant(self, phone: str) -> SmsParticipant | None:
        return next((p for p in self.participants if p.phone == phone), None)


@dataclass(frozen=True, slots=True)
class OptOut:
    """A recipient's STOP (or START) on one relay number, as the carrier and the provider also keep it."""

    phone: str
    relay_number: str
    opted_out: bool
    changed_at: float


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """A held or flagged message in the review queue, and what became of it."""

    message_id: str
    action: str  # hold (nothing sent yet) | flag (sent, listed for review)
    state: str  # pending | approved | rejected | seen
    sender: str
    subject: str | None
    reasons: str
    opened_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None


class LogEntry(NamedTuple):
    """A record as the tree sees it: its index (1-based), its time, and the exact bytes its leaf hashes.
    A tuple, not a dataclass: a full verify makes one per record, millions of them."""

    seq: int
    recorded_at: str
    canonical: bytes
    leaf_hash: bytes


class SealedEntry(NamedTuple):
    """A record whose personal values are kept beside the log: its leaf bytes, its salt and its openings."""

    seq: int
    canonical: bytes
    salt: bytes
    openings: bytes


@dataclass(frozen=True, slots=True)
class ArchivedRecord:
    seq: int
    kind: str
    message_id: str | None
    recorded_at: str
    payload: dict[str, Any]


class Conflict(Exception):
    """A guarded change found its row otherwise than expected (a claim lost to another worker, a review
    already decided): the whole unit of work is rolled back."""


@dataclass(frozen=True, slots=True)
class LegalHold:
    """Keeps whatever it covers from any disposal until released: every message a person sent or received
    (scope ``person``, subject a sourcedId) or one message (scope ``message``), for a named case."""

    hold_id: str
    case_name: str
    scope: str  # person | message
    subject: str
    placed_by: str
    placed_at: str
    released_by: str | None = None
    released_at: str | None = None


@dataclass(frozen=True, slots=True)
class Disposal:
    """What a lawful disposal removes: bodies by digest and records' openings by leaf hash (the leaves stay,
    so every proof still holds), and the finished working state of these messages (copies, reviews)."""

    bodies: tuple[str, ...]
    openings: tuple[bytes, ...]
    message_ids: tuple[str, ...]
    disposed_at: str

    def items(self) -> list[str]:
        """How the disposals table names each thing removed."""
        return [f"body:{d}" for d in self.bodies] + [f"openings:{leaf.hex()}" for leaf in self.openings]


@dataclass(frozen=True, slots=True)
class SearchEntry:
    """One message as the search index holds it: a view rebuilt from the archive, never evidence. Its
    ``keys`` are what scopes and filters match: ``person:<sourcedId>`` for every party (sender, recipients,
    their students' guardians) and ``school:<org sourcedId>`` for their schools."""

    message_id: str
    recorded_at: str
    channel: str  # email | sms
    direction: str  # from_staff | to_staff
    action: str  # deliver | defer | flag | hold | block
    categories: tuple[str, ...]
    sender_id: str
    keys: tuple[str, ...]
    thread: str  # the message that began the conversation (its own id when it began one)
    subject: str
    body: str
    attachments: str  # file names, space-separated


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a search asks: words (every one, or a "quoted phrase"), and filters that must all hold. ``scope``
    is the searcher's window (any of these keys; None: everything), set by who asks, never by the query."""

    words: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # every one of these (a staff member, a student, a guardian, a school)
    scope: tuple[str, ...] | None = None
    channel: str | None = None
    direction: str | None = None
    actions: tuple[str, ...] = ()
    category: str | None = None
    thread: str | None = None
    message_ids: tuple[str, ...] = ()  # any of these messages
    since: str | None = None  # recorded at or after (ISO time)
    until: str | None = None  # recorded before
    limit: int = 50
    older_than: int | None = None  # the next page: entries before this one (SearchHit.entry)


@dataclass(frozen=True, slots=True)
class SearchHit:
    entry: int  # its place in the index, newest highest (a page's cursor)
    message_id: str
    recorded_at: str
    channel: str
    direction: str
    action: str
    categories: tuple[str, ...]
    sender_id: str
    keys: tuple[str, ...]
    thread: str
    subject: str
