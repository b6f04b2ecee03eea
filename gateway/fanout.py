"""Transparency fan-out: who gets a copy of a staff member's message, and what each copy shows.

Every seed policy asks that staff–student communication be visible to supervisors and to parents. Each
family (a student, their guardians, and any siblings addressed in the same message) gets its own copy that
shows only the staff member, that family and the supervisors: a guardian's address is student information
and never appears in another family's copy.

Copies are planned per party and per channel: a guardian with no e-mail address but an SMS number gets a
copy by SMS where the relay has that channel (``channels``), and is archived as unreachable where it has not.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from archive.randomness import random_bytes
from gateway.config import Fanout
from gateway.models import Channel, Conversation, Copy, Purpose, Recipient, Unreachable
from policies.parties import Person, Role, Roster


def conversation_token() -> str:
    return b32encode(random_bytes(15)).decode().lower()


@dataclass
class FanoutPlan:
    copies: list[Copy] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)

    @property
    def conversations(self) -> list[Conversation]:
        return [c.conversation for c in self.copies if c.conversation is not None]


@dataclass
class _Family:
    students: list[Person] = field(default_factory=list)
    guardians: list[Person] = field(default_factory=list)  # addressed directly or copied


def plan_fanout(
    sender: Person,
    recipients: Sequence[Recipient],
    roster: Roster,
    settings: Fanout,
    relay_domain: str,
    today: date,
    channels: frozenset[Channel] = frozenset({Channel.EMAIL}),
) -> FanoutPlan:
    plan = FanoutPlan()
    families = _group_families(recipients, roster)
    direct = [r.person for r in recipients if not _in_family(r.person, families)]
    supervisors = _supervisors(sender, roster) if (families or _any(direct, Role.GUARDIAN)) else []
    shown_supervisors = tuple(_addresses(supervisors)) if settings.mode == "cc" else ()

    for family in families:
        copied = list(family.guardians)
        for student in family.students:
            if student.is_adult_on(today) and not settings.adult_student_guardians:
                continue
            for guardian in roster.guardians_of(student):
                if guardian.email is not None:
                    if guardian not in copied:
                        copied.append(guardian)
                elif guardian.sms is not None and Channel.SMS in channels:
                    texted = (guardian.sms,)
                    plan.copies.append(Copy(Purpose.FAMILY, texted, texted, channel=Channel.SMS))
                    if guardian not in copied:
                        copied.append(guardian)  # a member of the conversation; no e-mail address shown
                else:
                    plan.unreachable.append(
                        Unreachable(guardian, student, _unreachable_by(guardian, channels))
                    )
        conversation = Conversation(conversation_token(), sender, tuple(family.students), tuple(copied))
        reply_to = f"c-{conversation.token}@{relay_domain}"
        students = tuple(_addresses(family.students))
        guardians = tuple(_addresses(copied))
        if settings.mode == "separate":
            if students:
                plan.copies.append(Copy(Purpose.FAMILY, students, students, (), reply_to, conversation))
            if guardians:
                plan.copies.append(Copy(Purpose.FAMILY, guardians, guardians, (), reply_to, None))
            continue
        # cc shows the family's guardians and the supervisors to the student; bcc shows no one.
        to = students or guardians
        cc = (guardians if students else ()) + shown_supervisors
        plan.copies.append(Copy(Purpose.FAMILY, students + guardians, to, cc, reply_to, conversation))

    if direct:
        addresses = tuple(_addresses(direct))
        cc = shown_supervisors if _any(direct, Role.GUARDIAN) else ()
        plan.copies.append(Copy(Purpose.DIRECT, addresses, addresses, cc))
    if supervisors:
        everyone = tuple(r.address for r in recipients)
        to = tuple(_addresses(supervisors)) if settings.mode == "separate" else everyone
        plan.copies.append(Copy(Purpose.SUPERVISORS, tuple(_addresses(supervisors)), to, shown_supervisors))
    return plan


def _unreachable_by(guardian: Person, channels: frozenset[Channel]) -> str:
    if Channel.SMS not in channels and guardian.sms is not None:
        return "guardian has no e-mail address (an SMS number, but the relay sends no SMS)"
    return "guardian has no e-mail address" + (" and no SMS number" if Channel.SMS in channels else "")


def _group_families(recipients: Sequence[Recipient], roster: Roster) -> list[_Family]:
    """Students addressed together who share a guardian are one family; a guardian addressed directly
    joins the family of their student when that student is addressed too."""
    students = [r.person for r in recipients if r.person.role is Role.STUDENT]
    families: list[_Family] = []
    by_guardian: dict[str, _Family] = {}
    for student in _unique(students):
        guardian_ids = set(student.guardian_ids)
        family = next((by_guardian[g] for g in guardian_ids if g in by_guardian), None)
        if family is None:
            family = _Family()
            families.append(family)
        family.students.append(student)
        for guardian_id in guardian_ids:
            by_guardian[guardian_id] = family
    for recipient in recipients:
        person = recipient.person
        if person.role is Role.GUARDIAN and person.person_id in by_guardian:
            family = by_guardian[person.person_id]
            if person not in family.guardians:
                family.guardians.append(person)
    return families


def _in_family(person: Person, families: list[_Family]) -> bool:
    return any(person in f.students or person in f.guardians for f in families)


def _supervisors(sender: Person, roster: Roster) -> list[Person]:
    return [s for s in roster.supervisors_of(sender) if s.email]


def _any(people: Sequence[Person], role: Role) -> bool:
    return any(p.role is role for p in people)


def _addresses(people: Sequence[Person]) -> list[str]:
    return [p.email for p in _unique(people) if p.email]


def _unique(people: Sequence[Person]) -> list[Person]:
    seen: dict[str, Person] = {}
    for person in people:
        seen.setdefault(person.person_id, person)
    return list(seen.values())


def plan_reply(
    author: Person,
    staff: Person,
    member_ids: Sequence[str],
    roster: Roster,
    settings: Fanout,
) -> FanoutPlan:
    """A student's or guardian's reply goes to the staff member, seen by the family and the supervisors."""
    family = [p for p in (roster.person(i) for i in member_ids) if p is not None and p != author]
    supervisors = _supervisors(staff, roster)
    others = tuple(_addresses(family)) + tuple(_addresses(supervisors))
    to = tuple(_addresses([staff]))
    cc = others if settings.mode == "cc" else ()
    return FanoutPlan(copies=[Copy(Purpose.REPLY, to + others, to, cc)])
