"""Roster data that must not fail open: a damaged export is refused or reported, never imported as a district
without guardians; and no staff member writes to a student with no one on the district side copied.

Every export here is a copy of the sample district in tmp_path, damaged the way SIS exports get damaged.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from adapters.roster_import import RosterError, import_roster
from gateway.commands import roster_cmd
from gateway.config import ConfigError, load_settings
from gateway.directory import Directory, supervisor_cycles
from gateway.roster_snapshot import load_directory, roster_snapshot_path, save_directory
from gateway.service import running_relay
from policies.parties import Person
from tests.conftest import Downstream, give_passwords, relay_settings
from tests.mail import parse, submit
from tests.test_roster import SAMPLE, copy_of_sample, edit_row, line_of, run_cli

FIELD = "rfield@nusd.example.org"  # the compliance officer, a-field
BROOKS = "abrooks@nusd.example.org"
PATEL = "spatel@students.nusd.example.org"
PATEL_GUARDIANS = {"priya.patel@example.net", "raj.patel@example.com"}


def ids(people: tuple[Person, ...]) -> list[str]:
    return [person.person_id for person in people]


def staff(roster: Directory, person_id: str) -> Person:
    person = roster.person(person_id)
    assert person is not None
    return person


def drop_column(path: Path, column: str) -> None:
    """The export as a SIS writes it when a column is left out of its template: gone from every row."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index(column)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(row[:at] + row[at + 1 :] for row in rows)


def blank_column(path: Path, column: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index(column)
    for row in rows[1:]:
        row[at] = ""
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def write_supervisors(folder: Path, *pairs: tuple[str, str], leave_out: tuple[str, ...] = ()) -> None:
    """supervisors.csv with the rows of ``leave_out`` staff removed and ``pairs`` added."""
    path = folder / "supervisors.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.split(",")[0] not in leave_out]
    path.write_text("\n".join([*kept, *(",".join(pair) for pair in pairs)]) + "\n", encoding="utf-8")


def config_file(tmp_path: Path, roster: str = "", district: str = "") -> Path:
    config = tmp_path / "chaperone.toml"
    unused = tmp_path / "unused"
    text = f'data_dir = "{tmp_path}"\n[district]\n{district}\n[roster]\npath = "{unused}"\n{roster}\n'
    config.write_text(text, encoding="utf-8")
    return config


# A header without a column the directory depends on is fatal, in one line naming file and column.


@pytest.mark.parametrize(
    ("file", "column"),
    [
        ("users.csv", "agentSourcedIds"),  # every minor would import without a guardian
        ("users.csv", "email"),
        ("users.csv", "orgSourcedIds"),
        ("users.csv", "givenName"),
        ("demographics.csv", "birthDate"),  # every student's age would be unknown
    ],
)
def test_a_header_without_a_column_the_directory_needs_refuses_the_import(
    tmp_path: Path, file: str, column: str
) -> None:
    folder = copy_of_sample(tmp_path / "district")
    drop_column(folder / file, column)
    with pytest.raises(RosterError) as refused:
        import_roster(folder)
    assert refused.value.problems == [f"{file}:1: the header lacks column(s) {column}"]


def test_roster_import_without_agent_sourced_ids_keeps_the_roster_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path)
    assert run_cli(config, "roster", "import", str(SAMPLE)) == 0
    snapshot = tmp_path / "roster.json"
    before = snapshot.read_bytes()
    capsys.readouterr()
    folder = copy_of_sample(tmp_path / "district")
    drop_column(folder / "users.csv", "agentSourcedIds")

    assert run_cli(config, "roster", "import", str(folder), "--accept-drop") == 1
    assert capsys.readouterr().err.splitlines() == [
        "users.csv:1: the header lacks column(s) agentSourcedIds",
        f"chaperone: roster not imported; the previous directory in {snapshot} stays in force",
    ]
    assert snapshot.read_bytes() == before
    assert load_directory(snapshot).guardians_of(staff(load_directory(snapshot), "s-patel"))


