"""Masked-number sessions, as Twilio Proxy keeps them: a conversation between one staff member and one
contact (a student, or a guardian), with a minor student's guardians beside them, is bound to one relay
number from the district's pool. The number is chosen so that none of the participants has another active
session on it; then a text from a participant's phone to that number names the session, and so the other
side, without anyone ever seeing another's personal number.

A participant who said STOP on a number is never given a new session on it: one family's STOP on one number
does not cut them off from the district, whose other numbers still reach them. A session with no text for
``[sms] session_idle_hours`` is over, and its number is free for its participants again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from archive.changes import Changes
from archive.models import SmsParticipant, SmsSession
from archive.store import Store
from gateway.config import Sms
from gateway.models import new_id
from policies.parties import Person


class NoFreeNumber(Exception):
    """Every relay number already carries a session of one of the participants (or they said STOP)."""


def free_numbers(
    pool: Sequence[str],
    phones: Collection[str],
    active: Iterable[SmsSession],
    opted_out: Collection[tuple[str, str]],
) -> list[str]:
    """The pool's numbers, in pool order, on which none of ``phones`` takes part in an ``active`` session
    or has said STOP."""
    taken = {s.relay_number for s in active if any(p.phone in phones for p in s.participants)}
    stopped = {relay for phone, relay in opted_out if phone in phones}
    return [number for number in pool if number not in taken and number not in stopped]


@dataclass(frozen=True, slots=True)
class Party:
    """A participant as the planner sees it: who, and the mobile number they text from."""

    person: Person
    phone: str


class SessionPool:
    def __init__(self, store: Store, settings: Sms) -> None:
        self.store = store
        self.pool = tuple(settings.relay_numbers)
        self.idle_seconds = settings.session_idle_hours * 3600

    def active_after(self, now: float) -> float:
        return now - self.idle_seconds

    async def find(self, relay_number: str, phone: str, now: float) -> SmsSession | None:
        """The active session that ``phone`` takes part in on ``relay_number``: at most one."""
        found = await self.store.sms_sessions(
            [phone], active_after=self.active_after(now), relay_number=relay_number
        )
        return found[0] if found else None

    async def between(self, staff: Party, contact: Person, now: float) -> SmsSession | None:
        """The staff member's active session with this contact, on whichever number."""
        found = await self.store.sms_sessions([staff.phone], active_after=self.active_after(now))
        return next(
            (s for s in found if s.staff_id == staff.person.person_id and s.contact_id == contact.person_id),
            None,
        )

    async def open(
        self, writes: Changes, staff: Party, contact: Party, family: Sequence[Party], now: float
    ) -> SmsSession:
        """A new session on a free number, written into ``writes`` (guarded: if another instance takes
        the number first, the commit raises ``Conflict`` and the caller opens again)."""
        parties = [staff, contact, *(g for g in family if g.phone not in (staff.phone, contact.phone))]
        phones = {p.phone for p in parties}
        after = self.active_after(now)
        active = await self.store.sms_sessions(phones, active_after=after)
        free = free_numbers(self.pool, phones, active, await self.store.opted_out(phones))
        if not free:
            raise NoFreeNumber(
                f"all {len(self.pool)} relay numbers carry a conversation of yours or of "
                f"{contact.person.display_name}'s; one frees up after "
                f"{self.idle_seconds / 3600:g} hours without a text"
            )
        session = SmsSession(
            session_id=new_id("sms-"),
            relay_number=free[0],
            staff_id=staff.person.person_id,
            contact_id=contact.person.person_id,
            participants=tuple(SmsParticipant(p.phone, p.person.person_id) for p in parties),
            opened_at=now,
            last_active=now,
        )
        writes.open_sms_session(session, active_after=after)
        return session
