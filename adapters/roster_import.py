"""Importing a OneRoster folder into a ``Directory``: how the rows fit together.

adapters/oneroster.py reads the files; this turns the rows into ``Person`` records and checks how they fit:
an enrollment in a class that does not exist, a guardian link to someone who is not on the roster, a number
that is not a phone number. Each such problem is reported as ``file:line: reason``; the row is skipped, or,
when only one value in it is unusable, kept without that value, because a guardian without a phone number
should still get e-mailed copies.

Staff whom the roster leaves without a supervisor, and supervisor cycles, are not bad rows (the district's
compliance officer has no one above her) but they leave a staff member's mail to students without a
district-side copy, so they are listed as warnings, and the directory is given the compliance contact to
stand in for the missing supervisor (gateway/directory.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from adapters import oneroster
from adapters.oneroster import Problem, RosterError, RosterFiles, UserRow
from gateway.directory import ROLE_OF, Directory, e164
from policies.parties import Person, Role

__all__ = ["RosterError", "RosterImport", "import_roster"]


@dataclass(frozen=True)
class RosterImport:
    directory: Directory
    problems: list[str] = field(default_factory=list)
    # Not bad rows, but what leaves someone's mail without a district-side copy; --strict lets them pass.
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return self.directory.counts()


def import_roster(
    folder: Path, *, strict: bool = False, supervisor_fallback: str | None = None
) -> RosterImport:
    """Import a OneRoster 1.1 CSV folder. Bad rows are reported and skipped; in strict mode any bad row
    raises ``RosterError`` listing them all, as does a folder that is not a usable export.

    ``supervisor_fallback`` is the e-mail address of the staff member (the compliance contact) who stands
    in as supervisor for staff without one and for staff in a supervisor cycle; None for no one."""
    files = oneroster.read_roster(folder)
    assembly = _Assembly(files)
    directory = assembly.directory(supervisor_fallback)
    problems = sorted(files.problems + assembly.problems, key=_reading_order)
    if strict and problems:
        raise RosterError(problems)
    warnings = _supervision_warnings(directory, supervisor_fallback)
    return RosterImport(directory, [str(problem) for problem in problems], warnings)


def _reading_order(problem: Problem) -> tuple[int, str, int]:
    position = oneroster.FILES.index(problem.file) if problem.file in oneroster.FILES else -1
    return position, problem.file, problem.line


@dataclass
class _Draft:
    """A person while the import is still linking rows together."""

    row: UserRow
    role: Role
    email: str | None
    sms: str | None
    phone: str | None
    schools: tuple[str, ...]
    agents: dict[str, None] = field(default_factory=dict)  # an ordered set of linked sourcedIds
    class_ids: dict[str, None] = field(default_factory=dict)
    supervisor_ids: dict[str, None] = field(default_factory=dict)
    birth_date: date | None = None


class _Assembly:
    """Links the rows of one export into Persons, reporting what does not fit."""

    def __init__(self, files: RosterFiles) -> None:
        self.files = files
        self.problems: list[Problem] = []
        self.schools = {org.sourced_id: org.name for org in files.orgs}
        self.classes = {row.sourced_id: row.title for row in files.classes}
        self.drafts: dict[str, _Draft] = {}
        self.emails: dict[str, str] = {}  # e-mail → the sourcedId that gave it first

    def complain(self, where: str, reason: str) -> None:
        file, _, line = where.rpartition(":")
        self.problems.append(Problem(file, int(line), reason))

    def gone(self, file: str, sourced_id: str) -> bool:
        """Rows the export marks tobedeleted: references to them are dropped without a problem."""
        return sourced_id in self.files.deleted.get(file, set())

    def directory(self, supervisor_fallback: str | None) -> Directory:
        for section in self.files.classes:
            if section.school_id not in self.schools and not self.gone("orgs.csv", section.school_id):
                self.complain(section.where, f"school {section.school_id!r} is not among the imported orgs")
        for user in self.files.users:
            self._add_user(user)
        self._link_families()
        self._enroll()
        self._add_birth_dates()
        self._add_supervisors()
        people = (self._person(draft) for draft in self.drafts.values())
        fallback = self._staff_with(supervisor_fallback) if supervisor_fallback else None
        return Directory(people, schools=self.schools, classes=self.classes, supervisor_fallback=fallback)

    def _staff_with(self, address: str) -> str | None:
        """The sourcedId of the staff row with this e-mail address (as Directory.by_email finds it)."""
        address = address.strip().lower()
        found = (i for i, draft in self.drafts.items() if draft.role is Role.STAFF and draft.email == address)
        return next(found, None)

    def _add_user(self, row: UserRow) -> None:
        role = ROLE_OF.get(row.role)
        if role is None:
            self.complain(row.where, f"role {row.role!r} has no place in Chaperone")
            return
        schools = tuple(org for org in row.org_ids if org in self.schools)
        for org in row.org_ids:
            if org not in self.schools and not self.gone("orgs.csv", org):
                self.complain(row.where, f"org {org!r} is not among the imported orgs; imported without it")
        draft = _Draft(
            row,
            role,
            email=self._email(row),
            sms=self._number(row, "sms", row.sms),
            phone=self._number(row, "phone", row.phone),
            schools=schools,
        )
        self.drafts[row.sourced_id] = draft

    def _email(self, row: UserRow) -> str | None:
        address = row.email.lower()
        if not address:
            return None
        local, at, domain = address.rpartition("@")
        if not (local and at and "." in domain) or any(ch.isspace() or ch in "<>,;" for ch in address):
            self.complain(row.where, f"email {row.email!r} is not an e-mail address; imported without it")
            return None
        if address in self.emails:
            # Both rows keep the address (copies still reach it), but a lookup by it finds only one.
            self.complain(row.where, f"email {address} is also {self.emails[address]}'s")
        else:
            self.emails[address] = row.sourced_id
        return address

    def _number(self, row: UserRow, column: str, number: str) -> str | None:
        if not number:
            return None
        normal = e164(number)
        if normal is None:
            self.complain(row.where, f"{column} {number!r} is not a valid phone number; imported without it")
        return normal

    def _link_families(self) -> None:
        """agentSourcedIds, read from both sides: a student row may list guardians, a guardian row
        students, and an export may fill in only one of them."""
        for draft in self.drafts.values():
            if draft.role is Role.STAFF:
                if draft.row.agent_ids:
                    self.complain(draft.row.where, "staff rows have no agents; agentSourcedIds ignored")
                continue
            wanted = Role.GUARDIAN if draft.role is Role.STUDENT else Role.STUDENT
            for agent_id in draft.row.agent_ids:
                agent = self.drafts.get(agent_id)
                if agent is None:
                    if not self.gone("users.csv", agent_id):
                        self.complain(draft.row.where, f"agent {agent_id!r} is not on the roster")
                elif agent.role is not wanted:
                    self.complain(
                        draft.row.where,
                        f"agent {agent_id!r} is a {agent.row.role}, not a {_kind(wanted)}; link ignored",
                    )
                else:
                    draft.agents[agent_id] = None
                    agent.agents[draft.row.sourced_id] = None

    def _enroll(self) -> None:
        for row in self.files.enrollments:
            if row.class_id not in self.classes:
                if not self.gone("classes.csv", row.class_id):
                    self.complain(row.where, f"class {row.class_id!r} is not on the roster")
            elif row.user_id not in self.drafts:
                if not self.gone("users.csv", row.user_id):
                    self.complain(row.where, f"user {row.user_id!r} is not on the roster")
            else:
                self.drafts[row.user_id].class_ids[row.class_id] = None

    def _add_birth_dates(self) -> None:
        for row in self.files.demographics:
            draft = self.drafts.get(row.sourced_id)
            if draft is None:
                if not self.gone("users.csv", row.sourced_id):
                    self.complain(row.where, f"user {row.sourced_id!r} is not on the roster")
            else:
                draft.birth_date = row.birth_date

    def _add_supervisors(self) -> None:
        """The supervisors.csv overlay where it names someone's supervisors, else the administrators of
        their schools; never themself."""
        for row in self.files.supervisions:
            staff, supervisor = self.drafts.get(row.staff_id), self.drafts.get(row.supervisor_id)
            if self.gone("users.csv", row.staff_id) or self.gone("users.csv", row.supervisor_id):
                continue
            if staff is None or staff.role is not Role.STAFF:
                self.complain(row.where, f"{row.staff_id!r} is not a staff member on the roster")
            elif supervisor is None or supervisor.role is not Role.STAFF:
                self.complain(row.where, f"{row.supervisor_id!r} is not a staff member on the roster")
            elif row.staff_id == row.supervisor_id:
                self.complain(row.where, f"{row.staff_id!r} cannot supervise themself")
            else:
                staff.supervisor_ids[row.supervisor_id] = None
        administrators: dict[str, list[str]] = {}
        for sourced_id, draft in self.drafts.items():
            if draft.row.role == "administrator":
                for school in draft.schools:
                    administrators.setdefault(school, []).append(sourced_id)
        for sourced_id, draft in self.drafts.items():
            if draft.role is Role.STAFF and not draft.supervisor_ids:
                for school in draft.schools:
                    for administrator in administrators.get(school, ()):
                        if administrator != sourced_id:
                            draft.supervisor_ids[administrator] = None

    def _person(self, draft: _Draft) -> Person:
        row = draft.row
        return Person(
            person_id=row.sourced_id,
            role=draft.role,
            roster_role=row.role,
            given_name=row.given_name,
            family_name=row.family_name,
            email=draft.email,
            sms=draft.sms,
            phone=draft.phone,
            schools=draft.schools,
            grades=row.grades,
            birth_date=draft.birth_date,
            guardian_ids=tuple(draft.agents) if draft.role is Role.STUDENT else (),
            student_ids=tuple(draft.agents) if draft.role is Role.GUARDIAN else (),
            class_ids=tuple(draft.class_ids),
            supervisor_ids=tuple(draft.supervisor_ids),
        )


def _kind(role: Role) -> str:
    return "parent, guardian or relative" if role is Role.GUARDIAN else "student"


def _supervision_warnings(directory: Directory, contact: str | None) -> list[str]:
    """Staff whose mail to students no one above them would see: those without a supervisor, and those
    who supervise only one another."""
    fallback = directory.person(directory.supervisor_fallback() or "")
    warnings: list[str] = []
    if contact and fallback is None:
        warnings.append(
            f"the compliance contact {contact} is not staff on the roster: no one stands in for a "
            "missing supervisor"
        )
    if directory.unsupervised():
        unsupervised = directory.unsupervised()
        warnings.append(
            f"{len(unsupervised)} staff member(s) have no supervisor: {_names(unsupervised)}; "
            f"{_standing_in(unsupervised, fallback)}"
        )
    for cycle in directory.supervisor_cycles():
        warnings.append(
            f"a supervisor cycle, nobody above it: {_names(cycle)} supervise only one another; "
            f"{_standing_in(cycle, fallback)}"
        )
    return warnings


def _standing_in(staff: tuple[Person, ...], fallback: Person | None) -> str:
    """Who sees these staff members' mail to students now, said for the district to act on."""
    if fallback is None:
        return "their mail to students has no district-side copy (add them to supervisors.csv)"
    if fallback not in staff:
        return f"the compliance contact {fallback.person_id} is copied on their mail to students"
    if len(staff) > 1:
        return (
            f"the compliance contact {fallback.person_id} is copied on the others' mail to students; "
            f"no one above {fallback.person_id} sees theirs"
        )
    return f"{fallback.person_id} is the compliance contact: no one above them sees their mail to students"


def _names(people: tuple[Person, ...]) -> str:
    return ", ".join(f"{person.person_id} ({person.display_name})" for person in people)
