"""`chaperone portal invite`: invite guardians to the portal by e-mail (gateway.invitations).

- ``invite --guardian ID_OR_EMAIL ...`` invites these guardians; ``invite --all`` every guardian on the
  roster who has an e-mail address. The invitations go out through the relay's own delivery.
"""

from __future__ import annotations

import argparse
import sys

from archive.changes import Changes
from archive.store import Store
from gateway.commands.running import with_store
from gateway.config import load_settings
from gateway.invitations import Invitations, invite
from gateway.roster_snapshot import load_directory, roster_snapshot_path
from policies.parties import Person, Role


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    portal = groups.add_parser("portal", help="the portal: guardians' invitations")
    actions = portal.add_subparsers(dest="action", required=True)
    inviting = actions.add_parser("invite", help="e-mail guardians a link to choose their portal password")
    chosen = inviting.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--guardian", action="append", help="a guardian's sourcedId or e-mail")
    chosen.add_argument("--all", action="store_true", help="every guardian on the roster with an e-mail")
    inviting.set_defaults(run=_invite)


def _invite(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    directory = load_directory(roster_snapshot_path(settings))
    everyone = [p for p in directory.people() if p.role is Role.GUARDIAN]
    if args.all:
        chosen = everyone
    else:
        chosen = []
        for given in args.guardian:
            person = directory.by_email(given) or directory.person(given)
            if person is None or person.role is not Role.GUARDIAN:
                print(f"chaperone: {given} is not a guardian on the imported roster", file=sys.stderr)
                return 1
            chosen.append(person)
    reachable = [p for p in chosen if p.email]
    for person in chosen:
        if not person.email:
            print(f"{person.display_name} ({person.person_id}): no e-mail address on the roster, not invited")
    invitations = Invitations(settings.data_dir)

    async def send(store: Store) -> None:
        changes = Changes()
        for guardian in reachable:
            invite(changes, settings, invitations, guardian)
        await store.commit(changes)
        doorbell = store.doorbell()  # a running relay's delivery process sends them now
        doorbell.ring()
        await doorbell.close()

    with_store(settings, send)
    for person in reachable:
        print(f"invited {_named(person)}")
    return 0


def _named(person: Person) -> str:
    return f"{person.display_name} <{person.email}>"
