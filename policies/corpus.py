"""Labelled corpus lines (shared/corpus/README.md) as the engine sees them: a Message and what is expected.

``policy eval`` and the benchmark read the corpus through here. Addresses are resolved against the roster
as the gateway would: e-mail by address (lower-cased), SMS by E.164 number. One number may belong to two
roster rows (a teacher who is also a parent); then the staff row wins, as it would for the relay, which
knows staff by their registered devices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from policies.decision import Action
from policies.message import Attachment, Message, Party
from policies.parties import NamesAdults, Person, Role, Roster

HARD_NEGATIVE = "Hard negative"
# The corpus README's roster table: "These are the only registered addresses." Fixture sourcedIds never
# change with the generator's size or seed; Elena has no address but is Ana Garcia's daughter.
CORPUS_PEOPLE = frozenset({
    "t-reyes", "t-okafor", "t-lindqvist", "aide-wu", "a-brooks", "a-nguyen",
    "s-patel", "s-kim", "s-ito", "s-garcia", "s-garcia-2", "s-okafor", "s-nophone",
    "g-patel-1", "g-patel-2", "g-kim", "g-garcia", "g-stone",
})  # fmt: skip
_ROLE_PREFERENCE = (Role.STAFF, Role.STUDENT, Role.GUARDIAN)


class CorpusError(ValueError):
    """A corpus line that does not follow the format, named by file and line."""


class _AttachmentLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    filename: str
    content_type: str


class _Expect(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    categories: list[str]
    action: Action


class _Line(BaseModel):
    # Extra fields are ignored: the held-out set may carry more than this reader needs.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str
    channel: Literal["email", "sms"]
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    subject: str = ""
    body: str
    sent_at: AwareDatetime
    attachments: list[_AttachmentLine] = []
    expect: _Expect
    note: str = ""


@dataclass(frozen=True, slots=True)
class CorpusCase:
    id: str
    message: Message
    categories: frozenset[str]  # expected; empty means clean
    action: Action  # expected under the default policy
    note: str

    @property
    def hard_negative(self) -> bool:
        return self.note.startswith(HARD_NEGATIVE)


class CorpusRoster:
    """A district roster seen as the corpus sees it: only the README's people are registered.

    The sample district's filler people hold numbers the corpus uses as strangers' (+13125550177 is a
    filler guardian there), so scoring against the whole directory would miscount them.
    """

    def __init__(self, roster: Roster, people: frozenset[str] = CORPUS_PEOPLE) -> None:
        self._roster = roster
        self._people = people

    def _keep(self, person: Person | None) -> Person | None:
        return person if person is not None and person.person_id in self._people else None

    def person(self, person_id: str) -> Person | None:
        return self._keep(self._roster.person(person_id))

    def by_email(self, address: str) -> Person | None:
        return self._keep(self._roster.by_email(address))

    def by_phone(self, number: str) -> tuple[Person, ...]:
        return tuple(p for p in self._roster.by_phone(number) if p.person_id in self._people)

    def students(self) -> Iterable[Person]:
        return [p for p in self._roster.students() if p.person_id in self._people]

    def guardians_of(self, student: Person) -> tuple[Person, ...]:
        return tuple(p for p in self._roster.guardians_of(student) if p.person_id in self._people)

    def supervisors_of(self, staff: Person) -> tuple[Person, ...]:
        return tuple(p for p in self._roster.supervisors_of(staff) if p.person_id in self._people)

    def students_named(self, name: str) -> tuple[Person, ...]:
        return tuple(p for p in self._roster.students_named(name) if p.person_id in self._people)

    def adults_named(self, name: str) -> tuple[Person, ...]:
        if not isinstance(self._roster, NamesAdults):
            return ()
        return tuple(p for p in self._roster.adults_named(name) if p.person_id in self._people)


def read_corpus(path: str | Path, roster: Roster) -> list[CorpusCase]:
    path = Path(path)
    cases = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                case = case_from_record(json.loads(line), roster)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}:{number}: not JSON: {exc.msg}") from None
            except ValidationError as exc:
                error = exc.errors()[0]
                key = ".".join(str(part) for part in error["loc"])
                raise CorpusError(f"{path}:{number}: {key}: {error['msg']}") from None
            if case.id in seen:
                raise CorpusError(f"{path}:{number}: id {case.id!r} appears twice")
            seen.add(case.id)
            cases.append(case)
    return cases


def case_from_record(record: dict[str, Any], roster: Roster) -> CorpusCase:
    line = _Line.model_validate(record)
    message = Message(
        message_id=line.id,
        channel=line.channel,
        sender=party(line.sender, roster),
        recipients=tuple(party(address, roster) for address in line.to),
        sent_at=line.sent_at,
        subject=line.subject,
        body=line.body,
        attachments=tuple(Attachment(a.filename, a.content_type.lower()) for a in line.attachments),
    )
    return CorpusCase(line.id, message, frozenset(line.expect.categories), line.expect.action, line.note)


def party(address: str, roster: Roster) -> Party:
    """An address or number as the relay would resolve it."""
    if "@" in address:
        address = address.strip().lower()
        return Party(address, roster.by_email(address))
    number = address.strip()
    return Party(number, _preferred(roster.by_phone(number)))


def _preferred(people: tuple[Person, ...]) -> Person | None:
    for role in _ROLE_PREFERENCE:
        for person in people:
            if person.role is role:
                return person
    return None
