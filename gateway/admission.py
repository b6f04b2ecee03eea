"""Who may send, and to whom: the gateway service every edge asks before it accepts anything.

SMTP asks it at MAIL, RCPT and DATA today; the Twilio webhook and the portal will ask it the same
questions. An answer is either the people concerned or a ``Refusal`` saying why in words a district can
read; each edge turns a refusal into its own protocol's reply (``adapters.smtp_replies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from archive.models import StoredConversation
from gateway.directory import Directory
from gateway.models import Recipient
from policies.parties import Person, Role


class Refused(StrEnum):
    NOT_SIGNED_IN = "not_signed_in"  # no staff member on the roster behind the sign-in
    NOT_YOUR_ADDRESS = "not_your_address"  # a staff member sending as someone else (a personal address)
    NOT_ON_ROSTER = "not_on_roster"  # a recipient nobody on the roster has
    NOT_A_PARTICIPANT = "not_a_participant"  # a reply from someone outside the conversation
    ROSTER_CHANGED = "roster_changed"  # someone checked earlier has left the roster since


@dataclass(frozen=True, slots=True)
class Refusal:
    why: Refused
    reason: str


@dataclass(frozen=True, slots=True)
class Parties:
    sender: Person
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class ReplyParties:
    author: Person  # the student or guardian replying
    staff: Recipient  # the staff member the conversation belongs to


class Admission:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def staff_sender(self, signed_in: str, claimed: str) -> Person | Refusal:
        """A staff member signed in as ``signed_in`` sending as ``claimed``: only as themselves."""
        staff = self.directory.by_email(signed_in)
        if staff is None or staff.role is not Role.STAFF:
            return Refusal(Refused.NOT_SIGNED_IN, "authentication required")
        if claimed.lower() != signed_in.lower():
            return Refusal(
                Refused.NOT_YOUR_ADDRESS,
                f"<{claimed}>: you may send only from your own district address <{signed_in}>; "
                "personal addresses are not allowed for messages to students and families",
            )
        return staff

    def recipient(self, address: str) -> Recipient | Refusal:
        person = self.directory.by_email(address)
        if person is None:
            return Refusal(Refused.NOT_ON_ROSTER, f"<{address}> is not on the district roster")
        return Recipient(address.lower(), person)

    def parties(self, sender: str, recipients: list[str]) -> Parties | Refusal:
        """At the end of a message: everyone checked one by one before, looked up again (a roster
        re-import may have removed one meanwhile)."""
        person = self.directory.by_email(sender)
        found = [self.recipient(address) for address in recipients]
        if person is None or any(isinstance(r, Refusal) for r in found):
            return Refusal(Refused.ROSTER_CHANGED, "the district roster changed during this message")
        return Parties(person, tuple(r for r in found if isinstance(r, Recipient)))

    def reply(self, conversation: StoredConversation, sender: str) -> ReplyParties | Refusal:
        """A reply through a conversation address: only from its student or their guardians, and only
        while its staff member is on the roster."""
        author = self.directory.by_email(sender)
        if author is None or author.person_id not in conversation.member_ids:
            return Refusal(Refused.NOT_A_PARTICIPANT, f"<{sender}> is not a participant in this conversation")
        staff = self.directory.person(conversation.staff_id)
        if staff is None or staff.email is None:
            return Refusal(Refused.NOT_A_PARTICIPANT, "the staff member is no longer on the roster")
        return ReplyParties(author, Recipient(staff.email, staff))
