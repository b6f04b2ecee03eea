"""`chaperone staff set-password EMAIL`: give a staff member the app password their mail client uses."""

from __future__ import annotations

import argparse
import getpass
import sys

from gateway.config import load_settings
from gateway.credentials import StaffCredentials
from gateway.roster_snapshot import load_directory, roster_snapshot_path
from policies.parties import Role

MIN_LENGTH = 12


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = groups.add_parser("staff", help="staff accounts")
    actions = staff.add_subparsers(dest="action", required=True)
    set_password = actions.add_parser("set-password", help="set a staff member's app password")
    set_password.add_argument("email", help="the staff member's district address")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    set_password.set_defaults(run=_set_password)


def _set_password(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    person = load_directory(roster_snapshot_path(settings)).by_email(args.email)
    if person is None or person.role is not Role.STAFF:
        print(f"chaperone: {args.email} is not a staff member on the imported roster", file=sys.stderr)
        return 1
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"App password for {person.email}: ")
        if getpass.getpass("Again: ") != password:
            print("chaperone: the passwords differ", file=sys.stderr)
            return 1
    if len(password) < MIN_LENGTH:
        print(f"chaperone: an app password needs at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    StaffCredentials(settings.data_dir).set_password(args.email, password)
    print(f"app password set for {person.display_name} <{person.email}>")
    return 0
