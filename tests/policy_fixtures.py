"""The sample district's fixture people (shared/district-sample/README.md) and messages between them.

The policy tests use ``FixtureRoster`` so they run without the gateway's OneRoster import;
``sample_roster()`` prefers the real directory when it can be built, so the same tests hold against it.
``Sender`` writes messages the way the gateway hands them to the engine, addresses resolved on the roster.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from policies.context import Context
from policies.message import Attachment, Message, Party
from policies.parties import Person, Role, Roster

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_DISTRICT = SHARED / "district-sample"
CHICAGO = ZoneInfo("America/Chicago")


def _staff(
    pid: str,
    roster_role: str,
    name: str,
    email: str,
    sms: str | None,
    org: str,
    classes: tuple[str, ...] = (),
    supervisors: tuple[str, ...] = (),
) -> Person:
    given, family = name.split()
    return Person(
        pid,
        Role.STAFF,
        roster_role,
        given,
        family,
        email=email,
        sms=sms,
        schools=(org,),
        class_ids=classes,
        supervisor_ids=supervisors,
    )


def _student(
    pid: str,
    name: str,
    email: str | None,
    sms: str | None,
    org: str,
    grade: str,
    born: date,
    guardians: tuple[str, ...],
    classes: tuple[str, ...],
) -> Person:
    given, family = name.split()
    return Person(
        pid,
        Role.STUDENT,
        "student",
        given,
        family,
        email=email,
        sms=sms,
        schools=(org,),
        grades=(grade,),
        birth_date=born,
        guardian_ids=guardians,
        class_ids=classes,
    )


def _guardian(
    pid: str,
    name: str,
    email: str | None,
    students: tuple[str, ...],
    schools: tuple[str, ...],
    sms: str | None = None,
    phone: str | None = None,
) -> Person:
    given, family = name.split()
    return Person(
        pid,
        Role.GUARDIAN,
        "parent",
        given,
        family,
        email=email,
        sms=sms,
        phone=phone,
        schools=schools,
        student_ids=students,
    )


NHS, LMS, PES = ("org-nhs",), ("org-lms",), ("org-pes",)
PEOPLE: tuple[Person, ...] = (
    _staff("a-field", "administrator", "Rosa Field", "rfield@nusd.example.org", None, "org-nusd"),
    _staff("a-brooks", "administrator", "Alan Brooks", "abrooks@nusd.example.org", "+12025550114", "org-nhs",
           supervisors=("a-field",)),
    _staff("a-nguyen", "administrator", "Thu Nguyen", "tnguyen@nusd.example.org", "+12025550115", "org-lms",
           supervisors=("a-field",)),
    _staff("a-ellis", "administrator", "Grace Ellis", "gellis@nusd.example.org", None, "org-pes",
           supervisors=("a-field",)),
    _staff("t-reyes", "teacher", "Dana Reyes", "dreyes@nusd.example.org", "+12025550111", "org-nhs",
           ("class-bio10",), ("a-brooks",)),
    _staff("t-okafor", "teacher", "Chris Okafor", "cokafor@nusd.example.org", "+12025550112", "org-nhs",
           ("class-pe10", "class-soccer"), ("a-brooks",)),
    _staff("t-lindqvist", "teacher", "Mara Lindqvist", "mlindqvist@nusd.example.org", "+12025550113",
           "org-lms", ("class-math7",), ("a-nguyen",)),
    _staff("aide-wu", "aide", "Kevin Wu", "kwu@nusd.example.org", None, "org-pes",
           ("class-read3",), ("a-ellis",)),
    _student("s-patel", "Sam Patel", "spatel@students.nusd.example.org", "+12025550121", "org-nhs", "10",
             date(2010, 5, 14), ("g-patel-1", "g-patel-2"), ("class-bio10", "class-pe10", "class-soccer")),
    _student("s-kim", "Jordan Kim", "jkim@students.nusd.example.org", "+12025550122", "org-nhs", "12",
             date(2008, 3, 2), ("g-kim",), ("class-pe10", "class-soccer")),
    _student("s-ito", "Mei Ito", "mito@students.nusd.example.org", None, "org-nhs", "10",
             date(2010, 11, 8), ("g-ito",), ("class-bio10",)),
    _student("s-garcia", "Luis Garcia", "lgarcia@students.nusd.example.org", None, "org-lms", "07",
             date(2013, 10, 21), ("g-garcia",), ("class-math7",)),
    _student("s-garcia-2", "Elena Garcia", None, None, "org-pes", "03",
             date(2018, 1, 30), ("g-garcia",), ("class-read3",)),
    _student("s-okafor", "Tobi Okafor", "tokafor@students.nusd.example.org", None, "org-lms", "07",
             date(2014, 4, 9), ("g-okafor",), ("class-math7",)),
    _student("s-nophone", "Ava Stone", "astone@students.nusd.example.org", None, "org-nhs", "11",
             date(2009, 12, 1), ("g-stone",), ("class-pe10", "class-soccer")),
    _guardian("g-patel-1", "Priya Patel", "priya.patel@example.net", ("s-patel",), NHS, sms="+12025550131"),
    _guardian("g-patel-2", "Raj Patel", "raj.patel@example.com", ("s-patel",), NHS),
    _guardian("g-kim", "Helen Kim", "helen.kim@example.org", ("s-kim",), NHS, sms="+12025550132"),
    _guardian("g-ito", "Kenji Ito", None, ("s-ito",), NHS),
    _guardian("g-garcia", "Ana Garcia", "ana.garcia@example.org", ("s-garcia", "s-garcia-2"), LMS + PES,
              sms="+12025550133"),
    _guardian("g-okafor", "Chris Okafor", "chris.okafor@example.com", ("s-okafor",), LMS, sms="+12025550112"),
    _guardian("g-stone", "Mark Stone", "mark.stone@example.com", ("s-nophone",), NHS, phone="+12025550134"),
)  # fmt: skip


class FixtureRoster:
    """A Roster over a fixed list of people: enough for rules, not a directory."""

    def __init__(self, people: Iterable[Person] = PEOPLE) -> None:
        self._people = {p.person_id: p for p in people}

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def by_email(self, address: str) -> Person | None:
        address = address.lower()
        return next((p for p in self._people.values() if p.email == address), None)

    def by_phone(self, number: str) -> tuple[Person, ...]:
        return tuple(p for p in self._people.values() if number in (p.sms, p.phone))

    def students(self) -> Iterable[Person]:
        return [p for p in self._people.values() if p.role is Role.STUDENT]

    def guardians_of(self, student: Person) -> tuple[Person, ...]:
        return tuple(g for gid in student.guardian_ids if (g := self._people.get(gid)) is not None)

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]:
        return tuple(s for sid in staff.supervisor_ids if (s := self._people.get(sid)) is not None)

    def students_named(self, name: str) -> tuple[Person, ...]:
        key = _name_key(name)
        return tuple(
            p
            for p in self.students()
            if key and key in {_name_key(p.given_name), _name_key(p.family_name), _name_key(p.display_name)}
        )


def _name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def sample_roster() -> Roster:
    """The real directory of the sample district when the roster import is installed, else the fixtures."""
    try:
        from adapters.roster_import import import_roster  # the gateway's OneRoster import, if present
    except ImportError:
        return FixtureRoster()
    roster: Roster = import_roster(SAMPLE_DISTRICT).directory
    return roster


def context(roster: Roster, closed: Iterable[date] = (), consent: Iterable[str] = ()) -> Context:
    """The district as the gateway would describe it: Chicago time, its closures, its consent records."""
    return Context(
        roster=roster, timezone=CHICAGO, closed_days=frozenset(closed), media_consent=frozenset(consent)
    )


def chicago(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def party(address: str, roster: Roster) -> Party:
    if "@" in address:
        return Party(address.lower(), roster.by_email(address))
    # One number, two rows (the coach is also a parent): the relay knows staff by their devices.
    people = sorted(roster.by_phone(address), key=lambda p: p.role is not Role.STAFF)
    return Party(address, people[0] if people else None)


def message(
    roster: Roster,
    sender: str,
    to: list[str],
    at: datetime,
    body: str = "See you in class.",
    subject: str = "",
    attachments: tuple[tuple[str, str], ...] = (),
    urgent: str | None = None,
    pictured: tuple[str, ...] = (),
) -> Message:
    return Message(
        message_id="<test@nusd.example.org>",
        channel="sms" if sender.startswith("+") else "email",
        sender=party(sender, roster),
        recipients=tuple(party(address, roster) for address in to),
        sent_at=at,
        subject=subject,
        body=body,
        attachments=tuple(Attachment(name, kind) for name, kind in attachments),
        urgent=urgent,
        pictured=pictured,
    )
