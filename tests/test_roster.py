"""The district directory: what a OneRoster import gives the relay, and what it refuses.

The sample district's facts come from ../shared/district-sample/README.md. Broken exports are made from
a copy of it in tmp_path; the sample itself is never touched.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import stat
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.roster_import import RosterError, RosterImport, import_roster
from gateway.commands import roster_cmd
from gateway.config import ConfigError
from gateway.directory import Directory
from gateway.roster_snapshot import load_directory, save_directory
from policies.parties import Person, Role

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "district-sample"
PROBLEM = re.compile(r"^[A-Za-z]+\.csv:[1-9]\d*: \S")


@pytest.fixture(scope="module")
def district() -> RosterImport:
    return import_roster(SAMPLE)


@pytest.fixture(scope="module")
def roster(district: RosterImport) -> Directory:
    return district.directory


def who(roster: Directory, person_id: str) -> Person:
    person = roster.person(person_id)
    assert person is not None, f"{person_id} is not on the roster"
    return person


def ids(people: tuple[Person, ...]) -> list[str]:
    return [person.person_id for person in people]


def copy_of_sample(folder: Path) -> Path:
    """A writable copy (the sample's files are read-only, so copytree's modes will not do)."""
    folder.mkdir()
    for source in SAMPLE.glob("*.csv"):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def line_of(path: Path, starts: str) -> int:
    """The physical line number of the row that starts with ``starts``."""
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(starts))


def edit_row(path: Path, starts: str, change: dict[int, str] | None = None, keep: int | None = None) -> None:
    """Change fields of the row whose line starts with ``starts`` (simple rows only: no quoted commas)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for index, line in enumerate(lines):
        if line.startswith(starts):
            fields = line.split(",")
            for position, value in (change or {}).items():
                fields[position] = value
            lines[index] = ",".join(fields[:keep] if keep is not None else fields)
    path.write_text("\n".join(lines), encoding="utf-8")


# The sample district, as its README describes it.


def test_the_sample_district_imports_whole_with_the_counts_its_readme_gives(district: RosterImport) -> None:
    assert district.problems == []
    assert district.counts == {
        "administrator": 4,
        "teacher": 17,
        "aide": 1,
        "student": 300,
        "parent": 322,
        "guardian": 41,
    }
    assert len(district.directory) == 685
    assert len(district.directory.staff()) == 22
    assert len(district.directory.students()) == 300


def test_schools_and_classes_are_known_by_name(roster: Directory) -> None:
    assert roster.school_name("org-nhs") == "Northfield High School"
    assert roster.school_name("org-pes") == "Pine Elementary"
    assert roster.school_name("org-nowhere") is None
    assert roster.class_title("class-soccer") == "Varsity Soccer"
    assert roster.class_title("class-read3") == "Reading 3"


def test_sam_patel_has_two_parents_and_each_of_them_has_sam(roster: Directory) -> None:
    sam = who(roster, "s-patel")
    assert ids(roster.guardians_of(sam)) == ["g-patel-1", "g-patel-2"]
    for parent in roster.guardians_of(sam):
        assert parent.role is Role.GUARDIAN and parent.student_ids == ("s-patel",)
    assert sam.birth_date == date(2010, 5, 14)
    assert sam.schools == ("org-nhs",) and sam.grades == ("10",)
    assert {"class-bio10", "class-pe10", "class-soccer"} <= set(sam.class_ids)


def test_jordan_kim_is_an_adult_on_the_first_of_september_and_sam_patel_is_not(roster: Directory) -> None:
    assert who(roster, "s-kim").is_adult_on(date(2026, 9, 1))
    assert not who(roster, "s-patel").is_adult_on(date(2026, 9, 1))
    adults = [s.person_id for s in roster.students() if s.is_adult_on(date(2026, 8, 15))]
    assert adults == ["s-kim"]


def test_kenji_ito_is_mei_itos_guardian_and_cannot_be_reached(roster: Directory) -> None:
    kenji = who(roster, "g-ito")
    assert ids(roster.guardians_of(who(roster, "s-ito"))) == ["g-ito"]
    assert (kenji.email, kenji.sms, kenji.phone) == (None, None, None)


