"""`chaperone roster import [DIR] [--strict] [--accept-drop]`: import the district's OneRoster export as
the directory.

Problems go to standard error, one ``file:line: reason`` each, so an administrator can fix the SIS
export, and so do warnings (staff whose mail to students no supervisor would see); the counts per role go to
standard output. The snapshot is replaced only by a successful import: when the folder cannot be read,
when --strict meets a bad row, or when the import would drop more than [roster] max_drop_percent of the
guardian links, students or staff of the roster in force (a damaged export looks like that, and the relay
would follow it within seconds) and --accept-drop does not confirm it, the relay keeps the directory it had.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from adapters.roster_import import RosterError, RosterImport, import_roster
from gateway.config import ConfigError, load_settings
from gateway.directory import Directory
from gateway.roster_snapshot import load_directory, roster_snapshot_path, save_directory

DEFAULT_MAX_DROP_PERCENT = 5.0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = groups.add_parser("roster", help="the district directory")
    actions = roster.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="import a OneRoster 1.1 CSV export as the directory")
    importing.add_argument(
        "folder", nargs="?", type=Path, default=None, help="the export folder (default: [roster] path)"
    )
    importing.add_argument("--strict", action="store_true", help="refuse the whole import if any row is bad")
    importing.add_argument(
        "--accept-drop",
        action="store_true",
        help="import even if it drops more than [roster] max_drop_percent of the guardian links, students "
        "or staff of the roster in force",
    )
    importing.set_defaults(run=_import)


def _import(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    folder: Path = args.folder if args.folder is not None else settings.roster.path
    fallback = settings.roster.supervisor_fallback == "compliance"
    return import_into(
        folder,
        roster_snapshot_path(settings),
        strict=args.strict,
        accept_drop=args.accept_drop,
        max_drop_percent=settings.roster.max_drop_percent,
        supervisor_fallback=settings.district.compliance_contact if fallback else None,
    )


def import_into(
    folder: Path,
    snapshot: Path,
    *,
    strict: bool = False,
    accept_drop: bool = False,
    max_drop_percent: float = DEFAULT_MAX_DROP_PERCENT,
    supervisor_fallback: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import ``folder`` and replace ``snapshot`` with it; the exit status of `roster import`.
    ``supervisor_fallback`` is the compliance contact's address, or None (see ``import_roster``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        imported = import_roster(folder, strict=strict, supervisor_fallback=supervisor_fallback)
    except RosterError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        print(f"chaperone: roster not imported; {_kept(snapshot)}", file=err)
        return 1
    for problem in imported.problems:
        print(problem, file=err)
    for warning in imported.warnings:
        print(f"warning: {warning}", file=err)
    if not _drop_allowed(imported.directory, snapshot, max_drop_percent, accept_drop, out, err):
        return 1
    for role, count in imported.counts.items():
        print(f"{role:<15}{count:>8}", file=out)
    print(f"{'total':<15}{len(imported.directory):>8}", file=out)
    try:
        save_directory(imported.directory, snapshot)
    except OSError as exc:
        print(f"chaperone: cannot write {snapshot}: {exc.strerror or exc}; {_kept(snapshot)}", file=err)
        return 1
    print(f"saved {snapshot}{_above(imported)}; the relay reads it when it starts", file=out)
    return 0


@dataclass(frozen=True, slots=True)
class Change:
    """One kind of thing the roster holds: how many the roster in force has, the import has, and how many
    of those in force the import no longer has."""

    kind: str
    before: int
    after: int
    dropped: int

    @property
    def percent_dropped(self) -> float:
        return 100.0 * self.dropped / self.before if self.before else 0.0

    def __str__(self) -> str:
        share = f" ({self.percent_dropped:.1f}%)" if self.dropped else ""
        return f"{self.kind:<15}{self.before:>8}{self.after:>8}{self.dropped:>9}{share}"


def changes(before: Directory, after: Directory) -> list[Change]:
    """What an import would change, by identity (a student replaced by another is one dropped)."""
    found = []
    for kind, members in _KINDS:
        was, now = members(before), members(after)
        found.append(Change(kind, len(was), len(now), len(was - now)))
    return found


def _guardian_links(directory: Directory) -> set[Hashable]:
    return {(s.person_id, g) for s in directory.students() for g in s.guardian_ids}


def _students(directory: Directory) -> set[Hashable]:
    return {student.person_id for student in directory.students()}


def _staff(directory: Directory) -> set[Hashable]:
    return {staff.person_id for staff in directory.staff()}


# What a damaged export loses first, and what the relay's copies depend on.
_KINDS: tuple[tuple[str, Callable[[Directory], set[Hashable]]], ...] = (
    ("guardian links", _guardian_links),
    ("students", _students),
    ("staff", _staff),
)


def _drop_allowed(
    imported: Directory, snapshot: Path, max_percent: float, accept_drop: bool, out: TextIO, err: TextIO
) -> bool:
    """Whether the import may replace the roster in force; says why not, with the counts, if it may not."""
    if not snapshot.exists():
        return True  # the first import: nothing to lose
    try:
        in_force = load_directory(snapshot)
    except ConfigError as exc:
        # The relay still runs on the roster it loaded before; without it nothing shows what would be lost.
        if accept_drop:
            return True
        print(
            f"{exc}\nchaperone: roster not imported: cannot compare it with the roster in force; if the "
            "export is right, run again with --accept-drop",
            file=err,
        )
        return False
    found = changes(in_force, imported)
    if all(change.percent_dropped <= max_percent for change in found):
        return True
    table = "\n".join([f"{'':<15}{'before':>8}{'after':>8}{'dropped':>9}", *map(str, found)])
    if accept_drop:
        print(f"{table}\naccepted with --accept-drop", file=out)
        return True
    print(
        f"chaperone: roster not imported: it would drop more than {max_percent:g}% of what the roster "
        f"in force holds\n{table}\nif the export is right (a new school year), run again with "
        f"--accept-drop; {_kept(snapshot)}",
        file=err,
    )
    return False


def _above(imported: RosterImport) -> str:
    counted = [(len(imported.problems), "problem(s)"), (len(imported.warnings), "warning(s)")]
    said = [f"{count} {what}" for count, what in counted if count]
    return f", {' and '.join(said)} above" if said else ""


def _kept(snapshot: Path) -> str:
    if snapshot.exists():
        return f"the previous directory in {snapshot} stays in force"
    return "there is no directory yet"
