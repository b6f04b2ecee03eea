"""`chaperone archive search|export|verify-export|accesses`: the investigator's command line, with the
portal's filters and windows (gateway.archive_reader, gateway.archive_access), its case files
(gateway.case_export) and the archive's own access log.

Whoever runs it names who they are with ``--as`` (their district e-mail; default the compliance contact):
the search is scoped to that person's window and archived under their name, exactly as in the portal.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from archive.checkpoints import private_key, public_key
from archive.models import SearchQuery
from archive.records import RecordKind
from archive.store import Store
from gateway.archive_access import NoWindow, Viewer, viewer
from gateway.archive_reader import AUDIT_KINDS, ArchiveReader, search_query
from gateway.case_export import MAX_MESSAGES, CaseFile, ExportRefused, export, verify_export
from gateway.commands.running import with_store
from gateway.config import ConfigError, Settings, load_settings
from gateway.evidence import Notary
from gateway.roster_snapshot import load_directory, roster_snapshot_path

FILTERS = ("staff", "student", "guardian", "school", "channel", "direction", "action", "category", "thread",
           "since", "until")  # fmt: skip


def add_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    searching = actions.add_parser("search", help="search the archive, newest first, as JSON lines")
    _filters(searching, limit=50)
    searching.set_defaults(run=_search)
    exporting = actions.add_parser("export", help="a case file (zip) of what a search finds, with proofs")
    _filters(exporting, limit=MAX_MESSAGES)
    exporting.add_argument("--out", type=Path, required=True, help="the zip to write")
    exporting.set_defaults(run=_export)
    listing = actions.add_parser(
        "accesses", help="who searched, viewed, exported and signed in, as JSON lines"
    )
    listing.add_argument("--since", help="YYYY-MM-DD")
    listing.set_defaults(run=_accesses)
    checking = actions.add_parser("verify-export", help="check a case file offline; exit 1 on any problem")
    checking.add_argument("zip", type=Path)
    checking.add_argument("--public-key", help="the district's public key (default: from the config)")
    checking.set_defaults(run=_verify_export)


def _filters(parser: argparse.ArgumentParser, *, limit: int) -> None:
    parser.add_argument("words", nargs="*", help='words, or "a quoted phrase", all of which must match')
    parser.add_argument("--as", dest="who", help="your district e-mail (default: the compliance contact)")
    for name in FILTERS:
        parser.add_argument(f"--{name}", help=_HELP.get(name))
    parser.add_argument("--limit", type=int, default=limit)


_HELP = {
    "staff": "a staff member's sourcedId", "student": "a student's sourcedId",
    "guardian": "a guardian's sourcedId", "school": "a school's sourcedId", "channel": "email or sms",
    "direction": "from_staff or to_staff", "action": "deliver, defer, flag, hold or block",
    "category": "a content category (secrecy, threat, ...)", "thread": "one conversation",
    "since": "YYYY-MM-DD", "until": "YYYY-MM-DD (that whole day included)",
}  # fmt: skip


def searcher(settings: Settings, who: str | None) -> Viewer:
    directory = load_directory(roster_snapshot_path(settings))
    email = who or settings.district.compliance_contact
    if not email:
        raise ConfigError("say who you are with --as (no [district] compliance_contact is set)")
    person = directory.by_email(email)
    if person is None:
        raise ConfigError(f"{email} is not on the roster")
    try:
        return viewer(person, settings, directory)
    except NoWindow as refusal:
        raise ConfigError(str(refusal)) from refusal


def _query(args: argparse.Namespace, most: int) -> SearchQuery | None:
    asked = {name: getattr(args, name) for name in FILTERS if getattr(args, name)}
    try:
        query = search_query({"q": " ".join(f'"{w}"' if " " in w else w for w in args.words), **asked})
    except ValueError as error:
        print(f"chaperone: {error}", file=sys.stderr)
        return None
    return replace(query, limit=max(1, min(args.limit, most)))


def _search(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    who = searcher(settings, args.who)
    query = _query(args, 500)
    if query is None:
        return 2
    hits = with_store(settings, lambda store: ArchiveReader(store).search(who, query, via="cli"))
    for hit in hits:
        print(json.dumps({
            "message_id": hit.message_id, "recorded_at": hit.recorded_at, "channel": hit.channel,
            "direction": hit.direction, "action": hit.action, "categories": list(hit.categories),
            "sender": hit.sender_id, "subject": hit.subject, "thread": hit.thread,
        }))  # fmt: skip
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    who = searcher(settings, args.who)
    query = _query(args, MAX_MESSAGES)
    if query is None:
        return 2
    key = settings.archive.signing_key()

    async def run(store: Store) -> CaseFile:
        notary = Notary(store, private_key(key), settings.archive.witness) if key else None
        return await export(store, who, query, via="cli", notary=notary)

    try:
        case = with_store(settings, run)
    except ExportRefused as refusal:
        print(f"chaperone: {refusal}", file=sys.stderr)
        return 1
    args.out.write_bytes(case.content)
    unproven = "NOT all proven: no checkpoint covers them" + ("" if key else " (no [archive] checkpoint_key)")
    proven = "with proofs against a signed checkpoint" if case.proven else unproven
    print(f"{args.out}: {case.messages} messages, {proven}")
    return 0


def _verify_export(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    text = args.public_key or settings.archive.checkpoint_public_key
    key = settings.archive.signing_key()
    if not text and not key:
        raise ConfigError("a case file is checked with the district's public key: --public-key")
    public = public_key(text) if text else private_key(str(key)).public_key()
    problems = verify_export(args.zip.read_bytes(), public)
    for problem in problems:
        print(problem)
    print(f"{args.zip}: {'verified' if not problems else f'{len(problems)} problems'}")
    return 0 if not problems else 1


def _accesses(args: argparse.Namespace) -> int:
    """The archive's own access log: every search, thread view, refused view, export and portal sign-in."""
    settings = load_settings(args.config)
    try:
        since = search_query({"since": args.since}).since if args.since else None
    except ValueError as error:
        print(f"chaperone: {error}", file=sys.stderr)
        return 2
    kinds = [*AUDIT_KINDS, str(RecordKind.EXPORTED), str(RecordKind.SIGNED_IN)]
    found = with_store(settings, lambda store: store.records(kinds=kinds))
    for record in found:
        if since is None or record.recorded_at >= since:
            print(
                json.dumps(
                    {"seq": record.seq, "kind": record.kind, "at": record.recorded_at, **record.payload}
                )
            )
    return 0