def test_a_teacher_who_is_also_a_parent_is_found_twice_by_the_number_they_share(roster: Directory) -> None:
    found = roster.by_phone("+12025550112")
    assert ids(found) == ["t-okafor", "g-okafor"]
    assert [p.role for p in found] == [Role.STAFF, Role.GUARDIAN]
    assert ids(roster.guardians_of(who(roster, "s-okafor"))) == ["g-okafor"]


@pytest.mark.parametrize(
    "written",
    ["+12025550112", "+1 202 555 0112", "(202) 555-0112", "202.555.0112", "1-202-555-0112", "2025550112"],
)
def test_a_number_is_found_however_it_is_written(roster: Directory, written: str) -> None:
    assert ids(roster.by_phone(written)) == ["t-okafor", "g-okafor"]


def test_numbers_that_belong_to_no_one_find_no_one(roster: Directory) -> None:
    assert roster.by_phone("+12025550105") == ()  # the relay pool
    assert roster.by_phone("not a number") == ()
    assert roster.by_phone("") == ()


def test_a_landline_is_a_phone_not_an_sms_and_is_still_found(roster: Directory) -> None:
    mark = who(roster, "g-stone")
    assert (mark.sms, mark.phone) == (None, "+12025550134")
    assert ids(roster.by_phone("(202) 555-0134")) == ["g-stone"]


@pytest.mark.parametrize(
    "address",
    [
        "spatel@students.nusd.example.org",
        "SPatel@Students.NUSD.example.org",
        " <spatel@students.nusd.example.org>",
    ],
)
def test_an_address_is_found_in_any_case(roster: Directory, address: str) -> None:
    found = roster.by_email(address)
    assert found is not None and found.person_id == "s-patel"


def test_addresses_are_kept_lower_case_and_absent_ones_find_no_one(roster: Directory) -> None:
    assert all(p.email == p.email.lower() for p in roster.people() if p.email)
    assert roster.by_email("nobody@nusd.example.org") is None
    assert who(roster, "s-garcia-2").email is None
    assert roster.by_email("s-garcia-2") is None  # her username is not an address


def test_an_address_on_a_staff_row_and_a_family_row_finds_the_staff_member() -> None:
    parent = Person("g-lee", Role.GUARDIAN, "parent", "Ann", "Lee", email="alee@nusd.example.org")
    teacher = Person("t-lee", Role.STAFF, "teacher", "Ann", "Lee", email="alee@nusd.example.org")
    roster = Directory([parent, teacher])
    found = roster.by_email("alee@nusd.example.org")
    assert found is not None and found.person_id == "t-lee"  # she must still be able to send


