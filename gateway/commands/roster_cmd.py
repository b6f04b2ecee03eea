"""`chaperone roster import [DIR] [--strict]`: import the district's OneRoster export as the directory.

Problems go to standard error, one ``file:line: reason`` each, so an administrator can fix the SIS
export; the counts per role go to standard output. The snapshot is replaced only by a successful import:
when the folder cannot be read, or --strict meets a bad row, the relay keeps the directory it had.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from adapters.roster_import import RosterError, import_roster
from gateway.config import load_settings
from gateway.roster_snapshot import roster_snapshot_path, save_directory


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = groups.add_parser("roster", help="the district directory")
    actions = roster.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="import a OneRoster 1.1 CSV export as the directory")
    importing.add_argument(
        "folder", nargs="?", type=Path, default=None, help="the export folder (default: [roster] path)"
    )
    importing.add_argument("--strict", action="store_true", help="refuse the whole import if any row is bad")
    importing.set_defaults(run=_import)


def _import(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    folder: Path = args.folder if args.folder is not None else settings.roster.path
    return import_into(folder, roster_snapshot_path(settings), strict=args.strict)


def import_into(
    folder: Path,
    snapshot: Path,
    *,
    strict: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Import ``folder`` and replace ``snapshot`` with it; the exit status of `roster import`."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        imported = import_roster(folder, strict=strict)
    except RosterError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        print(f"chaperone: roster not imported; {_kept(snapshot)}", file=err)
        return 1
    for problem in imported.problems:
        print(problem, file=err)
    for role, count in imported.counts.items():
        print(f"{role:<15}{count:>8}", file=out)
    print(f"{'total':<15}{len(imported.directory):>8}", file=out)
    try:
        save_directory(imported.directory, snapshot)
    except OSError as exc:
        print(f"chaperone: cannot write {snapshot}: {exc.strerror or exc}; {_kept(snapshot)}", file=err)
        return 1
    skipped = f", {len(imported.problems)} problem(s) above" if imported.problems else ""
    print(f"saved {snapshot}{skipped}; the relay reads it when it starts", file=out)
    return 0


def _kept(snapshot: Path) -> str:
    if snapshot.exists():
        return f"the previous directory in {snapshot} stays in force"
    return "there is no directory yet"
