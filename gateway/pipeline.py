"""The life of a message, start to finish, on one screen.

An adapter hands in a ``Submission`` (or a reply); the pipeline parses, decides, plans the copies and makes
ONE durable commit of everything — message, decision, conversations, planned deliveries — before it
answers. Nothing here waits on delivery: the delivery workers take it from the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from archive.changes import Changes
from archive.models import StoredConversation
from archive.records import Record, RecordKind
from archive.store import Store
from gateway import conversations, notices, queue, review
from gateway.channels import MessageChannel
from gateway.channels.email import EmailChannel
from gateway.channels.sms import SmsChannel, TextCopy
from gateway.config import Settings
from gateway.decide import Decider
from gateway.directory import Directory
from gateway.fanout import FanoutPlan, plan_fanout, plan_reply
from gateway.headers import split_message
from gateway.models import Channel, Copy, Purpose, Receipt, Submission, new_id
from gateway.refusals import RefusedAttempt, refusal_record
from gateway.search_index import concerned, search_entry
from gateway.text_plan import gist
from policies.decision import Action, Decision
from policies.message import Message
from policies.parties import Person, Role

# Larger messages are read and decided in a worker thread, so one 25 MB upload (or 100 KB of crafted
# text for the rules) cannot stall every session; a small one costs less inline than a thread hop.
_DECIDE_INLINE_BYTES = 32 * 1024
_READ_ALONE_BYTES = 1024 * 1024

log = structlog.get_logger("gateway.pipeline")


@dataclass(frozen=True, slots=True)
class Accepted:
    submission: Submission
    envelope: Any  # the channel's: an e-mail's header block, a text's TextEnvelope
    message: Message  # as the policy rules read it
    decision: Decision
    fanout: FanoutPlan
    conversation_token: str | None = None  # set on replies: the conversation they continue
    thread: str | None = None  # the message that began the conversation, if not this one


class Pipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        directory: Directory,
        store: Store,
        decider: Decider,
        wake_delivery: Callable[[list[queue.QueuedDelivery], bytes], None] = lambda ready, raw: None,
        delivery_claimant: str | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.store = store
        self.decider = decider
        self.wake_delivery = wake_delivery
        # This process's delivery workers, if it has any: the copies that may go at once are queued
        # already claimed by them and handed over, so no other delivery process sends them too.
        self.delivery_claimant = delivery_claimant
        self.zone = settings.district.zone
        # The channels copies may go by: a guardian with no e-mail address but a mobile number gets an
        # e-mail's gist by text where the relay has relay numbers.
        self.reaches = frozenset({Channel.EMAIL, Channel.SMS} if settings.sms.enabled else {Channel.EMAIL})
        self._large_reading = asyncio.Semaphore(1)
        # What is particular to each channel about a message: an e-mail's header block and author, each
        # copy's headers; a text's relay number and segments, each copy's prefix (gateway.channels).
        self.channels: dict[Channel, MessageChannel[Any]] = {
            Channel.EMAIL: EmailChannel(),
            Channel.SMS: SmsChannel(),
        }

    async def submit(self, submission: Submission) -> Receipt:
        """A staff member's message: copies for each family, the supervisors and any staff addressed."""
        return await self.accept(
            submission,
            lambda: plan_fanout(
                submission.sender,
                submission.recipients,
                self.directory,
                self.settings.fanout,
                self.settings.district.relay_domain,
                submission.received_at.astimezone(self.zone).date(),
                self.reaches,
            ),
        )

    async def reply(self, conversation: StoredConversation, submission: Submission) -> Receipt:
        """A reply to a conversation address: to the staff member, seen by the family and supervisors."""
        staff = submission.recipients[0].person
        return await self.accept(
            submission,
            lambda: plan_reply(
                submission.sender, staff, conversation.member_ids, self.directory, self.settings.fanout
            ),
            conversation_token=conversation.token,
            thread=conversation.message_id,
        )

    async def accept(
        self,
        submission: Submission,
        plan: Callable[[], FanoutPlan],
        *,
        conversation_token: str | None = None,
        thread: str | None = None,
        writes: Changes | None = None,
    ) -> Receipt:
        """Decide on a message and commit it with its planned copies in one unit: ``writes`` holds what
        the edge's own service adds to that unit (a text's session and its provider id, taken once).
        ``thread`` names what the message continues (a conversation's first message, a text session)."""
        writes = Changes() if writes is None else writes
        structlog.contextvars.bind_contextvars(message_id=submission.message_id)
        try:
            envelope, message, decision = await self._decide(submission)
            if decision.action is Action.BLOCK:
                self._record_refusal(writes, submission, envelope, message, decision, thread)
                await self.store.commit(writes)
                log.info("message blocked", rules=[f.rule for f in decision.findings])
                return _receipt(submission.message_id, decision)
            accepted = Accepted(submission, envelope, message, decision, plan(), conversation_token, thread)
            ready = self._commit(writes, accepted)
            await self.store.commit(writes)
            log.info("message accepted", action=str(decision.action), copies=len(accepted.fanout.copies))
        finally:
            structlog.contextvars.unbind_contextvars("message_id")
        # The message's own copies (none, when it is held: the workers still look for its notices) and
        # those with bytes of their own, each handed over with what they are made from.
        self.wake_delivery([d for d, raw in ready if raw is submission.raw], submission.raw)
        for delivery, raw in ready:
            if raw is not submission.raw:
                self.wake_delivery([delivery], raw)
        return _receipt(submission.message_id, decision)

    async def _decide(self, submission: Submission) -> tuple[Any, Message, Decision]:
        """Check the header, read the message and decide on it: inline for a small message; otherwise
        in a worker thread, so that no message stalls every session, with a deadline after which the
        message is held for review unread (fail closed)."""
        channel = self.channels[submission.channel]
        if len(submission.raw) <= _DECIDE_INLINE_BYTES:
            envelope = channel.check(submission)
            message = self.decider.read(submission)
            return envelope, message, self.decider.evaluate(message)
        envelope = await asyncio.to_thread(channel.check, submission)
        deadline = self.settings.policy.decide_seconds
        try:
            # The MIME parser needs about 7 bytes of memory per byte it reads: large messages are read one
            # at a time (they would share one core anyway, under the GIL), so memory stays the messages in
            # flight (bounded by [smtp] max_bytes_in_flight) plus one reading.
            alone = len(submission.raw) > _READ_ALONE_BYTES
            async with self._large_reading if alone else contextlib.nullcontext():
                async with asyncio.timeout(deadline):
                    message, decision = await asyncio.to_thread(self._read_and_evaluate, submission)
        except TimeoutError:
            # The thread runs on to its end (every step is linear and bounded); its answer is not used.
            log.warning("message not decided in time: held", seconds=deadline, size=len(submission.raw))
            why = f"not checked within {deadline:g} s"
            message, decision = self.decider.undecided(submission, channel.subject(envelope), why)
        return envelope, message, decision

    def _read_and_evaluate(self, submission: Submission) -> tuple[Message, Decision]:
        message = self.decider.read(submission)
        return message, self.decider.evaluate(message)

    # --- what the one durable commit writes (prepared before it: archive.changes) --------------------

    def _commit(self, writer: Changes, accepted: Accepted) -> list[tuple[queue.QueuedDelivery, bytes]]:
        """Everything about one message in one transaction; returns the copies that may go at once, each
        with the bytes it is made from (the message's, or the copy's own)."""
        submission, decision = accepted.submission, accepted.decision
        digest = self._record_message(
            writer, submission, accepted.envelope, accepted.message, decision, accepted.thread,
            accepted.conversation_token,
        )  # fmt: skip
        for unreachable in accepted.fanout.unreachable:
            writer.append(
                Record(
                    RecordKind.UNREACHABLE,
                    submission.message_id,
                    {
                        "person_id": unreachable.person.person_id,
                        "student_id": unreachable.student.person_id,
                        "reason": unreachable.reason,
                    },
                )
            )
        for conversation in accepted.fanout.conversations:
            conversations.open(writer, submission.message_id, conversation)
        now = time.time()
        ready = []
        for copy in accepted.fanout.copies:
            if copy.channel is not submission.channel and copy.content is None:
                copy = replace(
                    copy, content=gist(accepted.message, submission.sender, self.settings).encode()
                )
            delivery = self._delivery(writer, submission, decision, copy, accepted.envelope, digest, now)
            if delivery.state == queue.State.PENDING and delivery.not_before <= now:
                delivery = self.claimed(delivery, now)
                ready.append((delivery, submission.raw if copy.content is None else copy.content))
            queue.enqueue(writer, delivery)
        if decision.action in (Action.HOLD, Action.FLAG):
            review.open_review(
                writer,
                submission.message_id,
                decision,
                sender=submission.envelope_from,
                subject=accepted.message.subject,
            )
        if (
            decision.action in (Action.HOLD, Action.DEFER)
            and submission.sender.role is Role.STAFF
            and submission.channel is Channel.EMAIL  # a text's sender hears back by text (gateway.texting)
        ):
            self._notify_sender(writer, submission, accepted.message, decision, now)
        if decision.escalate:
            self._alert(writer, submission, decision, now)
        return ready

    def claimed(self, delivery: queue.QueuedDelivery, now: float) -> queue.QueuedDelivery:
        """A copy that may go at once, queued already claimed by this process's delivery workers (if it
        has any) so that they can be handed it and no other process sends it too."""
        if self.delivery_claimant is None:
            return delivery
        lease = self.settings.delivery.lease_seconds
        return replace(delivery, claimed_by=self.delivery_claimant, claim_until=now + lease)

    def _notify_sender(
        self, writer: Changes, submission: Submission, message: Message, decision: Decision, now: float
    ) -> None:
        subject, text = notices.sender_notice(
            decision,
            subject=message.subject or "(no subject)",
            recipients=[r.address for r in submission.recipients],
            zone=self.zone,
        )
        notices.queue_relay_mail(
            writer,
            self.settings,
            about=submission.message_id,
            to=(submission.envelope_from,),
            subject=subject,
            text=text,
            purpose=Purpose.NOTICE,
            now=now,
        )

    def _alert(self, writer: Changes, submission: Submission, decision: Decision, now: float) -> None:
        """Threats, sexual content and grooming signals: supervisors and the compliance contact, at once."""
        staff = submission.sender if submission.sender.role is Role.STAFF else None
        if staff is None:  # a reply from a student or guardian: alert the staff member's supervisors
            staff = next((r.person for r in submission.recipients if r.person.role is Role.STAFF), None)
        people = [] if staff is None else list(self.directory.supervisors_of(staff))
        addresses = [p.email for p in people if p.email]
        contact = self.settings.district.compliance_contact
        if contact and contact.lower() not in addresses:
            addresses.append(contact.lower())
        if not addresses:
            log.warning("no one to alert", rules=[f.rule for f in decision.findings if f.escalate])
            return
        subject, text = notices.supervisor_alert(
            decision,
            message_id=submission.message_id,
            sender=submission.envelope_from,
            recipients=[r.address for r in submission.recipients],
            review_url=self.settings.policy.review_url,
        )
        notices.queue_relay_mail(
            writer,
            self.settings,
            about=submission.message_id,
            to=tuple(addresses),
            subject=subject,
            text=text,
            purpose=Purpose.ALERT,
            now=now,
        )

    def _delivery(
        self,
        writer: Changes,
        submission: Submission,
        decision: Decision,
        copy: Copy,
        original: Any,
        digest: str,
        now: float,
    ) -> queue.QueuedDelivery:
        release = decision.release_at.timestamp() if decision.release_at is not None else now
        state = queue.State.HELD if decision.action is Action.HOLD else queue.State.PENDING
        if copy.content is not None:  # written whole, in the copy's own channel's form
            headers = (
                TextCopy(copy.prefix).envelope()
                if copy.channel is Channel.SMS
                else split_message(copy.content)[0]
            )
            digest = writer.put_body(copy.content)
        else:
            headers = self.channels[submission.channel].copy_envelope(original, copy, submission.message_id)
        return queue.QueuedDelivery(
            delivery_id=new_id("d-"),
            message_id=submission.message_id,
            envelope_from=self._sent_from(submission, copy),
            recipients=copy.envelope,
            headers=headers,
            body_digest=digest,
            not_before=max(now, release),
            expires_at=max(now, release) + self.settings.delivery.lifetime_hours * 3600,
            attempts=0,
            purpose=str(copy.purpose),
            state=state,
            channel=str(copy.channel),
        )

    def _sent_from(self, submission: Submission, copy: Copy) -> str:
        if copy.sender is not None:
            return copy.sender
        if copy.channel is Channel.SMS and submission.channel is not Channel.SMS:
            return self.settings.sms.main_number  # an e-mail's gist, texted from the district's first number
        return submission.envelope_from

    def _record_message(
        self,
        writer: Changes,
        submission: Submission,
        envelope: Any,
        message: Message,
        decision: Decision,
        thread: str | None,
        conversation_token: str | None = None,
    ) -> str:
        """The message and decision records, the body and the search index's entry."""
        digest = writer.put_body(submission.raw)
        for media in submission.media:  # an MMS's files, content-addressed beside it
            writer.put_body(media.content)
        recipients = [r.person for r in submission.recipients]
        record = Record(
            RecordKind.MESSAGE,
            submission.message_id,
            {
                "channel": str(submission.channel),
                "body_digest": digest,
                "size": len(submission.raw),
                "received_at": submission.received_at.isoformat(),
                "peer": submission.peer,
                "envelope_from": submission.envelope_from,
                "sender": _party(submission.sender, submission.envelope_from),
                "recipients": [_party(r.person, r.address) for r in submission.recipients],
                "subject": message.subject,
                **self.channels[submission.channel].record_fields(envelope),
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in message.attachments
                ],
                "conversation": conversation_token,
                "thread": thread or submission.message_id,
                **concerned(submission.sender, recipients, self.directory),
                # A reply's SPF/DKIM/DMARC result (None for staff, who sign in): why it was held.
                "sender_auth": submission.sender_auth,
            },
        )
        writer.append(record)
        decided = decision.to_json()
        writer.append(Record(RecordKind.DECISION, submission.message_id, decided))
        at = record.recorded_at_text
        writer.index_message(search_entry(submission.message_id, at, record.payload, decided, message.body))
        return digest

    def _record_refusal(
        self,
        writer: Changes,
        submission: Submission,
        envelope: Any,
        message: Message,
        decision: Decision,
        thread: str | None,
    ) -> None:
        self._record_message(writer, submission, envelope, message, decision, thread)
        # The edge tells the sender (an SMTP reply, a text back); the reason is the decision's.
        refused = RefusedAttempt(
            submission.channel,
            "policy",
            submission.envelope_from,
            ", ".join(r.address for r in submission.recipients),
            reason=decision.explain_to_sender(),
            peer=submission.peer or None,
            provider_id=submission.provider_id,
        )
        writer.append(refusal_record(refused, submission.message_id))


def _receipt(message_id: str, decision: Decision) -> Receipt:
    return Receipt(
        message_id=message_id,
        action=str(decision.action),
        reason=decision.explain_to_sender(),
        release_at=decision.release_at,
    )


def _party(person: Person, address: str) -> dict[str, str]:
    return {"address": address, "person_id": person.person_id, "role": str(person.role)}
