"""Who gets a copy of a text, and how: the other side of the session by text from its relay number, and a
minor student's guardians a copy of every text in both directions, prefixed with who wrote to whom. A
guardian without a mobile number gets the copy by e-mail; one with neither, or who said STOP on the
session's number, is archived as unreachable. Supervisors see texts in the archive, as every record."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from archive.models import SmsSession
from gateway.config import Settings
from gateway.directory import Directory
from gateway.fanout import FanoutPlan
from gateway.models import Channel, Copy, Purpose, Unreachable
from gateway.notices import compose
from policies.message import Message
from policies.parties import Person, Role

_GIST_CHARS = 240  # with the rest, two or three segments


def plan_text(
    session: SmsSession,
    author: Person,
    recipient: tuple[Person, str],
    text: str,
    *,
    directory: Directory,
    settings: Settings,
    opted_out: Collection[tuple[str, str]],
    message_id: str,
    today: date,
) -> FanoutPlan:
    plan = FanoutPlan()
    person, phone = recipient
    relay = session.relay_number
    to_staff = person.role is Role.STAFF
    student = _student_of(session, directory)
    if (phone, relay) in opted_out:
        plan.unreachable.append(Unreachable(person, student or person, f"said STOP to {relay}"))
    else:
        purpose = Purpose.REPLY if to_staff else Purpose.FAMILY
        plan.copies.append(Copy(purpose, (phone,), (phone,), channel=Channel.SMS, sender=relay))
    if student is None or (student.is_adult_on(today) and not settings.fanout.adult_student_guardians):
        return plan
    prefix = f"{author.display_name} to {person.display_name}: "
    in_session = {p.person_id: p.phone for p in session.participants}
    # The family sees the whole conversation: the student a guardian's text to the staff member too.
    for member in (student, *directory.guardians_of(student)):
        if member.person_id in (author.person_id, person.person_id):
            continue
        number = in_session.get(member.person_id)
        if number is not None and (number, relay) not in opted_out:
            texted = (number,)
            plan.copies.append(
                Copy(Purpose.FAMILY, texted, texted, channel=Channel.SMS, sender=relay, prefix=prefix)
            )
        elif member.email is not None:
            plan.copies.append(_emailed(member.email, prefix, text, message_id, settings))
        else:
            why = "said STOP to " + relay if number is not None else "no mobile number or e-mail"
            plan.unreachable.append(Unreachable(member, student, why))
    return plan


def gist(message: Message, sender: Person, settings: Settings) -> str:
    """The text a guardian without e-mail gets about an e-mail to their family: who wrote, the subject,
    the start of it, and where the whole message is kept."""
    words = " ".join(message.body.split())
    start = words[:_GIST_CHARS] + ("…" if len(words) > _GIST_CHARS else "")
    subject = f'"{message.subject}" ' if message.subject else ""
    return (
        f"{settings.district.name}: {sender.display_name} e-mailed your family {subject}- {start}\n"
        "The whole message is kept by the school; ask the school office to read it."
    )


def _student_of(session: SmsSession, directory: Directory) -> Person | None:
    contact = directory.person(session.contact_id)
    return contact if contact is not None and contact.role is Role.STUDENT else None


def _emailed(address: str, prefix: str, text: str, message_id: str, settings: Settings) -> Copy:
    """A text's copy for a guardian without a mobile number: an e-mail the relay writes."""
    content = compose(
        sender=settings.delivery.bounce_from,
        to=(address,),
        subject=f"Text message: {prefix.rstrip(': ')}",
        text=f"{prefix}{text}\n\n(A copy of a text message sent through {settings.district.name}'s relay.)\n",
        about=message_id,
        domain=settings.district.relay_domain,
    )
    to = (address,)
    return Copy(Purpose.FAMILY, to, to, channel=Channel.EMAIL, sender="", content=content)
