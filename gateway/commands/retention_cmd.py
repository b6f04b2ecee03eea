"""`chaperone archive hold|release|holds|purge`: legal holds and the retention schedule
(gateway/retention.py).

- ``hold --case NAME --by WHO (--person ID | --message ID)...`` places a legal hold.
- ``release --case NAME --by WHO`` releases every hold of the case.
- ``holds [--all]`` lists the holds in force (or every hold ever placed).
- ``purge --by WHO [--dry-run]`` disposes of what ``[archive] retention_years`` no longer keeps.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from gateway.commands.running import with_store
from gateway.config import load_settings
from gateway.retention import Retention


def add_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    holding = actions.add_parser("hold", help="place a legal hold on people's or messages' records")
    holding.add_argument("--case", required=True, help="the case the hold is for")
    holding.add_argument("--by", required=True, help="who orders it")
    covered = holding.add_mutually_exclusive_group(required=True)
    covered.add_argument("--person", action="append", help="a staff member's, student's or guardian's id")
    covered.add_argument("--message", action="append", help="a message id")
    holding.set_defaults(run=_hold)
    releasing = actions.add_parser("release", help="release every legal hold of a case")
    releasing.add_argument("--case", required=True)
    releasing.add_argument("--by", required=True)
    releasing.set_defaults(run=_release)
    listing = actions.add_parser("holds", help="the legal holds in force, as JSON lines")
    listing.add_argument("--all", action="store_true", help="released ones too")
    listing.set_defaults(run=_holds)
    purging = actions.add_parser("purge", help="dispose of what the retention schedule no longer keeps")
    purging.add_argument("--by", required=True, help="who runs it (recorded)")
    purging.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    purging.set_defaults(run=_purge)


def _hold(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    scope, subjects = ("person", args.person) if args.person else ("message", args.message)
    holds = with_store(
        settings,
        lambda store: Retention(store, settings.archive.retention_years).place_hold(
            args.case, scope, subjects, args.by
        ),
    )
    for hold in holds:
        print(json.dumps(asdict(hold)))
    return 0


def _release(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    released = with_store(
        settings, lambda store: Retention(store, settings.archive.retention_years).release(args.case, args.by)
    )
    print(f"released {len(released)} holds of case {args.case}")
    return 0 if released else 1


def _holds(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    for hold in with_store(settings, lambda store: store.legal_holds(in_force=not args.all)):
        print(json.dumps(asdict(hold)))
    return 0


def _purge(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    report = with_store(
        settings,
        lambda store: Retention(store, settings.archive.retention_years).purge(args.by, dry_run=args.dry_run),
    )
    verb = "would dispose of" if args.dry_run else "disposed of"
    print(
        f"{verb} {len(report.messages)} messages recorded before {report.cutoff}: {report.bodies} bodies,"
        f" {report.openings} records' personal values; kept {report.held} under legal hold"
        f" and {report.shared} bodies a kept message shares"
    )
    return 0
