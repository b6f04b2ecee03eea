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
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from archive.sqlite import SqliteStore, Writer
from gateway import conversations, notices, review
from gateway.config import Settings, load_settings
from gateway.decide import PolicyDecider
from gateway.directory import Directory
from gateway.doorbell import Doorbell
from gateway.models import Purpose, Recipient, Submission
from gateway.roster_snapshot import load_directory, roster_snapshot_path
from policies.decision import Action
from policies.parties import Role

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
    settings = load_settings(args.config)
    waiting = asyncio.run(_read(settings, review.pending))
    if not waiting:
        print("The review queue is empty.")
        return 0
    for item in waiting:
        print(f"{item.message_id}  {item.action:<5}  {item.opened_at}  {item.sender}  {item.subject or ''}")
        print(f"    {item.reasons}")
    return 0


def _show(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    def load(connection: sqlite3.Connection) -> list[dict[str, Any]]:
        rows = connection.execute(
            "SELECT canonical FROM records WHERE message_id = ? ORDER BY seq", (args.message_id,)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    records = asyncio.run(_read(settings, load))
    if not records:
        print(f"chaperone: no archived message {args.message_id}", file=sys.stderr)
        return 1
    for record in records:
        # A conversation address is a way in for whoever reads it: only its first characters are shown.
        print(json.dumps(conversations.mask_tokens(record), indent=2, ensure_ascii=False))
    return 0


def _decide(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    directory = load_directory(roster_snapshot_path(settings))
    try:
        outcome = asyncio.run(_decide_async(settings, directory, args))
    except review.ReviewError as exc:
        print(f"chaperone: {exc}", file=sys.stderr)
        return 1
    print(f"{outcome.message_id}: {outcome.state} by {args.reviewer}")
    return 0


async def _decide_async(
    settings: Settings, directory: Directory, args: argparse.Namespace
) -> review.PendingReview:
    store = SqliteStore(settings.archive.sqlite_path)
    await store.start()
    try:
        found = await store.read(lambda c: review.find(c, args.message_id))
        if found is None:
            raise review.ReviewError(f"{args.message_id}: no such message in the review queue")
        _authorise(settings, directory, args.reviewer, found.sender)
        release = time.time()
        if args.approve and found.action == str(Action.HOLD):
            release = await _release_time(settings, directory, store, args.message_id, release)
        lifetime = settings.delivery.lifetime_hours * 3600

        def commit(writer: Writer) -> review.PendingReview:
            outcome = review.decide(
                writer,
                args.message_id,
                approve=args.approve,
                reviewer=args.reviewer.lower(),
                operator=_operator(),
                comment=args.comment,
                release_at=release,
                lifetime_seconds=lifetime,
            )
            if not args.approve:
                subject = found.subject or "(no subject)"
                notices.queue_relay_mail(
                    writer,
                    settings,
                    about=args.message_id,
                    to=(found.sender,),
                    subject=f"Not sent: {subject}",
                    text=f'A supervisor rejected your message "{subject}"; it was not delivered to anyone.'
                    f"\n\nComment: {args.comment}\n",
                    purpose=Purpose.NOTICE,
                    now=time.time(),
                )
            return outcome

        decided = await store.write(commit)
    finally:
        await store.close()
    # Released copies (or the sender's notice) may go now: tell a running relay's delivery process.
    doorbell = Doorbell(settings.archive.sqlite_path)
    doorbell.ring()
    doorbell.close()
    return decided


def _authorise(settings: Settings, directory: Directory, reviewer: str, sender: str) -> None:
    person = directory.by_email(reviewer)
    if person is None or person.role is not Role.STAFF:
        raise review.ReviewError(f"{reviewer} is not staff on the roster")
    if reviewer.lower() == sender.lower():
        # Nobody decides on their own message, the compliance contact included: another reviewer must.
        raise review.ReviewError(
            f"{reviewer} sent this message; their supervisor or the compliance contact must decide on it"
        )
    if reviewer.lower() == (settings.district.compliance_contact or "").lower():
        return
    author = directory.by_email(sender)
    staff = author if author is not None and author.role is Role.STAFF else None
    if staff is None or person not in directory.supervisors_of(staff):
        raise review.ReviewError(
            f"{reviewer} does not supervise {sender}; ask their supervisor or compliance"
        )


def _operator() -> dict[str, Any]:
    """Who ran the command on this machine. Until reviewers sign in (the portal), ``--reviewer`` is only
    what the operator typed: the archive keeps the operating-system account beside it."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container without passwd entry): the uid still says who
        user = ""
    return {"os_user": user, "uid": os.getuid(), "host": socket.gethostname()}


async def _release_time(
    settings: Settings, directory: Directory, store: SqliteStore, message_id: str, now: float
) -> float:
    """Approval re-applies the hour-of-day rules: a message approved at 23:00 still waits for morning."""

    def load(connection: sqlite3.Connection) -> tuple[bytes, dict[str, Any]] | None:
        row = connection.execute(
            "SELECT b.content, r.canonical FROM records r JOIN bodies b"
            " ON b.digest = json_extract(r.canonical, '$.payload.body_digest')"
            " WHERE r.message_id = ? AND r.kind = 'message' ORDER BY r.seq LIMIT 1",
            (message_id,),
        ).fetchone()
        return None if row is None else (bytes(row[0]), json.loads(row[1])["payload"])

    loaded = await store.read(load)
    if loaded is None:
        return now
    raw, payload = loaded
    sender = directory.by_email(str(payload["envelope_from"]))
    recipients = []
    for party in payload["recipients"]:
        person = directory.by_email(party["address"])
        if person is not None:
            recipients.append(Recipient(party["address"], person))
    if sender is None:
        return now
    submission = Submission(message_id, sender, str(payload["envelope_from"]), tuple(recipients), raw,
                            datetime.fromtimestamp(now, UTC))  # fmt: skip
    decider = PolicyDecider(settings, directory)
    timing = [
        f
        for f in decider.evaluate(decider.read(submission)).findings
        if f.action is Action.DEFER and f.release_at
    ]
    return max([now, *(f.release_at.timestamp() for f in timing if f.release_at)])


async def _read(settings: Settings, work: Callable[[sqlite3.Connection], T]) -> T:
    store = SqliteStore(settings.archive.sqlite_path)
    await store.start()
    try:
        return await store.read(work)
    finally:
        await store.close()
