"""Staff submission (587/465, 2525 in development): aiosmtpd hooks translated into gateway calls.

Authentication comes first; a staff member may send only from their own district address, only to
people on the roster. handle_DATA makes one durable commit through the pipeline and answers; it never
delivers or waits on delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from adapters import smtp_replies as reply
from adapters.smtp_auth import SignInThrottle, StaffAuth, Verify
from adapters.smtp_guard import Refusals, peer_text
from gateway.admission import Admission, Refusal, Refused
from gateway.channels.email import AuthorMismatch
from gateway.config import Settings
from gateway.headers import MalformedHeader
from gateway.models import Receipt, Submission, new_id
from gateway.pipeline import Pipeline

log = structlog.get_logger("adapters.smtp_submission")


class SubmissionHandler(StaffAuth, reply.EnhancedStatusCodes):
    def __init__(
        self,
        *,
        settings: Settings,
        admission: Admission,
        pipeline: Pipeline,
        verify_password: Verify,
        refusals: Refusals,
        sign_ins: SignInThrottle,
    ) -> None:
        self.settings = settings
        self.admission = admission
        self.pipeline = pipeline
        self.verify_password = verify_password
        self.refusals = refusals
        self.sign_ins = sign_ins

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        answer = self.admission.staff_sender(str(session.auth_data or ""), address)
        if isinstance(answer, Refusal):
            return await self._refuse(session, "MAIL", address, _reply(answer))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return reply.SENDER_OK

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        limit = self.settings.smtp.max_recipients
        if len(envelope.rcpt_tos) >= limit:
            return reply.TOO_MANY_RECIPIENTS.format(limit=limit)
        answer = self.admission.recipient(address)
        if isinstance(answer, Refusal):
            return await self._refuse(session, "RCPT", address, reply.NOT_ON_ROSTER.format(address=address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return reply.RECIPIENT_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            submission = self._submission(session, envelope)
            if submission is None:
                return reply.ROSTER_CHANGED
            receipt = await self.pipeline.submit(submission)
        except AuthorMismatch as exc:
            return await self._refuse(
                session, "DATA", envelope.mail_from, reply.NOT_YOUR_ADDRESS.format(reason=exc)
            )
        except MalformedHeader as exc:
            return await self._refuse(
                session, "DATA", envelope.mail_from, reply.MALFORMED_HEADER.format(reason=exc)
            )
        except Exception:
            log.exception("submission failed")
            return reply.INTERNAL_ERROR
        if receipt.action == "block":
            return reply.BLOCKED.format(reason=_one_line(receipt.reason))
        return reply.ACCEPTED.format(
            message_id=receipt.message_id, note=_note(receipt, self.settings.district.zone)
        )

    async def handle_exception(self, error: Exception) -> str:
        log.error("smtp session error", error_type=type(error).__name__)
        return reply.INTERNAL_ERROR

    def _submission(self, session: Any, envelope: Any) -> Submission | None:
        """None when someone checked at MAIL or RCPT has left the roster since (a re-import)."""
        parties = self.admission.parties(envelope.mail_from, envelope.rcpt_tos)
        if isinstance(parties, Refusal):
            return None
        return Submission(
            message_id=new_id("m-"),
            sender=parties.sender,
            envelope_from=envelope.mail_from.lower(),
            recipients=parties.recipients,
            raw=bytes(envelope.original_content or envelope.content),
            received_at=datetime.now(UTC),
            peer=peer_text(session),
        )

    async def _refuse(self, session: Any, stage: str, address: str | None, answer: str) -> str:
        sender = str(session.auth_data or "") or None
        return await self.refusals.refuse(session, stage=stage, answer=answer, sender=sender, address=address)

    def session_closed(self, session: Any) -> None:
        self.refusals.closed(session)


def _reply(refusal: Refusal) -> str:
    if refusal.why is Refused.NOT_SIGNED_IN:
        return reply.AUTH_REQUIRED
    return reply.NOT_YOUR_ADDRESS.format(reason=refusal.reason)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400] or "refused by district policy"


def _note(receipt: Receipt, zone: ZoneInfo) -> str:
    """What the sender's client shows after 250: when a deferred message goes out, or that it is held."""
    if receipt.action == "defer" and receipt.release_at is not None:
        when = receipt.release_at.astimezone(zone).strftime("%a %d %b %H:%M")
        return f"; quiet hours: deferred until {when} district time; {_one_line(receipt.reason)}"
    if receipt.action == "hold":
        return f"; held for supervisor review; {_one_line(receipt.reason)}"
    return ""