def test_an_address_given_twice_is_reported_and_kept_on_both_rows(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    edit_row(users, "g-okafor,", {6: "cokafor@nusd.example.org", 12: "cokafor@nusd.example.org"})
    imported = import_roster(folder)
    line = line_of(users, "g-okafor,")
    assert imported.problems == [f"users.csv:{line}: email cokafor@nusd.example.org is also t-okafor's"]
    assert who(imported.directory, "g-okafor").email == "cokafor@nusd.example.org"  # still gets copies
    found = imported.directory.by_email("cokafor@nusd.example.org")
    assert found is not None and found.person_id == "t-okafor"


def test_supervisors_come_from_the_overlay(roster: Directory) -> None:
    assert ids(roster.supervisors_of(who(roster, "t-reyes"))) == ["a-brooks"]
    assert ids(roster.supervisors_of(who(roster, "t-lindqvist"))) == ["a-nguyen"]
    assert ids(roster.supervisors_of(who(roster, "aide-wu"))) == ["a-ellis"]
    for principal in ("a-brooks", "a-nguyen", "a-ellis"):
        assert ids(roster.supervisors_of(who(roster, principal))) == ["a-field"]


def test_rosa_field_is_district_staff_who_answers_to_no_one(roster: Directory) -> None:
    rosa = who(roster, "a-field")
    assert (rosa.role, rosa.roster_role) == (Role.STAFF, "administrator")
    assert rosa.schools == ("org-nusd",)
    assert (rosa.email, rosa.sms) == ("rfield@nusd.example.org", None)
    assert rosa.class_ids == ()
    assert roster.supervisors_of(rosa) == ()


def test_without_the_overlay_staff_answer_to_their_schools_administrators_never_to_themselves(
    tmp_path: Path,
) -> None:
    folder = copy_of_sample(tmp_path / "district")
    (folder / "supervisors.csv").unlink()
    roster = import_roster(folder).directory
    assert ids(roster.supervisors_of(who(roster, "t-reyes"))) == ["a-brooks"]
    assert ids(roster.supervisors_of(who(roster, "aide-wu"))) == ["a-ellis"]
    assert roster.supervisors_of(who(roster, "a-brooks")) == ()  # the only administrator at NHS
    assert roster.supervisors_of(who(roster, "a-field")) == ()


def test_ana_garcia_is_one_guardian_of_two_children_in_two_schools(roster: Directory) -> None:
    ana = who(roster, "g-garcia")
    assert ana.schools == ("org-lms", "org-pes")
    assert ana.student_ids == ("s-garcia", "s-garcia-2")
    for child in ("s-garcia", "s-garcia-2"):
        assert ids(roster.guardians_of(who(roster, child))) == ["g-garcia"]


def test_classes_are_those_taught_and_those_taken(roster: Directory) -> None:
    assert "class-read3" in who(roster, "aide-wu").class_ids  # a non-primary teacher enrollment counts
    assert {"class-pe10", "class-soccer"} <= set(who(roster, "t-okafor").class_ids)
    assert "class-math7" in who(roster, "s-okafor").class_ids
    assert who(roster, "g-garcia").class_ids == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Patel", ["s-patel"]),
        ("sam patel", ["s-patel"]),
        ("SAM  PATEL", ["s-patel"]),
        ("Okafor", ["s-okafor"]),  # the teacher and the parent row are not students
        ("Priya", []),  # a parent, not a student
        ("Gavin Pena", ["s-000055"]),
        ("PEÑA", ["s-000055", "s-000056", "s-000072", "s-000200", "s-000201", "s-000278", "s-000279"]),
        ("o’connor", ["s-000057"]),
        ("Van der Berg", ["s-000077"]),
        ("vanderberg", ["s-000077"]),
        ("Muller", ["s-000013", "s-000197", "s-000198", "s-000199"]),
        ("Soren Chen", ["s-000265"]),
        ("", []),
    ],
)
def test_students_are_found_by_name_without_case_or_accents(
    roster: Directory, name: str, expected: list[str]
) -> None:
    assert ids(roster.students_named(name)) == expected


def test_staff_and_guardians_are_found_by_name_apart_from_students(roster: Directory) -> None:
    # The confidential rule takes an unrostered given name for a child's unless an adult has it.
    assert ids(roster.adults_named("Dana")) == ["t-reyes"]
    assert ids(roster.adults_named("helen kim")) == ["g-kim"]
    assert roster.adults_named("Mei") == () and ids(roster.students_named("Dana")) == []


