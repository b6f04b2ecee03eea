"""Who may see what of the archive: each person's window, decided in one place for every edge (the
portal, its JSON API, the command line).

- The compliance officer (``[district] compliance_contact``) sees everything.
- A principal (a OneRoster administrator) sees the messages of their schools' staff and students.
- Other staff see the conversations they are a party to.
- A guardian sees the conversations of their own children.
- Students have no window on the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.config import Settings
from gateway.directory import Directory
from policies.parties import Person, Role


class Window(StrEnum):
    COMPLIANCE = "compliance"
    PRINCIPAL = "principal"
    STAFF = "staff"
    GUARDIAN = "guardian"


class NoWindow(Exception):
    """This person may not read the archive at all."""


@dataclass(frozen=True, slots=True)
class Viewer:
    person: Person
    window: Window
    scope: tuple[str, ...] | None  # search-index keys, any of which lets a message in (None: all)

    @property
    def may_review(self) -> bool:
        """Supervisors decide on held messages: the compliance officer and principals."""
        return self.window in (Window.COMPLIANCE, Window.PRINCIPAL)

    def sees(self, keys: tuple[str, ...]) -> bool:
        return self.scope is None or not set(self.scope).isdisjoint(keys)


def viewer(person: Person, settings: Settings, directory: Directory) -> Viewer:
    compliance = (settings.district.compliance_contact or "").lower()
    if person.role is Role.STAFF and person.email and person.email == compliance:
        return Viewer(person, Window.COMPLIANCE, None)
    if person.role is Role.STAFF and person.roster_role == "administrator":
        return Viewer(person, Window.PRINCIPAL, tuple(f"school:{s}" for s in person.schools))
    if person.role is Role.STAFF:
        return Viewer(person, Window.STAFF, (f"person:{person.person_id}",))
    if person.role is Role.GUARDIAN:
        children = [c for c in person.student_ids if directory.person(c) is not None]
        return Viewer(person, Window.GUARDIAN, tuple(f"person:{c}" for c in children))
    raise NoWindow(f"{person.display_name or person.person_id} has no window on the archive")
