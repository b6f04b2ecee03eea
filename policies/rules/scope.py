"""Scope: staff write to students of the schools they work at; district-level staff may write to any.

A teacher at the high school messaging a middle-schooler they have no role with is worth a supervisor's
look (flag by default; a district can make it hold in its pack). District-level staff are those with an
organisation that is not a school (the compliance officer belongs to the district org only), or an org the
pack names in ``district_orgs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from policies.context import Context
from policies.message import Message
from policies.parties import Person, Roster
from policies.rules import Hit


class ScopeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    district_orgs: tuple[str, ...] = ()  # org sourcedIds whose staff may write to every school


@runtime_checkable
class KnowsSchools(Protocol):
    """A directory that knows org types (OneRoster orgs.csv) answers this; otherwise students tell us."""

    def is_school(self, org_id: str) -> bool: ...


@runtime_checkable
class NamesSchools(Protocol):
    def school_name(self, org_id: str) -> str | None: ...


class Scope:
    id = "scope"
    category = "scope"
    description = "Staff writing to a student of a school they do not work at."
    Options = ScopeOptions

    def __init__(self, options: ScopeOptions | None = None) -> None:
        self.options = options if options is not None else ScopeOptions()
        self._schools_of: tuple[Roster, frozenset[str]] | None = None

    def check(self, message: Message, context: Context) -> Iterable[Hit]:
        staff = message.sender.person
        if staff is None or not message.sender_is_staff:
            return ()
        students = [
            s for s in message.student_recipients if s.schools and not set(s.schools) & set(staff.schools)
        ]
        if not students or self._district_level(staff, context.roster):
            return ()
        roster = context.roster
        works_at = _schools(staff.schools, roster) or "no school"
        return [
            Hit(
                reason=(
                    f"{staff.display_name} ({works_at}) writes to {student.display_name}, "
                    f"a student of {_schools(student.schools, roster)}, a school they do not work at."
                )
            )
            for student in students
        ]

    def _district_level(self, staff: Person, roster: Roster) -> bool:
        if set(staff.schools) & set(self.options.district_orgs):
            return True
        if isinstance(roster, KnowsSchools):
            return any(not roster.is_school(org) for org in staff.schools)
        return any(org not in self._schools(roster) for org in staff.schools)

    def _schools(self, roster: Roster) -> frozenset[str]:
        """Orgs some student attends: the schools. Remembered for the roster object last seen, since a
        district's roster is one object that is replaced, not edited, when it is re-imported."""
        if self._schools_of is None or self._schools_of[0] is not roster:
            self._schools_of = (
                roster,
                frozenset(org for student in roster.students() for org in student.schools),
            )
        return self._schools_of[1]


def _schools(org_ids: tuple[str, ...], roster: Roster) -> str:
    if isinstance(roster, NamesSchools):
        return ", ".join(roster.school_name(org) or org for org in org_ids)
    return ", ".join(org_ids)
