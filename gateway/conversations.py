"""Conversation addresses: how a student's or guardian's reply finds its way back through the relay.

Each family's copy carries Reply-To c-<token>@<relay domain>. The token is unguessable (120 random bits),
so knowing one conversation address tells nothing about another, and a forged token matches nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from archive.records import Record, RecordKind
from archive.writes import ArchiveWriter
from gateway.models import Conversation

_ADDRESS = re.compile(r"c-([a-z2-7]{24})@(.+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StoredConversation:
    token: str
    message_id: str
    staff_id: str
    staff_email: str
    student_ids: tuple[str, ...]
    member_ids: tuple[str, ...]


def open(writer: ArchiveWriter, message_id: str, conversation: Conversation) -> None:
    staff_email = conversation.staff.email or ""
    writer.execute(
        "INSERT INTO conversations(token, message_id, staff_id, staff_email, student_ids, member_ids,"
        " created_at) VALUES (?,?,?,?,?,?,?)",
        (
            conversation.token,
            message_id,
            conversation.staff.person_id,
            staff_email,
            json.dumps([s.person_id for s in conversation.students]),
            json.dumps(list(conversation.member_ids)),
            datetime.now(UTC).isoformat(),
        ),
    )
    writer.append(
        Record(
            RecordKind.CONVERSATION,
            message_id,
            {
                "staff_id": conversation.staff.person_id,
                "student_ids": [s.person_id for s in conversation.students],
                "member_ids": list(conversation.member_ids),
                # The token itself is a capability: the archive keeps it to route evidence, the logs never.
                "token": conversation.token,
            },
        )
    )


def token_of(address: str, relay_domain: str) -> str | None:
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or match.group(2).lower() != relay_domain.lower():
        return None
    return match.group(1).lower()


def find(connection: sqlite3.Connection, token: str) -> StoredConversation | None:
    row = connection.execute(
        "SELECT token, message_id, staff_id, staff_email, student_ids, member_ids FROM conversations"
        " WHERE token = ?",
        (token,),
    ).fetchone()
    if row is None:
        return None
    return StoredConversation(
        token=row[0],
        message_id=row[1],
        staff_id=row[2],
        staff_email=row[3],
        student_ids=tuple(json.loads(row[4])),
        member_ids=tuple(json.loads(row[5])),
    )
