"""The people a message is about, as the roster knows them.

These types are shared by the directory (gateway), which builds them from a OneRoster import, and by the
policy rules, which read them. They live here because policies must not import the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Role(StrEnum):
    """A person's role for Chaperone; OneRoster's finer roles are kept in ``Person.roster_role``."""

    STAFF = "staff"  # OneRoster teacher, administrator, aide, proctor
    STUDENT = "student"
    GUARDIAN = "guardian"  # OneRoster parent, guardian, relative


ADULT_AGE = 18


@dataclass(frozen=True, slots=True)
class Person:
    """One roster row. A human with two rows (a teacher who is also a parent) is two Persons."""

    person_id: str  # OneRoster sourcedId
    role: Role
    roster_role: str  # the OneRoster role as imported: teacher, administrator, aide, student, parent, ...
    given_name: str
    family_name: str
    email: str | None = None  # lower-cased
    sms: str | None = None  # E.164
    phone: str | None = None  # E.164; a landline is not SMS-capable
    schools: tuple[str, ...] = ()  # org sourcedIds
    grades: tuple[str, ...] = ()
    birth_date: date | None = None  # students, from demographics.csv
    guardian_ids: tuple[str, ...] = ()  # a student's guardians
    student_ids: tuple[str, ...] = ()  # a guardian's students
    class_ids: tuple[str, ...] = ()  # classes taught (staff) or taken (students)
    supervisor_ids: tuple[str, ...] = ()  # staff: overlay, else their schools' administrators

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def is_adult_on(self, day: date) -> bool:
        """Students without a birth date are treated as minors: the protective default."""
        age = self.age_on(day)
        return age is not None and age >= ADULT_AGE


class Roster(Protocol):
    """What the policy rules may ask of the district directory. The gateway's Directory implements it."""

    def person(self, person_id: str) -> Person | None: ...

    def by_email(self, address: str) -> Person | None: ...

    def by_phone(self, number: str) -> tuple[Person, ...]:
        """Everyone with this E.164 number as sms or phone; one human may have two rows."""
        ...

    def students(self) -> Iterable[Person]: ...

    def guardians_of(self, student: Person) -> tuple[Person, ...]: ...

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]: ...

    def students_named(self, name: str) -> tuple[Person, ...]:
        """Students whose given, family or full name this is, ignoring case and accents: how content
        rules tell whose information a message talks about."""
        ...


@runtime_checkable
class NamesAdults(Protocol):
    """A roster that can also say which staff and guardians go by a name (the gateway's Directory): a
    name it knows only for adults is not a student's, where a rule would otherwise take an unrostered
    given name for a child's."""

    def adults_named(self, name: str) -> tuple[Person, ...]: ...
