"""The SMS service every edge that hears a text calls (the Twilio webhook, ``sms simulate`` through it, and
the API's ``POST /api/v1/messages`` through ``send_for``): who texted, to whom, in which session; the text
then goes through the same pipeline as an e-mail.

- STOP/START/HELP words are honoured per phone and relay number, and archived.
- A phone the roster does not know gets one short answer, and nothing is forwarded.
- A staff member starts a conversation with "@handle text" (a roster username or sourcedId, or a class
  they teach: each student in their own session); the text goes out from the session's relay number, and
  the staff member is told, from that number, where the conversation lives.
- Anything else continues the session that (sender's phone, relay number) names.
- An MMS's media are fetched and checked first (``gateway.text_media``); the rules judge them as attachments.
- Each inbound text is taken once, by the provider's id, in the same commit as what it causes.
- The sender hears back by text what the policy decided when it is not plain delivery (quiet hours,
  review, refusal), always from the session's number.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import structlog

from archive.changes import Changes
from archive.models import Conflict, OptOut, SmsSession
from archive.records import Record, RecordKind
from archive.store import Store
from gateway import notices
from gateway.config import Settings
from gateway.directory import Directory, e164
from gateway.models import Channel, Media, Receipt, Recipient, Submission, new_id
from gateway.pipeline import Pipeline
from gateway.refusals import RefusedAttempt, refusal_record
from gateway.sms_sessions import NoFreeNumber, Party, SessionPool
from gateway.text_media import MediaError, MediaLink, MediaSource, fetch_media
from gateway.text_plan import plan_text
from policies.parties import Person, Role

log = structlog.get_logger("gateway.texting")

# The carriers' and Twilio's standard keywords (a whole text, any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_HANDLE = re.compile(r"\A\s*@([\w.\-]{1,64})\s*(.*)\Z", re.DOTALL)
MAX_TEXT_CHARS = 1600  # Twilio's limit for one message body
_E164 = re.compile(r"\+1[2-9]\d{9}")  # a North American number in E.164; anything else is parsed


@dataclass(frozen=True, slots=True)
class InboundText:
    provider_id: str  # Twilio's MessageSid
    sender: str
    relay_number: str
    body: str
    received_at: datetime
    media: tuple[MediaLink, ...] = ()


class Outcome(StrEnum):
    FORWARDED = "forwarded"  # decided and committed (delivered, deferred, held or blocked)
    DUPLICATE = "duplicate"  # this provider id was taken before
    REFUSED = "refused"  # not forwarded; the sender is told why
    KEYWORD = "keyword"


@dataclass(frozen=True, slots=True)
class TextAnswer:
    outcome: Outcome
    reply: str | None = None  # said back at once, from the number that was texted
    receipts: tuple[Receipt, ...] = ()


class Texting:
    def __init__(
        self,
        *,
        settings: Settings,
        directory: Directory,
        store: Store,
        pipeline: Pipeline,
        media: MediaSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.media = media
        self.settings = settings
        self.directory = directory
        self.store = store
        self.pipeline = pipeline
        self.sessions = SessionPool(store, settings.sms)
        self.clock = clock
        self.pool = frozenset(settings.sms.relay_numbers)
        self.district = settings.district.name

    async def receive(self, text: InboundText) -> TextAnswer:
        relay, phone = _number(text.relay_number), _number(text.sender)
        if relay not in self.pool:
            return await self._refuse(text, phone, relay, "the number texted is not one of the relay's")
        keyword = text.body.strip().upper()
        if keyword in STOP_WORDS | START_WORDS | HELP_WORDS:
            return await self._keyword(text, phone, relay, keyword)
        people = self.directory.by_phone(phone)
        if not people:
            reply = f"This number serves {self.district} communication only. Your message was not delivered."
            return await self._refuse(text, phone, relay, "the sender's number is not on the roster", reply)
        if len(text.body) > MAX_TEXT_CHARS:
            return await self._refuse(text, phone, relay, f"longer than {MAX_TEXT_CHARS} characters", (
                f"Not sent: a text may be at most {MAX_TEXT_CHARS} characters."
            ))  # fmt: skip
        try:
            media = await fetch_media(self.media, text.media)
        except MediaError as error:
            return await self._refuse(
                text, phone, relay, f"media: {error}", f"Not sent: an attachment {error}."
            )
        now = self.clock()
        staff = next((p for p in people if p.role is Role.STAFF), None)
        started = _HANDLE.match(text.body)
        if staff is not None and started is not None:
            return await self._start(
                Party(staff, phone), started.group(1), started.group(2), text, relay, now, media
            )
        session = await self.sessions.find(relay, phone, now)
        if session is None:
            reply = (
                'To start a conversation, text "@username message" (a roster username).'
                if staff is not None
                else "You have no open conversation on this number; nothing was delivered."
            )
            return await self._refuse(text, phone, relay, "no open conversation on this number", reply)
        return await self._continue(session, phone, text, now, media)

    async def send_for(self, staff: Person, to: str, words: str, request_id: str) -> TextAnswer:
        """A text a staff member starts from the portal or the API (POST /api/v1/messages): as if they had
        texted the first relay number "@to words" from their work phone. ``request_id`` is taken once,
        as a provider's id is (the client's Idempotency-Key: a retried request sends nothing twice)."""
        if staff.sms is None:
            reply = f"Not sent: {staff.display_name} has no work phone on the roster; texts need one."
            return TextAnswer(Outcome.REFUSED, reply)
        handle = to.strip().lstrip("@")
        inbound = InboundText(
            request_id, staff.sms, self.settings.sms.main_number, f"@{handle} {words}", datetime.now(UTC)
        )
        return await self.receive(inbound)

    # --- starting and continuing a conversation -------------------------------------------------------

    async def _start(
        self,
        staff: Party,
        handle: str,
        words: str,
        text: InboundText,
        relay: str,
        now: float,
        media: tuple[Media, ...] = (),
    ) -> TextAnswer:
        if not words.strip() and not media:
            return await self._refuse(
                text, staff.phone, relay, "nothing to send", f"Nothing to send to @{handle}."
            )
        contacts, problem = self._contacts(staff.person, handle)
        if problem:
            return await self._refuse(text, staff.phone, relay, problem, f"Not sent: {problem}.")
        receipts: list[Receipt] = []
        unsent: list[tuple[str, str]] = []  # (who, why)
        for contact in contacts:
            assert contact.sms is not None
            party = Party(contact, contact.sms)
            # The inbound text is taken (its provider id) with the first copy that commits.
            taken = text if not receipts else None
            for _ in range(3):  # another instance may take the number we found free: look again
                try:
                    receipts.append(await self._start_one(staff, party, words, taken, now, media))
                    break
                except Conflict as conflict:
                    if "already received" in str(conflict):
                        return TextAnswer(Outcome.DUPLICATE)
                except NoFreeNumber as full:
                    unsent.append((contact.display_name, str(full)))
                    break
        if unsent:
            names = ", ".join(name for name, _ in unsent[:5]) + (" …" if len(unsent) > 5 else "")
            await self._tell(staff, relay, f"Not sent to {len(unsent)} ({names}): {unsent[0][1]}.", now)
        if not receipts:
            return await self._refuse(text, staff.phone, relay, "no relay number free")
        return TextAnswer(Outcome.FORWARDED, receipts=tuple(receipts))

    def _contacts(self, staff: Person, handle: str) -> tuple[list[Person], str]:
        """Who "@handle" names for this staff member, or why nobody."""
        found = self.directory.by_handle(handle)
        if not found and handle.lower() in (c.lower() for c in staff.class_ids):
            found = self.directory.students_in_class(handle)
            if not found:
                return [], f"class {handle} has no students"
        if not found:
            return [], f"@{handle} is not on the district roster"
        if len(found) > 1 and not all(p.role is Role.STUDENT for p in found):
            return [], f"@{handle} names more than one person; use their sourcedId"
        if any(p.role not in (Role.STUDENT, Role.GUARDIAN) for p in found):
            return [], f"@{handle} is staff; text students and families here"
        without = [p.display_name for p in found if p.sms is None]
        if without and len(found) == 1:
            return [], f"{without[0]} has no mobile number on the roster"
        return [p for p in found if p.sms is not None], ""

    async def _start_one(
        self,
        staff: Party,
        contact: Party,
        words: str,
        text: InboundText | None,
        now: float,
        media: tuple[Media, ...],
    ) -> Receipt:
        writes = Changes()
        session = await self.sessions.between(staff, contact.person, now)
        opened = session is None
        if session is None:
            family = self._family(contact.person)
            session = await self.sessions.open(writes, staff, contact, family, now)
            writes.append(
                Record(
                    RecordKind.SMS_SESSION,
                    None,
                    {
                        "session_id": session.session_id,
                        "relay_number": session.relay_number,
                        "staff_id": session.staff_id,
                        "contact_id": session.contact_id,
                        "participants": [p.person_id for p in session.participants],
                    },
                )
            )
        else:
            writes.touch_sms_session(session.session_id, now)
        receipt = await self._submit(
            writes, session, staff.person, staff.phone, contact, words, text, now, media
        )
        if opened or (text is not None and text.relay_number != session.relay_number):
            where = f"Your conversation with {contact.person.display_name} is on this number: reply here."
            await self._tell(staff, session.relay_number, where, now, about=receipt.message_id)
        return receipt

    def _family(self, contact: Person) -> list[Party]:
        """A minor student's guardians who have a mobile number: they take part in the session."""
        if contact.role is not Role.STUDENT:
            return []
        return [Party(g, g.sms) for g in self.directory.guardians_of(contact) if g.sms is not None]

    async def _continue(
        self, session: SmsSession, phone: str, text: InboundText, now: float, media: tuple[Media, ...]
    ) -> TextAnswer:
        participant = session.participant(phone)
        author = None if participant is None else self.directory.person(participant.person_id)
        staff = self.directory.person(session.staff_id)
        contact = self.directory.person(session.contact_id)
        if author is None or staff is None or contact is None or staff.sms is None or contact.sms is None:
            reply = "This conversation has ended; nothing was delivered."
            return await self._refuse(
                text, phone, session.relay_number, "a participant left the roster", reply
            )
        other = Party(contact, contact.sms) if author == staff else Party(staff, staff.sms)
        writes = Changes()
        writes.touch_sms_session(session.session_id, now)
        try:
            receipt = await self._submit(writes, session, author, phone, other, text.body, text, now, media)
        except Conflict:
            return TextAnswer(Outcome.DUPLICATE)
        return TextAnswer(Outcome.FORWARDED, receipts=(receipt,))

    async def _submit(
        self,
        writes: Changes,
        session: SmsSession,
        author: Person,
        phone: str,
        to: Party,
        words: str,
        text: InboundText | None,
        now: float,
        media: tuple[Media, ...] = (),
    ) -> Receipt:
        message_id = new_id("m-")
        if text is not None:
            writes.receive_once(text.provider_id, message_id)
        submission = Submission(
            message_id=message_id,
            sender=author,
            envelope_from=phone,
            recipients=(Recipient(to.phone, to.person),),
            raw=words.encode(),
            received_at=datetime.fromtimestamp(now).astimezone() if text is None else text.received_at,
            peer="sms",
            channel=Channel.SMS,
            relay_number=session.relay_number,
            provider_id=None if text is None else text.provider_id,
            media=media,
        )
        opted_out = {(p.phone, session.relay_number) for p in session.participants if p.stopped}
        today = submission.received_at.astimezone(self.settings.district.zone).date()
        receipt = await self.pipeline.accept(
            submission,
            lambda: plan_text(
                session, author, (to.person, to.phone), words, directory=self.directory,
                settings=self.settings, opted_out=opted_out, message_id=message_id, today=today,
            ),
            thread=session.session_id,
            writes=writes,
        )  # fmt: skip
        told = _decision_notice(receipt, to.person, self.settings)
        if told and (author.role is Role.STAFF or receipt.action == "block"):
            await self._tell(Party(author, phone), session.relay_number, told, now, about=message_id)
        return receipt

    # --- keywords, refusals and notices --------------------------------------------------------------

    async def _keyword(self, text: InboundText, phone: str, relay: str, keyword: str) -> TextAnswer:
        writes = Changes()
        writes.receive_once(text.provider_id, None)
        if keyword in STOP_WORDS | START_WORDS:
            writes.set_opt_out(OptOut(phone, relay, keyword in STOP_WORDS, self.clock()))
        writes.append(
            Record(RecordKind.SMS_KEYWORD, None, {"phone": phone, "relay_number": relay, "keyword": keyword})
        )
        try:
            await self.store.commit(writes)
        except Conflict:
            return TextAnswer(Outcome.DUPLICATE)
        log.info("sms keyword", keyword=keyword)
        if keyword in HELP_WORDS:
            reply = (
                f"{self.district}: this number relays messages between school staff, students and families; "
                "they are kept and seen by the school. Reply STOP to stop texts from this number."
            )
            return TextAnswer(Outcome.KEYWORD, reply)
        return TextAnswer(Outcome.KEYWORD)  # the provider confirms STOP and START itself

    async def _refuse(
        self, text: InboundText, phone: str, relay: str, reason: str, reply: str | None = None
    ) -> TextAnswer:
        writes = Changes()
        writes.receive_once(text.provider_id, None)
        refused = RefusedAttempt(
            Channel.SMS, "received", phone, relay, reason=reason, reply=reply, provider_id=text.provider_id
        )
        writes.append(refusal_record(refused))
        try:
            await self.store.commit(writes)
        except Conflict:
            return TextAnswer(Outcome.DUPLICATE)
        log.info("text refused", reason=reason)
        return TextAnswer(Outcome.REFUSED, reply)

    async def _tell(self, to: Party, relay: str, words: str, now: float, *, about: str | None = None) -> None:
        """A text from the relay to a sender, from ``relay``, queued and handed to delivery."""
        writes = Changes()
        delivery = notices.queue_relay_text(
            writes, self.settings, about=about or new_id("m-"), relay_number=relay, to=to.phone, text=words,
            now=now, claim=self.pipeline.claimed,
        )  # fmt: skip
        await self.store.commit(writes)
        self.pipeline.wake_delivery([delivery], words.encode())


def _number(number: str) -> str:
    """A number as the roster and the pool keep it (E.164): as Twilio sends it, without parsing it again."""
    return number if _E164.fullmatch(number) else (e164(number) or number)


def _decision_notice(receipt: Receipt, to: Person, settings: Settings) -> str | None:
    name = to.display_name
    if receipt.action == "defer" and receipt.release_at is not None:
        zone = settings.district.zone
        when = receipt.release_at.astimezone(zone).strftime("%a %d %b at %H:%M")
        return f"Scheduled: your text to {name} goes {when}. Why: {receipt.reason}"
    if receipt.action == "hold":
        return (
            f"Held for review: your text to {name} waits for a supervisor; nothing was sent. "
            f"Why: {receipt.reason}"
        )
    if receipt.action == "block":
        return f"Not sent: your text to {name} was refused. Why: {receipt.reason}"
    return None
