"""A message as the rules see it: who sent it to whom, what they wrote, what is attached, and when.

The gateway builds it from an e-mail (every text part, HTML turned into text, quoted history split off)
or a text message; ``policy check`` builds it from a corpus line. Rules never see raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from policies.parties import Person, Role


@dataclass(frozen=True, slots=True)
class Party:
    address: str  # an e-mail address (lower-cased) or an E.164 number
    person: Person | None  # None: not on the roster

    @property
    def role(self) -> Role | None:
        return None if self.person is None else self.person.role


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # lower-cased MIME type, e.g. "image/jpeg" (by the bytes when they say it)
    size: int | None = None
    camera: bool = False  # a picture carrying the metadata a camera or phone writes (EXIF)

    @property
    def is_media(self) -> bool:
        return self.content_type.startswith(("image/", "video/"))


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    channel: str  # "email" | "sms"
    sender: Party
    recipients: tuple[Party, ...]
    sent_at: datetime  # timezone-aware; rules convert to the district's zone
    subject: str = ""
    body: str = ""  # what the sender wrote in this message
    quoted: str = ""  # quoted reply history: the sender sent it too, so the rules read it (``text``)
    attachments: tuple[Attachment, ...] = ()
    urgent: str | None = None  # X-Chaperone-Urgent reason, or the SMS "URGENT:" prefix's
    pictured: tuple[str, ...] = ()  # sourcedIds the sender declared are pictured (X-Chaperone-Pictured)
    unread: tuple[str, ...] = ()  # what the reader could not read (a bound ran out): the message is held
    # A reply from outside (port 25, no sign-in): whether its From: domain passed SPF or DKIM in DMARC
    # alignment. None: not checked (staff sign in; a corpus line or a text message has no such check).
    sender_verified: bool | None = None
    # Subject, a blank line, body, a blank line, quoted history: every finding's offsets point into this.
    # Quoted history is read like the rest: a sender controls the whole body, and a made-up "> " line or
    # "On ... wrote:" must not hide what follows.
    text: str = field(init=False)

    def __post_init__(self) -> None:
        parts = [part for part in (self.subject, self.body, self.quoted) if part]
        object.__setattr__(self, "text", "\n\n".join(parts))

    @property
    def student_recipients(self) -> tuple[Person, ...]:
        return tuple(p.person for p in self.recipients if p.person is not None and p.role is Role.STUDENT)

    @property
    def sender_is_staff(self) -> bool:
        return self.sender.role is Role.STAFF
