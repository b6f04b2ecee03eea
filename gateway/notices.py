"""Messages the relay writes itself: telling a sender that their message waits, and alerting supervisors.

Each is composed here as plain text and queued in the same commit as the message it is about, so it is
sent exactly when that commit happened, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from archive.changes import Changes
from archive.models import QueuedDelivery
from archive.records import Record, RecordKind
from gateway import queue
from gateway.config import Settings
from gateway.models import Purpose
from policies.decision import Action, Decision

# UTF-8 text as quoted-printable: readable in the raw message, safe on any transport.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_CRLF = compat32.clone(linesep="\r\n")


def compose(*, sender: str, to: Sequence[str], subject: str, text: str, about: str, domain: str) -> bytes:
    """A plain-text message from the relay. The stdlib's compat32 classes, not ``EmailMessage``: the
    modern header registry costs four times as much, and a text's e-mail copy is composed per text."""
    message = MIMENonMultipart("text", "plain")
    message.set_payload(text, _UTF8)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Chaperone-About"] = about
    return message.as_bytes(policy=_CRLF)


def queue_relay_mail(
    writer: Changes,
    settings: Settings,
    *,
    about: str,
    to: tuple[str, ...],
    subject: str,
    text: str,
    purpose: Purpose,
    now: float,
) -> None:
    """Compose a relay-written message about message ``about`` and queue it inside the caller's commit."""
    raw = compose(
        sender=settings.delivery.bounce_from,
        to=to,
        subject=subject,
        text=text,
        about=about,
        domain=settings.district.relay_domain,
    )
    queue.enqueue_generated(
        writer,
        message_id=about,
        recipients=to,
        raw=raw,
        purpose=str(purpose),
        now=now,
        lifetime_seconds=settings.delivery.lifetime_hours * 3600,
    )
    kind = RecordKind.NOTICE if purpose is Purpose.NOTICE else RecordKind.ALERT
    writer.append(Record(kind, about, {"to": list(to), "subject": subject}))


def queue_relay_text(
    writer: Changes,
    settings: Settings,
    *,
    about: str,
    relay_number: str,
    to: str,
    text: str,
    now: float,
    claim: Callable[[QueuedDelivery, float], QueuedDelivery] | None = None,
) -> QueuedDelivery:
    """A text the relay writes to a sender (a notice) from one of its numbers, queued inside the
    caller's commit, claimed by ``claim`` first when this process's workers are to be handed it."""
    delivery = queue.text_from_relay(
        writer, message_id=about, relay_number=relay_number, to=to, text=text, now=now,
        lifetime_seconds=settings.delivery.lifetime_hours * 3600,
    )  # fmt: skip
    if claim is not None:
        delivery = claim(delivery, now)
    queue.enqueue(writer, delivery)
    writer.append(Record(RecordKind.NOTICE, about, {"to": [to], "text": text}))
    return delivery


def sender_notice(
    decision: Decision, *, subject: str, recipients: Sequence[str], zone: ZoneInfo
) -> tuple[str, str]:
    """(subject, text) telling a staff member what happens to their message, or why it waits."""
    to = ", ".join(recipients)
    if decision.action is Action.DEFER and decision.release_at is not None:
        when = decision.release_at.astimezone(zone).strftime("%A %d %B at %H:%M")
        return (
            f"Scheduled: {subject}",
            f'Your message "{subject}" to {to} was accepted and will be delivered on {when} '
            f"({zone.key} time).\n\nWhy: {decision.explain_to_sender()}\n\n"
            "If it cannot wait, send it again with the header X-Chaperone-Urgent: <reason>; urgent messages "
            "go out at once and are listed for your supervisor's review.\n",
        )
    return (
        f"Held for review: {subject}",
        f'Your message "{subject}" to {to} was accepted and is held until a supervisor reviews it. '
        "Nothing has been delivered yet; you will hear back when it is approved or rejected.\n\n"
        f"Why: {decision.explain_to_sender()}\n",
    )


def supervisor_alert(
    decision: Decision, *, message_id: str, sender: str, recipients: Sequence[str], review_url: str
) -> tuple[str, str]:
    """(subject, text) alerting supervisors at once to threat, sexual or secrecy findings."""
    categories = sorted({f.category for f in decision.findings if f.escalate})
    lines = [
        f"A message from {sender} to {', '.join(recipients)} was held by Chaperone because of: "
        f"{', '.join(categories)}.",
        "",
        "Findings:",
    ]
    for finding in decision.findings:
        quote = f' "{finding.evidence}"' if finding.evidence else ""
        lines.append(f"  - {finding.category}:{quote} ({finding.reason}; policy: {finding.citation})")
    lines += [
        "",
        f"Review it: {review_url.rstrip('/')}/{message_id}",
        f"or on the relay: chaperone review show {message_id}",
        "",
        "Nothing was delivered. A person must decide what happens next, including whether this must be",
        "reported to law enforcement or child protective services.",
    ]
    return f"[Chaperone alert] {', '.join(categories)}: message held for review", "\n".join(lines) + "\n"