def test_family_links_are_read_from_either_side_of_agent_sourced_ids(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    text = users.read_text(encoding="utf-8")
    # Sam's row stops naming his parents; Helen Kim's row stops naming Jordan.
    text = text.replace(',"g-patel-1,g-patel-2",10,', ",,10,").replace(
        ",+12025550132,,s-kim,,", ",+12025550132,,,,"
    )
    users.write_text(text, encoding="utf-8")
    imported = import_roster(folder)
    assert imported.problems == []
    roster = imported.directory
    assert ids(roster.guardians_of(who(roster, "s-patel"))) == ["g-patel-1", "g-patel-2"]
    assert ids(roster.guardians_of(who(roster, "s-kim"))) == ["g-kim"]
    assert who(roster, "g-kim").student_ids == ("s-kim",)


# A broken export: each bad row reported where it is, and skipped; --strict refuses the lot.


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    folder = copy_of_sample(tmp_path / "broken")
    users, enrollments = folder / "users.csv", folder / "enrollments.csv"
    edit_row(users, "g-patel-1,", {13: "+1 202 555 01"})  # sms: too short to be a number
    edit_row(users, "t-0002,", keep=5)  # cut short
    edit_row(users, "t-0003,", {5: "janitor"})
    edit_row(users, "s-patel,", {1: "", 2: ""})  # blank status and dateLastModified, as bulk files have
    edit_row(users, "g-stone,", {1: "tobedeleted"})
    edit_row(enrollments, "enr-class-bio10-s-ito,", {3: "class-nowhere"})
    # As a Windows SIS writes it: a byte-order mark and CRLF line endings.
    users.write_bytes(b"\xef\xbb\xbf" + users.read_bytes().replace(b"\n", b"\r\n"))
    return folder


def test_each_bad_row_is_reported_by_file_and_line_and_skipped(broken: Path) -> None:
    users, enrollments = broken / "users.csv", broken / "enrollments.csv"
    imported = import_roster(broken)
    roster = imported.directory

    assert [p for p in imported.problems if p.startswith("users.csv")] == [
        f"users.csv:{line_of(users, 't-0002,')}: 5 fields where the header has 18",
        f"users.csv:{line_of(users, 't-0003,')}: role 'janitor' is not a OneRoster user role",
        f"users.csv:{line_of(users, 'g-patel-1,')}: sms '+1 202 555 01' is not a valid phone number; "
        "imported without it",
    ]
    assert roster.person("t-0002") is None and roster.person("t-0003") is None
    missing_class = line_of(enrollments, "enr-class-bio10-s-ito,")
    assert f"enrollments.csv:{missing_class}: class 'class-nowhere' is not on the roster" in imported.problems
    assert "class-bio10" not in who(roster, "s-ito").class_ids
    # What the skipped teachers taught and who supervised them are reported too, not silently lost.
    assert any(p.endswith("user 't-0003' is not on the roster") for p in imported.problems)
    assert all(PROBLEM.match(problem) for problem in imported.problems)


def test_a_guardian_with_a_bad_number_still_gets_copies_by_email(broken: Path) -> None:
    roster = import_roster(broken).directory
    priya = who(roster, "g-patel-1")
    assert (priya.email, priya.sms) == ("priya.patel@example.net", None)
    assert ids(roster.guardians_of(who(roster, "s-patel"))) == ["g-patel-1", "g-patel-2"]


def test_bom_crlf_and_blank_status_rows_are_read_like_any_other(broken: Path) -> None:
    roster = import_roster(broken).directory
    assert len(roster) == 685 - 3  # all but the two bad rows and the one to be deleted
    assert who(roster, "a-field").email == "rfield@nusd.example.org"  # the first row, right after the BOM
    assert who(roster, "s-patel").sms == "+12025550121"  # blank status: a bulk row is active
    assert who(roster, "s-patel").grades == ("10",)


def test_rows_to_be_deleted_are_left_out_without_complaint(broken: Path) -> None:
    imported = import_roster(broken)
    assert imported.directory.person("g-stone") is None
    assert imported.directory.guardians_of(who(imported.directory, "s-nophone")) == ()
    assert not any("g-stone" in problem for problem in imported.problems)


def test_strict_mode_refuses_an_export_with_any_bad_row_and_lists_them_all(broken: Path) -> None:
    lenient = import_roster(broken)
    with pytest.raises(RosterError) as refused:
        import_roster(broken, strict=True)
    assert refused.value.problems == lenient.problems
    assert len(lenient.problems) > 3


def test_strict_mode_accepts_a_clean_export() -> None:
    assert import_roster(SAMPLE, strict=True).problems == []


def test_a_row_with_an_unclosed_quote_is_reported_where_it_starts_with_the_lines_it_swallowed(
    tmp_path: Path,
) -> None:
    folder = copy_of_sample(tmp_path / "district")
    users = folder / "users.csv"
    line = line_of(users, "aide-wu,")
    assert line_of(users, "s-patel,") == line + 1
    edit_row(users, "aide-wu,", {4: '"org-pes'})  # the quote closes only inside Sam Patel's row
    imported = import_roster(folder)
    assert imported.problems[0] == (
        f"users.csv:{line}: 8 fields where the header has 18 "
        f"(the row runs on to line {line + 1}: an unclosed quote?)"
    )
    roster = imported.directory
    assert roster.person("aide-wu") is None and roster.person("s-patel") is None
    assert who(roster, "s-kim").email == "jkim@students.nusd.example.org"  # the rows after it import


@pytest.mark.parametrize("needed", ["users.csv", "enrollments.csv", "classes.csv", "orgs.csv"])
def test_an_export_without_a_file_the_directory_needs_is_refused(tmp_path: Path, needed: str) -> None:
    folder = copy_of_sample(tmp_path / "district")
    (folder / needed).unlink()
    with pytest.raises(RosterError, match=f"{needed} is missing"):
        import_roster(folder)


def test_an_export_without_a_manifest_or_with_a_delta_is_refused(tmp_path: Path) -> None:
    folder = copy_of_sample(tmp_path / "district")
    manifest = folder / "manifest.csv"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("file.users,bulk", "file.users,delta"))
    with pytest.raises(RosterError, match=r"manifest.csv:\d+: users.csv is a delta export"):
        import_roster(folder)
    manifest.unlink()
    with pytest.raises(RosterError, match=r"manifest\.csv is missing"):
        import_roster(folder)


