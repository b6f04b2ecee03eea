"""IMS OneRoster 1.1 CSV, as student information systems really export it: files in, typed rows out.

This adapter knows the file format and nothing of Chaperone's policy. It reads a bulk export folder
(manifest.csv, orgs, academicSessions, courses, classes, users, enrollments, demographics) and the
district's own overlay supervisors.csv (staffSourcedId,supervisorSourcedId), which is not OneRoster.

It accepts what exports contain in the wild: a UTF-8 byte-order mark, CRLF or LF, blank ``status`` and
``dateLastModified`` in bulk files, columns in any order, multi-valued fields quoted as one field
("g-patel-1,g-patel-2"). Rows marked ``tobedeleted`` are left out without complaint. Every other row it
cannot use becomes a ``Problem`` ("users.csv:12: …", the physical line where the row starts) and is
skipped; ``strict`` turns any problem into a ``RosterError``. A row that runs over several lines (an
unclosed quote swallows the lines after it) is such a problem even when its fields happen to add up: no
OneRoster value holds a line break. A folder that is not a usable export (no manifest, a required file
missing, a header without a column the directory's safety rests on) is a ``RosterError`` at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

MANIFEST = "manifest.csv"
SUPERVISORS = "supervisors.csv"
# The order files are read in, and the order their problems are listed in.
FILES = (
    MANIFEST,
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "enrollments.csv",
    "demographics.csv",
    SUPERVISORS,
)
# Without these there is no directory: who is who, where, and in which class.
NEEDED = frozenset({"orgs.csv", "users.csv", "classes.csv", "enrollments.csv"})

USER_ROLES = frozenset(
    {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
)
# OneRoster 1.1 enrolls administrator, proctor, student and teacher; SIS exports also use aide.
ENROLLMENT_ROLES = frozenset({"administrator", "aide", "proctor", "student", "teacher"})
DELETED = "tobedeleted"


class Problem(NamedTuple):
    file: str
    line: int  # physical line in the file where the row starts; 0 for the folder itself
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


class RosterError(Exception):
    """The import is refused as a whole; ``problems`` says why, one line each."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems = [str(problem) for problem in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True)
class OrgRow:
    sourced_id: str
    name: str
    type: str
    parent_id: str
    where: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    sourced_id: str
    title: str
    type: str
    start: date
    end: date
    where: str


@dataclass(frozen=True, slots=True)
class CourseRow:
    sourced_id: str
    title: str
    org_id: str
    where: str


@dataclass(frozen=True, slots=True)
class ClassRow:
    sourced_id: str
    title: str
    class_type: str
    course_id: str
    school_id: str
    term_ids: tuple[str, ...]
    where: str


@dataclass(frozen=True, slots=True)
class UserRow:
    sourced_id: str
    role: str  # lower-cased, one of USER_ROLES
    username: str
    given_name: str
    family_name: str
    org_ids: tuple[str, ...]
    email: str  # as exported; blank when none
    sms: str
    phone: str
    agent_ids: tuple[str, ...]
    grades: tuple[str, ...]
    where: str


@dataclass(frozen=True, slots=True)
class EnrollmentRow:
    sourced_id: str
    class_id: str
    school_id: str
    user_id: str
    role: str
    primary: bool
    where: str


@dataclass(frozen=True, slots=True)
class DemographicRow:
    sourced_id: str  # the same sourcedId as the user
    birth_date: date | None
    where: str


@dataclass(frozen=True, slots=True)
class SupervisionRow:
    staff_id: str
    supervisor_id: str
    where: str


