"""From a received message to the district's decision: read it as the rules see it, then evaluate.

The engine is pure; this is where the relay supplies what it knows (roster, calendar, consent records,
the relay's own clock as the send time).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, TypedDict

from gateway.config import Settings
from gateway.directory import Directory
from gateway.district_calendar import policy_context
from gateway.models import Channel, Submission
from gateway.reading import read_email, read_sms
from policies.decision import Decision
from policies.engine import Engine
from policies.message import Message, Party
from policies.pack import load_pack


class Decider(Protocol):
    def read(self, submission: Submission) -> Message: ...

    def evaluate(self, message: Message) -> Decision: ...

    def undecided(self, submission: Submission, subject: str, why: str) -> tuple[Message, Decision]: ...


class PolicyDecider:
    def __init__(self, settings: Settings, directory: Directory) -> None:
        self.engine = Engine(load_pack(settings.policy.pack))
        self.context = policy_context(settings, directory, date.today())

    def read(self, submission: Submission) -> Message:
        if submission.channel is Channel.SMS:
            return read_sms(
                submission.raw.decode("utf-8", errors="replace"),
                message_id=submission.message_id,
                sender=Party(submission.envelope_from, submission.sender),
                recipients=tuple(Party(r.address, r.person) for r in submission.recipients),
                received_at=submission.received_at,
                media=[(m.filename, m.content_type, m.content) for m in submission.media],
            )
        return read_email(
            submission.raw,
            message_id=submission.message_id,
            received_at=submission.received_at,
            **_parties(submission),
        )

    def evaluate(self, message: Message) -> Decision:
        return self.engine.evaluate(message, self.context)

    def undecided(self, submission: Submission, subject: str, why: str) -> tuple[Message, Decision]:
        """The decision on a message that could not be read or decided in time: the pack's rules see who
        sent it to whom and when, and that its content went unread, which holds it for a person."""
        unread = Message(
            message_id=submission.message_id,
            channel=str(submission.channel),
            sent_at=submission.received_at,
            subject=subject,
            unread=(why,),
            **_parties(submission),
        )
        return unread, self.evaluate(unread)


class _Parties(TypedDict):
    sender: Party
    recipients: tuple[Party, ...]
    sender_verified: bool | None


def _parties(submission: Submission) -> _Parties:
    """Who sent a submission to whom, as the rules see them, read or unread."""
    return {
        "sender": Party(submission.envelope_from, submission.sender),
        "recipients": tuple(Party(r.address, r.person) for r in submission.recipients),
        "sender_verified": sender_verified(submission),
    }


def sender_verified(submission: Submission) -> bool | None:
    """None for a sender who signed in (not checked); otherwise whether the From: domain aligned."""
    if submission.sender_auth is None:
        return None
    return submission.sender_auth.get("aligned") is True