def test_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="no such roster folder"):
        import_roster(tmp_path / "nowhere")


# The snapshot the relay loads at start.


def test_a_saved_directory_loads_back_equal(roster: Directory, tmp_path: Path) -> None:
    snapshot = tmp_path / "data" / "roster.json"
    save_directory(roster, snapshot)
    loaded = load_directory(snapshot)
    assert loaded == roster
    assert loaded.counts() == roster.counts()
    assert ids(loaded.by_phone("(202) 555-0112")) == ["t-okafor", "g-okafor"]
    assert ids(loaded.students_named("pena gavin")) == []  # names are matched in their own order
    assert loaded.class_title("class-soccer") == "Varsity Soccer"
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600  # it holds students' details
    assert os.listdir(snapshot.parent) == ["roster.json"]  # no temporary file left behind


def test_a_relay_without_a_snapshot_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no roster imported yet: run `chaperone roster import DIR`"):
        load_directory(tmp_path / "roster.json")


def test_a_damaged_snapshot_is_a_clear_error(roster: Directory, tmp_path: Path) -> None:
    snapshot = tmp_path / "roster.json"
    save_directory(roster, snapshot)
    snapshot.write_bytes(snapshot.read_bytes()[:1000])
    with pytest.raises(ConfigError, match="roster snapshot unreadable"):
        load_directory(snapshot)


# `chaperone roster import`.


def run_cli(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="chaperone")
    parser.add_argument("--config")
    roster_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["--config", str(config), *argv])
    code: int = args.run(args)
    return code


def write_config(tmp_path: Path, roster_folder: Path) -> Path:
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[roster]\npath = "{roster_folder}"\n', encoding="utf-8"
    )
    return config


def test_roster_import_prints_counts_and_saves_the_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, tmp_path / "not-used")
    assert run_cli(config, "roster", "import", str(SAMPLE)) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [  # the compliance officer answers to no one, and no contact is configured
        "warning: 1 staff member(s) have no supervisor: a-field (Rosa Field); their mail to students has "
        "no district-side copy (add them to supervisors.csv)"
    ]
    assert re.search(r"^parent\s+322$", out, re.MULTILINE)
    assert re.search(r"^total\s+685$", out, re.MULTILINE)
    assert load_directory(tmp_path / "data" / "roster.json") == import_roster(SAMPLE).directory


