"""The models that cross the gateway's boundaries: what an adapter hands in, and what it gets back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from archive.randomness import random_bytes
from policies.parties import Person

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # every 10-bit value as two base32 digits


def new_id(prefix: str) -> str:
    """A time-ordered, unguessable id (ULID layout): 48 bits of milliseconds, 80 random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(random_bytes(10), "big")
    return prefix + "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in range(120, -1, -10)])


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Purpose(StrEnum):
    """Why a copy exists; the archive and the portal show it."""

    DIRECT = "direct"  # staff or guardians addressed directly, no family grouping
    FAMILY = "family"  # a student and their guardians (and the visible supervisors)
    SUPERVISORS = "supervisors"
    REPLY = "reply"  # a student's or guardian's reply, to the staff member
    DSN = "dsn"
    NOTICE = "notice"  # the relay telling a sender their message waits (quiet hours, review)
    ALERT = "alert"  # supervisors and the compliance contact alerted to a held message


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    person: Person


@dataclass(frozen=True, slots=True)
class Media:
    filename: str
    content_type: str  # as declared by the provider; the rules sniff the bytes themselves
    content: bytes


@dataclass(frozen=True, slots=True)
class Submission:
    """A message as an edge received it: an e-mail from a signed-in staff member or a reply (the SMTP
    adapters), or a text (the SMS service, from the Twilio webhook)."""

    message_id: str
    sender: Person
    envelope_from: str
    recipients: tuple[Recipient, ...]
    raw: bytes
    received_at: datetime
    peer: str = ""
    # A reply on port 25 (no AUTH): what SPF, DKIM and DMARC said about its From: domain, as archived
    # (adapters.sender_auth.SenderAuth.to_json); its "aligned" decides whether the reply is held.
    # None: not checked, as for staff, who sign in.
    sender_auth: dict[str, Any] | None = None
    # The channel it came by; the message record says so, and the fan-out plans copies by it.
    channel: Channel = Channel.EMAIL
    # A text: the relay number it came to, and the provider's id for it (Twilio's MessageSid).
    relay_number: str | None = None
    provider_id: str | None = None
    media: tuple[Media, ...] = ()  # an MMS's pictures and files, fetched from the provider


@dataclass(frozen=True, slots=True)
class Copy:
    """One transaction's worth of a message: who receives it and what its headers show."""

    purpose: Purpose
    envelope: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    reply_to: str | None = None  # a conversation address, on copies students and guardians read
    conversation: Conversation | None = None
    channel: Channel = Channel.EMAIL  # how it goes: addresses above are e-mail addresses or E.164 numbers
    sender: str | None = None  # where it goes from, if not the message's sender (a text: a relay number)
    prefix: str = ""  # a text's copy: what precedes the words ("Dana Reyes to Sam Patel: ")
    # A copy in another channel's form than the message (a text's e-mail copy to a guardian without a
    # mobile number): the whole message, written by the planner.
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """Who may reply through one conversation address, and who sees the replies."""

    token: str
    staff: Person
    students: tuple[Person, ...]
    guardians: tuple[Person, ...]

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(p.person_id for p in (*self.students, *self.guardians))


@dataclass(frozen=True, slots=True)
class Unreachable:
    person: Person
    student: Person
    reason: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """The gateway's answer to an adapter once the message is durably committed (or refused)."""

    message_id: str
    action: str  # deliver | flag | defer | hold | block
    reason: str = ""
    release_at: datetime | None = None
