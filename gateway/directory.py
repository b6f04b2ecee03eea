"""The district directory: who is who, answered with dictionary lookups.

``Directory`` is built once, by the OneRoster import (adapters/roster_import.py) or from the snapshot the
relay loads at start (gateway/roster_snapshot.py), and indexes everything it is asked per message: people by
sourcedId, e-mail and phone, students by name, supervisors of staff.

Every staff member's mail to a student must have a district-side copy. Staff whom the roster gives no
supervisor, and staff in a supervisor cycle (A supervises B, B supervises A, nobody above either), get the
directory's ``supervisor_fallback`` (the compliance contact, by `roster import`) as a supervisor when they
are looked up. The roster data stays as imported, so the import can still list who lacks a supervisor.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import phonenumbers

from policies.parties import Person, Role

ROLE_OF = {
    "administrator": Role.STAFF,
    "teacher": Role.STAFF,
    "aide": Role.STAFF,
    "proctor": Role.STAFF,
    "student": Role.STUDENT,
    "parent": Role.GUARDIAN,
    "guardian": Role.GUARDIAN,
    "relative": Role.GUARDIAN,
}
# The order counts() lists OneRoster roles in: staff first, then students, then families.
ROLE_ORDER = ("administrator", "teacher", "aide", "proctor", "student", "parent", "guardian", "relative")
# Numbers written without a country code are North American: the districts Chaperone serves are.
DEFAULT_REGION = "US"


def e164(number: str) -> str | None:
    """The number in E.164 (+12025550112), or None when it is not a valid phone number."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    formatted: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return formatted


# Letters that Unicode does not decompose into a base letter and an accent.
_UNACCENTED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


@lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """A name as the directory compares it: no case, no accents, letters and digits only, so that
    "Zoë", "ZOE" and "zoe" meet, as do "O'Connor" and "OConnor", and "Van der Berg" and "vanderberg"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_UNACCENTED))
    return "".join(ch for ch in decomposed if ch.isalnum())


class Directory:
    """The district's people, indexed for the relay. Implements policies.parties.Roster."""

    def __init__(
        self,
        people: Iterable[Person],
        *,
        schools: Mapping[str, str] | None = None,
        classes: Mapping[str, str] | None = None,
        supervisor_fallback: str | None = None,
    ) -> None:
        self._people: dict[str, Person] = {}
        self._by_email: dict[str, Person] = {}
        phones: dict[str, list[Person]] = {}
        names: dict[str, list[Person]] = {}
        adult_names: dict[str, list[Person]] = {}
        handles: dict[str, list[Person]] = {}
        taking: dict[str, list[Person]] = {}
        for person in people:
            self._people[person.person_id] = person
            if person.email:
                self._index_email(person)
            for number in dict.fromkeys(n for n in (person.sms, person.phone) if n):
                phones.setdefault(number, []).append(person)
            for handle in {person.person_id.lower(), (person.email or "").partition("@")[0]} - {""}:
                handles.setdefault(handle, []).append(person)
            if person.role is Role.STUDENT:
                for class_id in person.class_ids:
                    taking.setdefault(class_id.lower(), []).append(person)
            keys = {name_key(person.given_name), name_key(person.family_name), name_key(person.display_name)}
            for key in keys - {""}:
                (names if person.role is Role.STUDENT else adult_names).setdefault(key, []).append(person)
        self._by_phone = {number: tuple(found) for number, found in phones.items()}
        self._by_handle = {handle: tuple(found) for handle, found in handles.items()}
        self._class_students = {class_id: tuple(found) for class_id, found in taking.items()}
        self._students_named = {key: tuple(found) for key, found in names.items()}
        self._adults_named = {key: tuple(found) for key, found in adult_names.items()}
        self._students = tuple(p for p in self._people.values() if p.role is Role.STUDENT)
        self._staff = tuple(p for p in self._people.values() if p.role is Role.STAFF)
        self._schools = dict(schools or {})
        self._classes = dict(classes or {})
        counted: dict[str, int] = {}
        for person in self._people.values():
            counted[person.roster_role] = counted.get(person.roster_role, 0) + 1
        ranked = sorted(
            counted, key=lambda role: (ROLE_ORDER.index(role) if role in ROLE_ORDER else 99, role)
        )
        self._counts = {role: counted[role] for role in ranked}
        self._supervisor_fallback = supervisor_fallback
        above = {p.person_id: self._supervisor_ids(p) for p in self._staff}
        self._unsupervised = tuple(p for p in self._staff if not above[p.person_id])
        self._cycles = tuple(tuple(map(self._people.__getitem__, c)) for c in supervisor_cycles(above))
        self._in_cycle = frozenset(p.person_id for cycle in self._cycles for p in cycle)

    def _index_email(self, person: Person) -> None:
        """One address, one answer. A staff row wins an address it shares with a family row (a teacher
        who gives the school address as a parent contact must still be able to send); otherwise the
        first row keeps it."""
        assert person.email is not None
        holder = self._by_email.get(person.email)
        if holder is None or (person.role is Role.STAFF and holder.role is not Role.STAFF):
            self._by_email[person.email] = person

    def take_over(self, newer: Directory) -> None:
        """Become ``newer`` (a re-imported roster) in place, every index at once: the components holding
        this directory see the new roster from their next lookup. The event loop runs nothing in between,
        so each step of a message reads one roster or the other, never half of each."""
        vars(self).clear()
        vars(self).update(vars(newer))

    # The Roster protocol.

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def by_email(self, address: str) -> Person | None:
        return self._by_email.get(address.strip().strip("<>").lower())

    def by_phone(self, number: str) -> tuple[Person, ...]:
        """Everyone with this number as sms or phone, in any common writing of it; one human may have
        two rows (a teacher who is also a parent)."""
        found = self._by_phone.get(number)
        if found is not None:
            return found
        normal = e164(number)
        return self._by_phone.get(normal, ()) if normal else ()

    def by_handle(self, handle: str) -> tuple[Person, ...]:
        """Who a text's "@handle" names: a sourcedId, or the part of a roster e-mail before the @ (the
        roster's username), ignoring case; two people when a handle is ambiguous."""
        return self._by_handle.get(handle.strip().lstrip("@").lower(), ())

    def students_in_class(self, class_id: str) -> tuple[Person, ...]:
        return self._class_students.get(class_id.strip().lower(), ())

    def students(self) -> tuple[Person, ...]:
        return self._students

    def guardians_of(self, student: Person) -> tuple[Person, ...]:
        known = self._people.get(student.person_id, student)
        return tuple(p for p in map(self._people.get, known.guardian_ids) if p is not None)

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]:
        """The staff member's supervisors on the roster; the fallback supervisor when they have none or
        supervise one another in a cycle, so that no staff member writes to a student unseen."""
        known = self._people.get(staff.person_id, staff)
        found = tuple(map(self._people.__getitem__, self._supervisor_ids(known)))
        fallback = self._people.get(self._supervisor_fallback or "")
        if fallback is None or known.role is not Role.STAFF or fallback in (known, *found):
            return found
        if not found or known.person_id in self._in_cycle:
            return (*found, fallback)
        return found

    def _supervisor_ids(self, staff: Person) -> tuple[str, ...]:
        """The supervisors the roster names who are on it, never the staff member themself."""
        return tuple(i for i in staff.supervisor_ids if i != staff.person_id and i in self._people)

    def students_named(self, name: str) -> tuple[Person, ...]:
        """Students whose given, family or full name is ``name``, ignoring case, accents and punctuation."""
        return self._students_named.get(name_key(name), ())

    def adults_named(self, name: str) -> tuple[Person, ...]:
        """Staff and guardians whose given, family or full name is ``name`` (policies.rules.confidential:
        a name the roster knows only for adults is not a student's)."""
        return self._adults_named.get(name_key(name), ())

    # Beyond the protocol.

    def staff(self) -> tuple[Person, ...]:
        return self._staff

    def people(self) -> tuple[Person, ...]:
        return tuple(self._people.values())

    def school_name(self, org_id: str) -> str | None:
        return self._schools.get(org_id)

    def class_title(self, class_id: str) -> str | None:
        return self._classes.get(class_id)

    def school_names(self) -> dict[str, str]:
        return dict(self._schools)

    def class_titles(self) -> dict[str, str]:
        return dict(self._classes)

    def supervisor_fallback(self) -> str | None:
        """The sourcedId of who stands in as supervisor (the compliance contact), if anyone does."""
        return self._supervisor_fallback

    def unsupervised(self) -> tuple[Person, ...]:
        """Staff the roster gives no supervisor, whether or not the fallback stands in for them."""
        return self._unsupervised

    def supervisor_cycles(self) -> tuple[tuple[Person, ...], ...]:
        """Groups of staff who supervise only one another, with nobody above them."""
        return self._cycles

    def counts(self) -> dict[str, int]:
        """How many people the roster holds per OneRoster role (teacher, parent, …)."""
        return dict(self._counts)

    def __len__(self) -> int:
        return len(self._people)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Directory):
            return NotImplemented
        return (
            list(self._people.values()) == list(other._people.values())
            and self._schools == other._schools
            and self._classes == other._classes
            and self._supervisor_fallback == other._supervisor_fallback
        )