def test_a_failed_import_leaves_the_previous_snapshot_in_force(
    tmp_path: Path, broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, broken)  # the configured folder is the broken one
    snapshot = tmp_path / "data" / "roster.json"
    assert run_cli(config, "roster", "import", str(SAMPLE)) == 0
    before = snapshot.read_bytes()
    capsys.readouterr()

    assert run_cli(config, "roster", "import", "--strict") == 1
    _, err = capsys.readouterr()
    assert f"users.csv:{line_of(broken / 'users.csv', 't-0003,')}: role 'janitor'" in err
    assert "roster not imported; the previous directory" in err
    assert snapshot.read_bytes() == before

    assert run_cli(config, "roster", "import", str(tmp_path / "nowhere")) == 1
    assert "no such roster folder" in capsys.readouterr().err
    assert snapshot.read_bytes() == before
    assert os.listdir(snapshot.parent) == ["roster.json"]


def test_without_strict_a_broken_export_imports_what_it_can_and_lists_the_rest(
    tmp_path: Path, broken: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    snapshot = tmp_path / "data" / "roster.json"
    assert roster_cmd.import_into(broken, snapshot, out=out, err=err) == 0
    problems = [line for line in err.getvalue().splitlines() if not line.startswith("warning: ")]
    assert all(PROBLEM.match(line) for line in problems)
    assert len(problems) == len(import_roster(broken).problems)
    assert load_directory(snapshot).person("t-0003") is None


# Whatever bytes users.csv holds, the import answers with reported problems, never a crash.

CSV_PIECES = st.sampled_from(
    [
        b",",
        b'"',
        b'""',
        b"\r\n",
        b"\n",
        b"\r",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\xff\xfe",
        b"\xc3",
        b"\xe2\x80\xa8",
        b"student",
        b"teacher",
        b"parent",
        b"janitor",
        b"active",
        b"tobedeleted",
        b"s-patel",
        b"g-patel-1",
        b"org-nhs",
        b'"g-patel-1,s-patel"',
        b"+12025550112",
        b"(202) 555-01",
        b"x@y",
        b" ",
        b",,,,,,,,,,,,,,,,,",
    ]
)
GARBAGE = st.one_of(
    st.binary(max_size=300), st.lists(CSV_PIECES | st.binary(max_size=6), max_size=60).map(b"".join)
)


@pytest.fixture(scope="module")
def small_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's schools and classes with nobody enrolled, so every problem comes from users.csv."""
    folder = copy_of_sample(tmp_path_factory.mktemp("fuzz") / "district")
    for name in ("enrollments.csv", "demographics.csv"):
        path = folder / name
        path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    (folder / "supervisors.csv").unlink()
    return folder


USERS_HEADER = (SAMPLE / "users.csv").read_bytes().split(b"\n", 1)[0] + b"\n"
USER_ROWS = b"".join((SAMPLE / "users.csv").read_bytes().splitlines(keepends=True)[1:40])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=GARBAGE, cut=st.integers(min_value=0, max_value=len(USER_ROWS)))
def test_rows_of_any_bytes_become_reported_problems(small_district: Path, garbage: bytes, cut: int) -> None:
    users = USERS_HEADER + USER_ROWS[:cut] + garbage + USER_ROWS[cut:]
    (small_district / "users.csv").write_bytes(users)
    imported = import_roster(small_district)
    lines = users.count(b"\n") + users.count(b"\r") + 1
    for problem in imported.problems:
        assert PROBLEM.match(problem) and problem.startswith("users.csv:"), problem
        assert int(problem.split(":")[1]) <= lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=GARBAGE)
def test_a_users_file_of_any_bytes_is_imported_or_refused_with_reasons(
    small_district: Path, content: bytes
) -> None:
    (small_district / "users.csv").write_bytes(content)
    try:
        problems = import_roster(small_district).problems
    except RosterError as refused:
        problems = refused.problems
        assert problems
    for problem in problems:
        assert problem.startswith("users.csv:"), problem
