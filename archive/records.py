"""Archive records and their canonical bytes.

Every record is one leaf of the (future) RFC 9162 Merkle tree: its canonical bytes are deterministic JSON
(UTF-8, keys sorted, no whitespace; orjson, several times faster than the json module for the five or so
records every message writes), and its leaf hash is SHA-256(0x00 || canonical). Bodies are stored apart,
by digest, so the log keeps only hashes and a lawful disposal of a body leaves the tree verifiable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson


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
    NOTICE = "notice.queued"  # the sender told that their message waits (quiet hours, review)
    ALERT = "alert.raised"  # supervisors and the compliance contact alerted at once
    SMS_SESSION = "sms.session.opened"  # a masked-number conversation bound to a relay number
    SMS_REFUSAL = "sms.refusal"  # a text not taken: from a stranger, to no one known, with nothing to send
    SMS_KEYWORD = "sms.keyword"  # STOP, START or HELP from a phone, on one relay number


def body_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    kind: RecordKind
    message_id: str | None
    payload: dict[str, Any]
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def recorded_at_text(self) -> str:
        return self.recorded_at.isoformat(timespec="microseconds")

    def canonical(self, recorded_at_text: str | None = None) -> bytes:
        document = {
            "kind": str(self.kind),
            "message_id": self.message_id,
            "recorded_at": recorded_at_text or self.recorded_at_text,
            "payload": self.payload,
        }
        try:
            return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            # A lone surrogate (undecodable bytes carried through a parser) cannot be UTF-8; the exact bytes
            # are kept in the body store, so the record shows "?" rather than refusing the message.
            return orjson.dumps(_as_utf8(document), option=orjson.OPT_SORT_KEYS)

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())


def _as_utf8(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, dict):
        return {_as_utf8(key): _as_utf8(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_utf8(item) for item in value]
    return value


def leaf_hash(canonical: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256 of 0x00 followed by the record's canonical bytes."""
    return hashlib.sha256(b"\x00" + canonical).digest()
