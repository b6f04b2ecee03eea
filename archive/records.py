"""Archive records and their canonical bytes.

Every record is one leaf of the RFC 9162 Merkle tree (``archive.merkle``): its canonical bytes are RFC 8785
JSON (``archive.canonical``) of ``{"v": 2, "kind", "message_id", "recorded_at", "payload"}``, with its
personal values sealed as salted commitments (``archive.sealing``), and its leaf hash is
SHA-256(0x00 || canonical). Bodies are stored apart, by digest, so the log keeps only hashes and a lawful
disposal of a body, or of a record's openings, leaves the tree verifiable.

Format versions: 2 is this one. A leaf without ``"v"`` is version 1 (sorted-key JSON, nothing sealed,
undecodable text replaced by U+FFFD); such leaves still verify, since a leaf hash covers the stored bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from archive.canonical import canonical, escaped_text
from archive.randomness import random_bytes
from archive.sealing import Sealed, seal

FORMAT = 2  # the leaf format, in every leaf as "v"


class RecordKind(StrEnum):
    MESSAGE = "message"  # an accepted message: body digest, parsed headers, resolved parties
    DECISION = "decision"  # the policy decision and its findings
    DELIVERY_PLANNED = "delivery.planned"
    DELIVERY_ATTEMPT = "delivery.attempt"
    DELIVERY_ACCEPTED = "delivery.accepted"  # a provider took the copy; its status callback comes later
    DELIVERY_STATUS = "delivery.status"  # what a provider's status callback said
    DELIVERY_DONE = "delivery.done"
    DELIVERY_FAILED = "delivery.failed"
    UNREACHABLE = "party.unreachable"  # a guardian who should get a copy but has no address
    REFUSAL = "smtp.refusal"  # a refusal at SMTP time, before anything was accepted
    REFUSALS = "smtp.refusals"  # a connection's further refusals, summarised when it closed
    SECURITY = "security.event"  # sign-ins throttled, and the like
    CONVERSATION = "conversation.opened"
    DSN = "dsn.sent"
    REVIEW_OPENED = "review.opened"  # a held or flagged message listed for a supervisor
    REVIEW_DECIDED = "review.decided"  # a supervisor's approve or reject, with their comment
    REVIEW_ESCALATED = "review.escalated"  # passed up to the compliance contact, with a comment
    SIGNED_IN = "portal.signed_in"  # who signed in to the portal, from where
    NOTICE = "notice.queued"  # the sender told that their message waits (quiet hours, review)
    ALERT = "alert.raised"  # supervisors and the compliance contact alerted at once
    SMS_SESSION = "sms.session.opened"  # a masked-number conversation bound to a relay number
    SMS_REFUSAL = "sms.refusal"  # a text not taken: from a stranger, to no one known, with nothing to send
    SMS_KEYWORD = "sms.keyword"  # STOP, START or HELP from a phone, on one relay number
    HOLD_PLACED = "legal_hold.placed"  # a case's legal hold on a person's messages, or on one message
    HOLD_RELEASED = "legal_hold.released"
    DISPOSED = "archive.disposed"  # bodies and sealed values lawfully removed; the leaves stay
    SEARCHED = "archive.searched"  # who searched the archive, for what, and which messages it showed
    VIEWED = "archive.viewed"  # who opened which thread
    REFUSED_VIEW = "archive.view_refused"  # who asked for a thread outside their window
    EXPORTED = "archive.exported"  # who exported which messages, as a case file


def recorded_at_text(when: datetime) -> str:
    """A time as records keep it (UTC, to the microsecond), so that times compare as text."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def body_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    kind: RecordKind
    message_id: str | None
    payload: dict[str, Any]
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    salt: bytes = field(default_factory=lambda: random_bytes(16), repr=False)  # for its sealed values

    @property
    def recorded_at_text(self) -> str:
        return recorded_at_text(self.recorded_at)

    def sealed(self) -> Sealed:
        return seal(self.payload, self.salt)

    def canonical(self, recorded_at_text: str | None = None, sealed: Sealed | None = None) -> bytes:
        sealed = sealed or self.sealed()
        document = {
            "v": FORMAT,
            "kind": str(self.kind),
            "message_id": None if self.message_id is None else escaped_text(self.message_id),
            "recorded_at": recorded_at_text or self.recorded_at_text,
            "payload": sealed.payload,
        }
        return canonical(document, fast=sealed.fast)

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())


def leaf_hash(canonical: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256 of 0x00 followed by the record's canonical bytes."""
    return hashlib.sha256(b"\x00" + canonical).digest()