def test_a_column_the_relay_does_not_depend_on_may_still_be_missing(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    drop_column(folder / "users.csv", "grades")
    imported = import_roster(folder)
    assert imported.problems == ["users.csv:1: the header lacks column(s) grades: read as blank"]
    assert len(imported.directory) == 685


# An unclosed quote swallows the rows after it: reported even when the fields happen to add up.


def test_a_row_that_swallows_the_next_one_whole_is_reported_not_imported(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    line = line_of(users, "aide-wu,")
    assert line_of(users, "s-patel,") == line + 1
    # A quote opened in Kevin Wu's phone closes at the first quote of Sam Patel's agentSourcedIds: the two
    # rows read as one row of exactly 18 fields, Kevin Wu's, and Sam Patel is gone.
    edit_row(users, "aide-wu,", {14: '"x'})
    imported = import_roster(folder)
    assert imported.problems[0] == (
        f"users.csv:{line}: the row runs on to line {line + 1}, swallowing 1 line(s): an unclosed quote?"
    )
    assert imported.directory.person("aide-wu") is None and imported.directory.person("s-patel") is None
    with pytest.raises(RosterError, match="an unclosed quote"):
        import_roster(folder, strict=True)


# An import that drops more than max_drop_percent of guardian links, students or staff needs --accept-drop.


@pytest.fixture
def in_force(tmp_path: Path) -> Path:
    """A data folder whose roster in force is the sample district; the config for it."""
    config = config_file(tmp_path)
    assert run_cli(config, "roster", "import", str(SAMPLE)) == 0
    return config


def counts_in(report: str, kind: str) -> tuple[int, int, int]:
    found = re.search(rf"^{kind}\s+(\d+)\s+(\d+)\s+(\d+)", report, re.MULTILINE)
    assert found is not None, report
    before, after, dropped = map(int, found.groups())
    return before, after, dropped


def test_an_export_that_lost_its_family_links_is_refused_with_what_would_change(
    tmp_path: Path, in_force: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "roster.json"
    before = snapshot.read_bytes()
    capsys.readouterr()
    folder = copy_of_sample(tmp_path / "district")
    blank_column(folder / "users.csv", "agentSourcedIds")  # the column is there; what was in it is not

    assert run_cli(in_force, "roster", "import", str(folder)) == 1
    err = capsys.readouterr().err
    assert "roster not imported: it would drop more than 5% of what the roster in force holds" in err
    assert counts_in(err, "guardian links") == (474, 0, 474)
    assert counts_in(err, "students") == (300, 300, 0)
    assert counts_in(err, "staff") == (22, 22, 0)
    assert "--accept-drop" in err and "stays in force" in err
    assert snapshot.read_bytes() == before  # the relay keeps following the roster it has

    assert run_cli(in_force, "roster", "import", str(folder), "--accept-drop") == 0
    out = capsys.readouterr().out
    assert counts_in(out, "guardian links") == (474, 0, 474) and "accepted with --accept-drop" in out
    assert load_directory(snapshot).guardians_of(staff(load_directory(snapshot), "s-patel")) == ()


def test_an_unclosed_quote_that_swallows_rows_is_reported_and_the_drop_refused(
    tmp_path: Path, in_force: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    line, closes = line_of(users, "g-000279,"), line_of(users, "g-000305,")
    # The quote closes only at the next quote in the file, 26 guardian rows further down.
    edit_row(users, "g-000279,", {8: '"Yara'})
    assert run_cli(in_force, "roster", "import", str(folder)) == 1
    err = capsys.readouterr().err
    assert re.search(
        rf"^users.csv:{line}: \d+ fields .* runs on to line {closes}: an unclosed quote", err, re.M
    )
    before, after, dropped = counts_in(err, "guardian links")
    assert dropped == before - after and dropped / before > 0.05
    assert counts_in(err, "students") == (300, 300, 0)


def test_the_usual_nightly_change_imports_without_confirmation(
    tmp_path: Path, in_force: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    edit_row(users, "s-000034,", {1: "tobedeleted"})  # one student moved away
    assert run_cli(in_force, "roster", "import", str(folder)) == 0
    assert load_directory(tmp_path / "roster.json").person("s-000034") is None
    assert "dropped" not in capsys.readouterr().out


def test_max_drop_percent_is_the_districts_to_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_file(tmp_path, roster="max_drop_percent = 0")
    assert load_settings(config).roster.max_drop_percent == 0
    assert run_cli(config, "roster", "import", str(SAMPLE)) == 0
    folder = copy_of_sample(tmp_path / "district")
    edit_row(folder / "users.csv", "s-000034,", {1: "tobedeleted"})
    capsys.readouterr()
    assert run_cli(config, "roster", "import", str(folder)) == 1
    assert counts_in(capsys.readouterr().err, "students") == (300, 299, 1)


def test_a_roster_in_force_that_cannot_be_read_is_not_replaced_unconfirmed(tmp_path: Path) -> None:
    snapshot = tmp_path / "roster.json"
    snapshot.write_text('{"format": "chaperone-roster", "version": 1, "people": [', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert roster_cmd.import_into(SAMPLE, snapshot, out=out, err=err) == 1
    assert "cannot compare it with the roster in force" in err.getvalue()
    assert roster_cmd.import_into(SAMPLE, snapshot, accept_drop=True, out=out, err=err) == 0
    assert len(load_directory(snapshot)) == 685


# Staff without a supervisor, and supervisor cycles: warned at import, the compliance contact copied.


def test_staff_without_a_supervisor_are_listed_and_given_the_compliance_contact(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    write_supervisors(folder, leave_out=("a-brooks",))  # the overlay forgot the principal of NHS
    imported = import_roster(folder, supervisor_fallback=FIELD)
    assert imported.problems == []
    assert imported.warnings == [
        "2 staff member(s) have no supervisor: a-field (Rosa Field), a-brooks (Alan Brooks); the compliance "
        "contact a-field is copied on the others' mail to students; no one above a-field sees theirs"
    ]
    roster = imported.directory
    assert ids(roster.supervisors_of(staff(roster, "a-brooks"))) == ["a-field"]
    assert roster.supervisors_of(staff(roster, "a-field")) == ()  # never their own supervisor
    assert ids(roster.supervisors_of(staff(roster, "t-reyes"))) == ["a-brooks"]  # the rest as before


def test_with_supervisor_fallback_none_they_are_listed_and_no_one_stands_in(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    write_supervisors(folder, leave_out=("a-brooks",))
    imported = import_roster(folder)
    assert imported.warnings == [
        "2 staff member(s) have no supervisor: a-field (Rosa Field), a-brooks (Alan Brooks); their mail to "
        "students has no district-side copy (add them to supervisors.csv)"
    ]
    assert imported.directory.supervisors_of(staff(imported.directory, "a-brooks")) == ()


def test_a_compliance_contact_who_is_not_staff_on_the_roster_is_warned_about(tmp_path: Path) -> None:
    imported = import_roster(SAMPLE, supervisor_fallback="compliance@nusd.example.org")
    assert imported.warnings[0] == (
        "the compliance contact compliance@nusd.example.org is not staff on the roster: no one stands in "
        "for a missing supervisor"
    )
    assert imported.directory.supervisor_fallback() is None


def test_a_supervisor_cycle_is_reported_and_broken_by_the_compliance_contact(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    # The two principals supervise each other, and nobody is above either of them.
    write_supervisors(
        folder, ("a-brooks", "a-nguyen"), ("a-nguyen", "a-brooks"), leave_out=("a-brooks", "a-nguyen")
    )
    imported = import_roster(folder, supervisor_fallback=FIELD)
    assert imported.problems == []
    assert (
        "a supervisor cycle, nobody above it: a-brooks (Alan Brooks), a-nguyen (Thu Nguyen) supervise only "
        "one another; the compliance contact a-field is copied on their mail to students"
    ) in imported.warnings
    roster = imported.directory
    assert ids(roster.supervisors_of(staff(roster, "a-brooks"))) == ["a-nguyen", "a-field"]
    assert ids(roster.supervisors_of(staff(roster, "a-nguyen"))) == ["a-brooks", "a-field"]
    assert ids(roster.supervisors_of(staff(roster, "t-reyes"))) == ["a-brooks"]  # a chain up into it is fine
    # The snapshot keeps who stands in, so the relay that loads it does too.
    snapshot = tmp_path / "roster.json"
    save_directory(roster, snapshot)
    loaded = load_directory(snapshot)
    assert loaded == roster
    assert ids(loaded.supervisors_of(staff(loaded, "a-brooks"))) == ["a-nguyen", "a-field"]


def test_only_groups_with_nobody_above_them_are_cycles() -> None:
    above = {
        "top": [],
        "a": ["b"],  # a and b: a closed pair
        "b": ["a"],
        "c": ["a"],  # below the pair, not in it
        "d": ["e", "a"],  # d and e supervise each other but d reports up into the pair
        "e": ["d"],
        "f": ["g", "top"],  # f and g supervise each other, and f also answers to the top
        "g": ["f"],
        "h": ["i"],  # a ring of three
        "i": ["j"],
        "j": ["h"],
    }
    assert supervisor_cycles(above) == [("a", "b"), ("h", "i", "j")]


def test_a_snapshot_from_before_the_fallback_loads_without_one(tmp_path: Path) -> None:
    snapshot = tmp_path / "roster.json"
    save_directory(import_roster(SAMPLE).directory, snapshot)
    assert '"supervisor_fallback"' not in snapshot.read_text(encoding="utf-8")
    assert load_directory(snapshot).supervisor_fallback() is None
    damaged = snapshot.read_text(encoding="utf-8").replace('"people":', '"supervisor_fallback":[1],"people":')
    snapshot.write_text(damaged, encoding="utf-8")
    with pytest.raises(ConfigError, match="roster snapshot damaged"):
        load_directory(snapshot)


def test_supervisor_fallback_accepts_only_compliance_or_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"roster\.supervisor_fallback"):
        load_settings(config_file(tmp_path, roster='supervisor_fallback = "principal"'))


@pytest.mark.parametrize(
    ("roster", "copied"),
    [("", True), ('supervisor_fallback = "compliance"', True), ('supervisor_fallback = "none"', False)],
)
async def test_a_principal_the_overlay_forgot_is_seen_by_the_compliance_contact_in_the_relay(
    tmp_path: Path, downstream: Downstream, roster: str, copied: bool
) -> None:
    folder = copy_of_sample(tmp_path / "district")
    write_supervisors(folder, leave_out=("a-brooks",))
    config = config_file(tmp_path, roster=roster, district=f'compliance_contact = "{FIELD}"')
    assert run_cli(config, "roster", "import", str(folder)) == 0  # the nightly import, as cron runs it
    settings = relay_settings(tmp_path, downstream.port, district={"compliance_contact": FIELD})
    assert roster_snapshot_path(settings) == tmp_path / "roster.json"
    give_passwords(settings, BROOKS)
    async with running_relay(settings) as relay:  # loads the snapshot the import wrote
        await submit(relay.port("submission"), BROOKS, [PATEL])
        received = await downstream.wait_for(2 if copied else 1)
    family = next(r for r in received if PATEL in r.rcpt_tos)
    assert set(family.rcpt_tos) == {PATEL, *PATEL_GUARDIANS}
    cc = {address.strip() for address in parse(family.content)["Cc"].split(",")}
    if copied:
        assert cc == {*PATEL_GUARDIANS, FIELD}
        assert [r.rcpt_tos for r in received if PATEL not in r.rcpt_tos] == [[FIELD]]
    else:
        assert cc == PATEL_GUARDIANS
        assert len(received) == 1