@dataclass
class RosterFiles:
    """Everything usable in one export, and what was not."""

    orgs: list[OrgRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    courses: list[CourseRow] = field(default_factory=list)
    classes: list[ClassRow] = field(default_factory=list)
    users: list[UserRow] = field(default_factory=list)
    enrollments: list[EnrollmentRow] = field(default_factory=list)
    demographics: list[DemographicRow] = field(default_factory=list)
    supervisions: list[SupervisionRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # sourcedIds the export marks tobedeleted, per file: references to them are dropped quietly.
    deleted: dict[str, set[str]] = field(default_factory=dict)


def read_roster(folder: Path, *, strict: bool = False) -> RosterFiles:
    """Read one OneRoster 1.1 CSV bulk export. Raises ``RosterError`` if the folder is not usable, or
    in strict mode if any row is bad."""
    if not folder.is_dir():
        raise RosterError([Problem(str(folder), 0, "no such roster folder")])
    files = RosterFiles()
    present = _files_to_read(folder, files)
    for name in FILES[1:]:
        if name in present:
            _read_file(folder / name, files)
    if strict and files.problems:
        raise RosterError(files.problems)
    return files


def _files_to_read(folder: Path, files: RosterFiles) -> set[str]:
    """Which files the manifest says to read; refuses exports we cannot import faithfully."""
    if not (folder / MANIFEST).is_file():
        raise RosterError([Problem(str(folder), 0, f"{MANIFEST} is missing: not a OneRoster CSV export")])
    modes: dict[str, tuple[str, int]] = {}
    table = _Table(folder / MANIFEST, ("propertyName", "value"), (), files.problems)
    for row in table.rows():
        modes[row["propertyName"]] = (row["value"].lower(), row.line)
    fatal: list[Problem] = []
    version, line = modes.get("oneroster.version", ("", 0))
    if version not in ("", "1.0", "1.1"):
        files.problems.append(
            Problem(MANIFEST, line, f"oneroster.version is {version}; this reader expects 1.1")
        )
    present: set[str] = set()
    for name in FILES[1:]:
        exists = (folder / name).is_file()
        mode, line = modes.get(f"file.{name.removesuffix('.csv')}", ("", 0))
        if name == SUPERVISORS:  # the overlay is not in the manifest: read it when it is there
            mode = "bulk" if exists else "absent"
        if mode == "delta":
            # A delta holds only changes; imported as a whole roster it would drop everyone else.
            fatal.append(Problem(MANIFEST, line, f"{name} is a delta export; import a bulk export"))
        elif mode not in ("", "bulk", "absent"):
            fatal.append(Problem(MANIFEST, line, f"{name} is {mode!r}, not bulk, delta or absent"))
        elif name in NEEDED and (mode == "absent" or not exists):
            fatal.append(
                Problem(str(folder), 0, f"{name} is missing, and the directory cannot do without it")
            )
        elif mode == "bulk" and not exists:
            fatal.append(Problem(str(folder), 0, f"{name} is missing, though {MANIFEST} lists it as bulk"))
        elif exists and mode != "absent":
            present.add(name)
    if fatal:
        raise RosterError(fatal)
    return present


class _Row(dict[str, str]):
    """One data row by column name, values stripped, so column order and extra columns do not matter
    and an absent column reads as blank."""

    __slots__ = ("line", "where")

    def __init__(self, header: list[str], fields: list[str], name: str, line: int) -> None:
        super().__init__(zip(header, map(str.strip, fields), strict=True))
        self.line, self.where = line, f"{name}:{line}"

    def __missing__(self, column: str) -> str:
        return ""

    def many(self, column: str) -> tuple[str, ...]:
        """A multi-valued field: comma-separated inside one (quoted) field, blanks and repeats dropped."""
        return tuple(dict.fromkeys(value.strip() for value in self[column].split(",") if value.strip()))


class _Table:
    """The rows of one CSV file, after the checks every OneRoster file shares.

    ``needed`` columns must be in the header and filled in every row; ``required`` ones must be in the
    header but may be blank (a guardian without an e-mail address); ``optional`` ones read as blank, with
    a problem, when the header lacks them."""

    def __init__(
        self,
        path: Path,
        needed: tuple[str, ...],
        optional: tuple[str, ...],
        problems: list[Problem],
        *,
        required: tuple[str, ...] = (),
    ):
        self.path, self.name, self.problems = path, path.name, problems
        self.needed, self.required, self.optional = needed, required, optional
        # Bulk files may leave status and dateLastModified blank; the other needed columns must be filled.
        self.filled = tuple(column for column in needed if column not in ("status", "dateLastModified"))
        self.deleted: set[str] = set()

    def complain(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.name, line, reason))

    def rows(self) -> Iterator[_Row]:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise RosterError([Problem(str(self.path), 0, f"cannot read: {exc.strerror or exc}")]) from None
        try:
            text, undecodable = data.decode("utf-8-sig"), False
        except UnicodeDecodeError:
            # Keep the bad bytes as surrogates so that only the rows holding them are refused.
            text, undecodable = data.decode("utf-8-sig", errors="surrogateescape"), True
        # newline="" keeps CR, LF and CRLF as the csv module expects, so line_num counts physical lines.
        reader = csv.reader(io.StringIO(text, newline=""))
        header: list[str] | None = None
        seen: dict[str, int] = {}
        ended = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.complain(ended + 1, f"not readable as CSV: {exc}")
                ended = reader.line_num
                continue
            start, ended = ended + 1, reader.line_num
            if not "".join(fields).strip():
                continue  # blank lines, and the ",,,," lines spreadsheets leave behind
            if undecodable and _has_surrogates(fields):
                self.complain(start, "not valid UTF-8")
                continue
            if header is None:
                header = self._header(fields, start)
                continue
            if not self._whole(fields, len(header), start, ended):
                continue
            row = _Row(header, fields, self.name, start)
            if not self._wanted(row, seen):
                continue
            yield row
        if header is None:
            raise RosterError([Problem(self.name, 1, "the file is empty: no header row")])

    def _header(self, fields: list[str], line: int) -> list[str]:
        header = [column.strip() for column in fields]
        missing = [column for column in (*self.needed, *self.required) if column not in header]
        if missing:
            # Read as blank, such a column would empty a field in every row: a users.csv without
            # agentSourcedIds would import every minor without a guardian.
            lacking = ", ".join(missing)
            raise RosterError([Problem(self.name, line, f"the header lacks column(s) {lacking}")])
        absent = [column for column in self.optional if column not in header]
        if absent:
            self.complain(line, f"the header lacks column(s) {', '.join(absent)}: read as blank")
        return header

    def _whole(self, fields: list[str], columns: int, start: int, ended: int) -> bool:
        """Whether the record on lines ``start``-``ended`` is one row of the table, as far as its shape
        tells; if not, it is reported."""
        if len(fields) != columns:
            spans = f" (the row runs on to line {ended}: an unclosed quote?)" if ended > start else ""
            self.complain(start, f"{len(fields)} fields where the header has {columns}{spans}")
            return False
        if ended > start:
            # No OneRoster value holds a line break: an unclosed quote swallowed the rows after this one,
            # and the fields only happen to add up. The rows it swallowed are lost, so it is reported.
            swallowed = ended - start
            self.complain(
                start, f"the row runs on to line {ended}, swallowing {swallowed} line(s): an unclosed quote?"
            )
            return False
        return True

    def _wanted(self, row: _Row, seen: dict[str, int]) -> bool:
        status = row["status"].lower()
        key = row["sourcedId"]
        if status == DELETED:
            self.deleted.add(key)
            return False
        if status not in ("", "active"):
            self.complain(row.line, f"status {row['status']!r} is neither active nor tobedeleted")
            return False
        for column in self.filled:
            if not row[column]:
                self.complain(row.line, f"{column} is empty")
                return False
        if "sourcedId" in self.needed:
            if key in seen:
                self.complain(row.line, f"sourcedId {key!r} repeats line {seen[key]}")
                return False
            seen[key] = row.line
        return True


def _has_surrogates(fields: list[str]) -> bool:
    return any(not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value) for value in fields)