def supervisor_cycles(above: Mapping[str, Sequence[str]]) -> list[tuple[str, ...]]:
    """The closed groups in a supervision graph (staff id → their supervisors' ids): staff who supervise
    one another so that, from any of them, following supervisors leads only back into the group. Each
    group in ``above``'s order; the groups in the order of their first member.

    Following supervisors from anyone ends either at someone who has none (the top: the district is
    fine) or in such a group. So only staff who cannot reach a top need a look, and one of them is in a
    closed group exactly when everyone they reach reaches them back."""
    grounded = _reaching_a_top(above)
    reach = {person: _reachable(person, above) for person in above if person not in grounded}
    cycles: dict[frozenset[str], None] = {}
    for person, reached in reach.items():
        if person in reached and all(person in reach.get(other, ()) for other in reached):
            cycles[frozenset(reached)] = None
    return [tuple(person for person in above if person in cycle) for cycle in cycles]


def _reaching_a_top(above: Mapping[str, Sequence[str]]) -> set[str]:
    """Staff from whom following supervisors can reach someone with no supervisor."""
    below: dict[str, list[str]] = {}
    for person, supervisors in above.items():
        for supervisor in supervisors:
            below.setdefault(supervisor, []).append(person)
    grounded = {person for person, supervisors in above.items() if not supervisors}
    waiting = list(grounded)
    while waiting:
        for person in below.get(waiting.pop(), ()):
            if person not in grounded:
                grounded.add(person)
                waiting.append(person)
    return grounded


def _reachable(person: str, above: Mapping[str, Sequence[str]]) -> set[str]:
    """Everyone above ``person``, following supervisors of supervisors; ``person`` too if in a loop."""
    reached: set[str] = set()
    waiting = list(above.get(person, ()))
    while waiting:
        supervisor = waiting.pop()
        if supervisor not in reached:
            reached.add(supervisor)
            waiting.extend(above.get(supervisor, ()))
    return reached
