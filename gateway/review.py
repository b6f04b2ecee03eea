"""The review queue: held messages wait here for a supervisor; flagged ones are listed after delivery.

``ReviewDesk`` is the one place that says who may decide on a message and what a decision does, for every
edge (the CLI today, the portal next). Approving a held message releases its copies (re-applying the
hour-of-day rules at the time of approval); rejecting it keeps them from ever being sent and tells the
sender. Nobody decides on their own message. Every action is archived.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from archive.changes import Changes, ReviewVerdict
from archive.models import ArchivedRecord, Conflict, ReviewEntry
from archive.records import Record, RecordKind
from archive.store import Store
from gateway import notices, queue
from gateway.config import Settings
from gateway.decide import PolicyDecider
from gateway.directory import Directory
from gateway.models import Channel, Purpose, Recipient, Submission
from policies.decision import Action, Decision
from policies.parties import Person, Role

PENDING = "pending"


class ReviewError(Exception):
    """A review action that cannot be taken, said plainly (unknown id, already decided, not allowed)."""


def open_review(
    writer: Changes, message_id: str, decision: Decision, *, sender: str, subject: str | None
) -> None:
    writer.open_review(
        ReviewEntry(
            message_id=message_id,
            action=str(decision.action),
            state=PENDING,
            sender=sender,
            subject=subject,
            reasons=decision.explain(),
            opened_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )
    writer.append(Record(RecordKind.REVIEW_OPENED, message_id, {"action": str(decision.action)}))


class ReviewDesk:
    """``directory`` (the roster) is needed to decide, not to list or show."""

    def __init__(self, settings: Settings, store: Store, directory: Directory | None = None) -> None:
        self.settings = settings
        self._directory = directory
        self.store = store

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            raise ReviewError("deciding needs the roster: run `chaperone roster import DIR` first")
        return self._directory

    async def waiting(self) -> list[ReviewEntry]:
        return await self.store.reviews([PENDING])

    async def history(self, message_id: str) -> list[ArchivedRecord]:
        return await self.store.records(message_ids=[message_id])

    def authorise(self, reviewer: str, entry: ReviewEntry) -> None:
        """Only a supervisor of the sender, or the district's compliance contact, and never the sender."""
        person = self.directory.by_email(reviewer)
        if person is None or person.role is not Role.STAFF:
            raise ReviewError(f"{reviewer} is not staff on the roster")
        author = self._author(entry.sender)
        if reviewer.lower() == entry.sender.lower() or person == author:
            # The compliance contact included: another reviewer must decide on their own message.
            raise ReviewError(
                f"{reviewer} sent this message; their supervisor or the compliance contact must decide on it"
            )
        if reviewer.lower() == (self.settings.district.compliance_contact or "").lower():
            return
        staff = author if author is not None and author.role is Role.STAFF else None
        if staff is None or person not in self.directory.supervisors_of(staff):
            raise ReviewError(
                f"{reviewer} does not supervise {entry.sender}; ask their supervisor or compliance"
            )

    def _author(self, sender: str) -> Person | None:
        """Who sent a held message: an e-mail address, or the phone a text came from (the staff row of a
        phone that is also a parent's)."""
        if "@" in sender:
            return self.directory.by_email(sender)
        found = self.directory.by_phone(sender)
        return next((p for p in found if p.role is Role.STAFF), found[0] if found else None)

    async def decide(
        self, message_id: str, *, approve: bool, reviewer: str, comment: str, operator: dict[str, Any]
    ) -> ReviewEntry:
        entry = await self._pending(message_id)
        self.authorise(reviewer, entry)
        now = time.time()
        release = now
        if approve and entry.action == str(Action.HOLD):
            release = await self._release_time(message_id, now)
        verdict = "approved" if approve else "rejected"
        if entry.action == str(Action.FLAG):
            verdict = "seen" if approve else "rejected"  # a flagged message was already delivered
        changes = Changes()
        changes.decide_review(
            ReviewVerdict(
                message_id,
                verdict,
                reviewer.lower(),
                datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                comment,
            )
        )
        lifetime = self.settings.delivery.lifetime_hours * 3600
        released = queue.release_held(
            changes,
            await self.store.copies(message_id),
            send=approve,
            not_before=release,
            lifetime_seconds=lifetime,
        )
        changes.append(
            Record(
                RecordKind.REVIEW_DECIDED,
                message_id,
                {
                    "verdict": verdict,
                    "reviewer": reviewer.lower(),
                    "operator": operator,
                    "comment": comment,
                    "copies": len(released),
                },
            )
        )
        if not approve and "@" not in entry.sender:  # a text: its sender hears by text, from its number
            await self._text_rejection(changes, message_id, entry.sender, comment, now)
        elif not approve:
            subject = entry.subject or "(no subject)"
            notices.queue_relay_mail(
                changes,
                self.settings,
                about=message_id,
                to=(entry.sender,),
                subject=f"Not sent: {subject}",
                text=f'A supervisor rejected your message "{subject}"; it was not delivered to anyone.'
                f"\n\nComment: {comment}\n",
                purpose=Purpose.NOTICE,
                now=now,
            )
        try:
            await self.store.commit(changes)
        except Conflict as exc:
            raise ReviewError(f"{message_id}: decided by someone else meanwhile ({exc})") from exc
        return await self.store.review(message_id) or entry

    async def escalate(
        self, message_id: str, *, reviewer: str, comment: str, operator: dict[str, Any]
    ) -> ReviewEntry:
        """Pass a pending message up to the district's compliance contact, who is alerted by e-mail; it
        stays in the queue, still waiting for a verdict."""
        entry = await self._pending(message_id)
        self.authorise(reviewer, entry)
        contact = self.settings.district.compliance_contact
        if not contact or contact.lower() == reviewer.lower():
            raise ReviewError("there is no one above you to escalate to: approve or reject it")
        now = time.time()
        changes = Changes()
        changes.append(
            Record(
                RecordKind.REVIEW_ESCALATED,
                message_id,
                {"reviewer": reviewer.lower(), "operator": operator, "comment": comment, "to": [contact]},
            )
        )
        subject = entry.subject or "(no subject)"
        notices.queue_relay_mail(
            changes,
            self.settings,
            about=message_id,
            to=(contact,),
            subject=f"Escalated for review: {subject}",
            text=f'{reviewer} escalated the held message "{subject}" ({message_id}) to you.'
            f"\n\nComment: {comment}\n\nIt waits in the review queue for your verdict.\n",
            purpose=Purpose.ALERT,
            now=now,
        )
        await self.store.commit(changes)
        return entry

    async def _pending(self, message_id: str) -> ReviewEntry:
        entry = await self.store.review(message_id)
        if entry is None:
            raise ReviewError(f"{message_id}: no such message in the review queue")
        if entry.state != PENDING:
            raise ReviewError(f"{message_id}: already {entry.state}")
        return entry

    async def _text_rejection(
        self, changes: Changes, message_id: str, phone: str, comment: str, now: float
    ) -> None:
        found = await self.store.records(message_ids=[message_id], kinds=[str(RecordKind.MESSAGE)], limit=1)
        relay = found[0].payload.get("relay_number") if found else None
        if not relay:
            return
        words = (
            f"Not sent: a supervisor rejected your text; it was not delivered to anyone. Comment: {comment}"
        )
        notices.queue_relay_text(
            changes, self.settings, about=message_id, relay_number=str(relay), to=phone, text=words, now=now
        )

    async def _release_time(self, message_id: str, now: float) -> float:
        """Approval re-applies the hour-of-day rules: a message approved at 23:00 still waits for morning."""
        found = await self.store.records(message_ids=[message_id], kinds=[str(RecordKind.MESSAGE)], limit=1)
        if not found:
            return now
        payload = found[0].payload
        raw = await self.store.body(str(payload["body_digest"]))
        sender = self.directory.person(str(payload["sender"]["person_id"]))
        if raw is None or sender is None:
            return now
        recipients = []
        for party in payload["recipients"]:
            person = self.directory.person(party["person_id"])
            if person is not None:
                recipients.append(Recipient(party["address"], person))
        submission = Submission(
            message_id, sender, str(payload["envelope_from"]), tuple(recipients), raw,
            datetime.fromtimestamp(now, UTC), channel=Channel(payload.get("channel", "email")),
        )  # fmt: skip
        decider = PolicyDecider(self.settings, self.directory)
        timing = [
            f
            for f in decider.evaluate(decider.read(submission)).findings
            if f.action is Action.DEFER and f.release_at
        ]
        return max([now, *(f.release_at.timestamp() for f in timing if f.release_at)])