def _day(row: _Row, column: str, table: _Table) -> date | None:
    """A calendar date (YYYY-MM-DD); None and a problem if it is not one."""
    try:
        return date.fromisoformat(row[column])
    except ValueError:
        table.complain(row.line, f"{column} {row[column]!r} is not a date (YYYY-MM-DD)")
        return None


def _flag(row: _Row, column: str, table: _Table) -> bool | None:
    value = row[column].lower()
    if value in ("true", "false"):
        return value == "true"
    table.complain(row.line, f"{column} {row[column]!r} is neither true nor false")
    return None


COMMON = ("sourcedId", "status", "dateLastModified")


def _read_file(path: Path, files: RosterFiles) -> None:
    layout = _LAYOUTS[path.name]
    table = _Table(path, layout.needed, layout.optional, files.problems, required=layout.required)
    layout.collect(table, files)
    files.deleted[path.name] = table.deleted


def _orgs(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        files.orgs.append(
            OrgRow(row["sourcedId"], row["name"], row["type"], row["parentSourcedId"], row.where)
        )


def _sessions(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        start, end = _day(row, "startDate", table), _day(row, "endDate", table)
        if start is not None and end is not None:
            files.sessions.append(
                SessionRow(row["sourcedId"], row["title"], row["type"], start, end, row.where)
            )


def _courses(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        files.courses.append(CourseRow(row["sourcedId"], row["title"], row["orgSourcedId"], row.where))


def _classes(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        files.classes.append(
            ClassRow(
                sourced_id=row["sourcedId"],
                title=row["title"],
                class_type=row["classType"],
                course_id=row["courseSourcedId"],
                school_id=row["schoolSourcedId"],
                term_ids=row.many("termSourcedIds"),
                where=row.where,
            )
        )


def _users(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        role = row["role"].lower()
        if role not in USER_ROLES:
            table.complain(row.line, f"role {row['role']!r} is not a OneRoster user role")
            continue
        files.users.append(
            UserRow(
                sourced_id=row["sourcedId"],
                role=role,
                username=row["username"],
                given_name=row["givenName"],
                family_name=row["familyName"],
                org_ids=row.many("orgSourcedIds"),
                email=row["email"],
                sms=row["sms"],
                phone=row["phone"],
                agent_ids=row.many("agentSourcedIds"),
                grades=row.many("grades"),
                where=row.where,
            )
        )


def _enrollments(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        role = row["role"].lower()
        if role not in ENROLLMENT_ROLES:
            table.complain(row.line, f"role {row['role']!r} is not a OneRoster enrollment role")
            continue
        primary = _flag(row, "primary", table) if row["primary"] else False
        if primary is None:
            continue
        files.enrollments.append(
            EnrollmentRow(
                sourced_id=row["sourcedId"],
                class_id=row["classSourcedId"],
                school_id=row["schoolSourcedId"],
                user_id=row["userSourcedId"],
                role=role,
                primary=primary,
                where=row.where,
            )
        )


def _demographics(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        if not row["birthDate"]:
            files.demographics.append(DemographicRow(row["sourcedId"], None, row.where))
        elif (born := _day(row, "birthDate", table)) is not None:
            files.demographics.append(DemographicRow(row["sourcedId"], born, row.where))


def _supervisions(table: _Table, files: RosterFiles) -> None:
    for row in table.rows():
        files.supervisions.append(
            SupervisionRow(row["staffSourcedId"], row["supervisorSourcedId"], row.where)
        )


_Collect = Callable[[_Table, RosterFiles], None]


class _Layout(NamedTuple):
    needed: tuple[str, ...]  # in the header, and filled in every row
    optional: tuple[str, ...]  # read when present; absent, read as blank and reported
    collect: _Collect
    # In the header, but may be blank in a row. These are the columns who gets a copy depends on (family
    # links, addresses, schools) and the ones policy finds people by (names, numbers, ages): a header
    # without one is a damaged export, not a district that has no guardians.
    required: tuple[str, ...] = ()


_LAYOUTS: dict[str, _Layout] = {
    "orgs.csv": _Layout((*COMMON, "name"), ("type", "parentSourcedId"), _orgs),
    "academicSessions.csv": _Layout((*COMMON, "title", "type", "startDate", "endDate"), (), _sessions),
    "courses.csv": _Layout((*COMMON, "title"), ("orgSourcedId",), _courses),
    "classes.csv": _Layout(
        (*COMMON, "title", "courseSourcedId", "schoolSourcedId"),
        ("classType", "termSourcedIds"),
        _classes,
    ),
    "users.csv": _Layout(
        (*COMMON, "role"),
        ("username", "grades"),
        _users,
        required=("givenName", "familyName", "orgSourcedIds", "email", "sms", "phone", "agentSourcedIds"),
    ),
    "enrollments.csv": _Layout(
        (*COMMON, "classSourcedId", "userSourcedId", "role"),
        ("schoolSourcedId", "primary"),
        _enrollments,
    ),
    "demographics.csv": _Layout(COMMON, (), _demographics, required=("birthDate",)),
    SUPERVISORS: _Layout(("staffSourcedId", "supervisorSourcedId"), (), _supervisions),
}
