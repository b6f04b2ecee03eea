"""`chaperone archive search`: the investigator's command line, with the portal's filters and windows
(gateway.archive_reader, gateway.archive_access).

Whoever runs it names who they are with ``--as`` (their district e-mail; default the compliance contact):
the search is scoped to that person's window and archived under their name, exactly as in the portal.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from gateway.archive_access import NoWindow, Viewer, viewer
from gateway.archive_reader import ArchiveReader, search_query
from gateway.commands.running import with_store
from gateway.config import ConfigError, Settings, load_settings
from gateway.roster_snapshot import load_directory, roster_snapshot_path

FILTERS = ("staff", "student", "guardian", "school", "channel", "direction", "action", "category", "thread",
           "since", "until")  # fmt: skip


def add_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    searching = actions.add_parser("search", help="search the archive, newest first, as JSON lines")
    searching.add_argument("words", nargs="*", help='words, or "a quoted phrase", all of which must match')
    searching.add_argument("--as", dest="who", help="your district e-mail (default: the compliance contact)")
    for name in FILTERS:
        searching.add_argument(f"--{name}", help=_HELP.get(name))
    searching.add_argument("--limit", type=int, default=50)
    searching.set_defaults(run=_search)


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


def _search(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    who = searcher(settings, args.who)
    asked = {name: getattr(args, name) for name in FILTERS if getattr(args, name)}
    try:
        query = search_query({"q": " ".join(f'"{w}"' if " " in w else w for w in args.words), **asked})
    except ValueError as error:
        print(f"chaperone: {error}", file=sys.stderr)
        return 2
    query = replace(query, limit=max(1, min(args.limit, 500)))
    hits = with_store(settings, lambda store: ArchiveReader(store).search(who, query, via="cli"))
    for hit in hits:
        print(json.dumps({
            "message_id": hit.message_id, "recorded_at": hit.recorded_at, "channel": hit.channel,
            "direction": hit.direction, "action": hit.action, "categories": list(hit.categories),
            "sender": hit.sender_id, "subject": hit.subject, "thread": hit.thread,
        }))  # fmt: skip
    return 0
