"""Port 25: replies to conversation addresses at the relay domain, and nothing else.

No authentication is offered or needed here, so this listener must never relay: it accepts a recipient
only when it is a live conversation address at our relay domain (one that has not gone idle), and a
message only from a member of that conversation (the student or one of their guardians). Even then the
sender's address is only a claim: what SPF, DKIM and DMARC say of its From: domain goes with the message
into the pipeline, and the policy holds a reply they do not vouch for (adapters.sender_auth).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from adapters import smtp_replies as reply
from adapters.sender_auth import SenderVerifier
from adapters.smtp_guard import Refusals, client_ip, peer_text
from gateway.admission import Admission, Refusal, Refused
from gateway.channels.email import AuthorMismatch
from gateway.config import Settings
from gateway.conversations import ConversationRoutes
from gateway.headers import MalformedHeader
from gateway.models import Submission, new_id
from gateway.pipeline import Pipeline

log = structlog.get_logger("adapters.smtp_inbound")


class InboundHandler(reply.EnhancedStatusCodes):
    offers_auth = False  # nobody signs in on port 25, before or after STARTTLS

    def __init__(
        self,
        *,
        settings: Settings,
        admission: Admission,
        conversations: ConversationRoutes,
        pipeline: Pipeline,
        refusals: Refusals,
    ) -> None:
        self.settings = settings
        self.admission = admission
        self.conversations = conversations
        self.pipeline = pipeline
        self.refusals = refusals
        self.verifier = SenderVerifier.from_settings(settings.smtp)  # None: [smtp] verification off

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        domain = self.settings.district.relay_domain
        if address.rpartition("@")[2].lower() != domain.lower():
            answer = reply.RELAY_DENIED.format(address=address, domain=domain)
            return await self._refuse(session, envelope, "RCPT", address, answer)
        route = await self.conversations.route(address)
        if route.conversation is None:
            answer = reply.NO_SUCH_CONVERSATION.format(address=address)
            return await self._refuse(session, envelope, "RCPT", address, answer)
        if route.expired:
            days = self.settings.smtp.conversation_idle_days
            answer = reply.CONVERSATION_EXPIRED.format(address=address, days=days)
            return await self._refuse(session, envelope, "RCPT", address, answer)
        if envelope.rcpt_tos:
            # One conversation per transaction: each reply is routed and archived on its own.
            return "452 4.5.3 One conversation address per message, please send again for the others"
        envelope.rcpt_tos.append(address)
        return reply.RECIPIENT_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = await self.conversations.conversation(envelope.rcpt_tos[0])
        parties = (
            self.admission.reply(found, envelope.mail_from or "")
            if found is not None
            else Refusal(Refused.NOT_A_PARTICIPANT, "no such conversation")
        )
        if isinstance(parties, Refusal):
            answer = reply.NOT_A_PARTICIPANT.format(reason=parties.reason)
            return await self._refuse(session, envelope, "DATA", envelope.rcpt_tos[0], answer)
        assert found is not None
        raw = bytes(envelope.original_content or envelope.content)
        submission = Submission(
            message_id=new_id("m-"),
            sender=parties.author,
            envelope_from=envelope.mail_from.lower(),
            recipients=(parties.staff,),
            raw=raw,
            received_at=datetime.now(UTC),
            peer=peer_text(session),
            sender_auth=await self._verify(session, envelope, raw),
        )
        try:
            receipt = await self.pipeline.reply(found, submission)
        except AuthorMismatch as exc:
            return await self._refuse(
                session, envelope, "DATA", None, reply.NOT_A_PARTICIPANT.format(reason=exc)
            )
        except MalformedHeader as exc:
            return await self._refuse(
                session, envelope, "DATA", None, reply.MALFORMED_HEADER.format(reason=exc)
            )
        except Exception:
            log.exception("reply failed")
            return reply.INTERNAL_ERROR
        if receipt.action == "block":
            return reply.BLOCKED.format(reason=" ".join(receipt.reason.split())[:400])
        return reply.ACCEPTED.format(message_id=receipt.message_id, note="")

    async def _verify(self, session: Any, envelope: Any, raw: bytes) -> dict[str, Any] | None:
        """What SPF, DKIM and DMARC say of the claimed sender (None when verification is off). Only a
        member's reply gets here: strangers are refused first, without a DNS lookup on their behalf."""
        if self.verifier is None:
            return None
        result = await self.verifier.verify(
            raw,
            client_ip=client_ip(session),
            helo=session.host_name or "",
            mail_from=envelope.mail_from or "",
        )
        log.info(
            "sender checked", aligned=result.aligned, spf=result.spf, dkim=result.dkim, dmarc=result.dmarc
        )
        return result.to_json()

    async def handle_exception(self, error: Exception) -> str:
        log.error("smtp session error", error_type=type(error).__name__)
        return reply.INTERNAL_ERROR

    async def _refuse(self, session: Any, envelope: Any, stage: str, address: str | None, answer: str) -> str:
        return await self.refusals.refuse(
            session, stage=stage, answer=answer, sender=envelope.mail_from, address=address
        )

    def session_closed(self, session: Any) -> None:
        self.refusals.closed(session)
