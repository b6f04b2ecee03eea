"""`chaperone review list|show|approve|reject`: a supervisor's review queue, until the portal exists.

Only a supervisor of the sender (or the district compliance contact) may approve or reject; every action
is archived with the reviewer and their comment.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from archive.backends import open_store
from gateway import conversations
from gateway.config import Settings, load_settings
from gateway.review import ReviewDesk, ReviewError
from gateway.roster_snapshot import load_directory, roster_snapshot_path

T = TypeVar("T")


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("review", help="the supervisors' review queue")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="messages waiting for review").set_defaults(run=_list)
    show = actions.add_parser("show", help="one message: decision, findings and text")
    show.add_argument("message_id")
    show.set_defaults(run=_show)
    for verb in ("approve", "reject"):
        command = actions.add_parser(verb, help=f"{verb} a held message")
        command.add_argument("message_id")
        command.add_argument("--reviewer", required=True, help="the supervisor's district address")
        command.add_argument(
            "--comment", required=verb == "reject", default="", help="why (sent to the sender)"
        )
        command.set_defaults(run=_decide, approve=verb == "approve")


def _list(args: argparse.Namespace) -> int:
    waiting = _with_desk(load_settings(args.config), lambda desk: desk.waiting())
    if not waiting:
        print("The review queue is empty.")
        return 0
    for item in waiting:
        print(f"{item.message_id}  {item.action:<5}  {item.opened_at}  {item.sender}  {item.subject or ''}")
        print(f"    {item.reasons}")
    return 0


def _show(args: argparse.Namespace) -> int:
    records = _with_desk(load_settings(args.config), lambda desk: desk.history(args.message_id))
    if not records:
        print(f"chaperone: no archived message {args.message_id}", file=sys.stderr)
        return 1
    for record in records:
        shown = {
            "kind": record.kind,
            "message_id": record.message_id,
            "recorded_at": record.recorded_at,
            "payload": record.payload,
        }
        # A conversation address is a way in for whoever reads it: only its first characters are shown.
        print(json.dumps(conversations.mask_tokens(shown), indent=2, ensure_ascii=False, sort_keys=True))
    return 0


def _decide(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        outcome = _with_desk(
            settings,
            lambda desk: desk.decide(
                args.message_id,
                approve=args.approve,
                reviewer=args.reviewer,
                comment=args.comment,
                operator=_operator(),
            ),
            roster=True,
        )
    except ReviewError as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        return 1
    print(f"{outcome.message_id}: {outcome.state} by {args.reviewer}")
    return 0


def _with_desk(settings: Settings, work: Callable[[ReviewDesk], Awaitable[T]], *, roster: bool = False) -> T:
    directory = load_directory(roster_snapshot_path(settings)) if roster else None

    async def run() -> T:
        store = open_store(settings.archive.url)
        await store.start()
        try:
            done = await work(ReviewDesk(settings, store, directory))
            if roster:
                # A verdict releases copies (or queues the sender's notice) that may go now: tell a
                # running relay's delivery process.
                doorbell = store.doorbell()
                doorbell.ring()
                await doorbell.close()
            return done
        finally:
            await store.close()

    return asyncio.run(run())


def _operator() -> dict[str, Any]:
    """Who ran the command on this machine. Until reviewers sign in (the portal), ``--reviewer`` is only
    what the operator typed: the archive keeps the operating-system account beside it."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container without passwd entry): the uid still says who
        user = ""
    return {"os_user": user, "uid": os.getuid(), "host": socket.gethostname()}
