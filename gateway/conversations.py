"""Conversation addresses: how a student's or guardian's reply finds its way back through the relay.

Each family's copy carries Reply-To c-<token>@<relay domain>. The token is unguessable (120 random bits),
so knowing one conversation address tells nothing about another, and a forged token matches nothing.
An address is a capability anyone holding it can use, so it does not last for ever: one through which no
message has passed for ``[smtp] conversation_idle_days`` is refused, and the CLI never prints one whole.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
    created_at: datetime


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
        "SELECT token, message_id, staff_id, staff_email, student_ids, member_ids, created_at"
        " FROM conversations WHERE token = ?",
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
        created_at=datetime.fromisoformat(row[6]),
    )


def idle_since(connection: sqlite3.Connection, conversation: StoredConversation, cutoff: datetime) -> bool:
    """True when no message has passed through the conversation since ``cutoff``: the message that
    opened it is older, and no reply through it was archived after. The conversations table is
    append-only, so the replies are read from the archive's message records, from ``cutoff`` on only."""
    if conversation.created_at >= cutoff:
        return False
    first = _first_record_since(connection, cutoff - _OUT_OF_ORDER)
    if first is None:
        return True
    # Canonical JSON has sorted keys and no spaces: the reply's payload holds exactly these bytes.
    needle = b'"conversation":"' + conversation.token.encode() + b'"'
    reply = connection.execute(
        "SELECT 1 FROM records WHERE seq >= ? AND kind = 'message' AND recorded_at >= ?"
        " AND instr(canonical, ?) > 0 LIMIT 1",
        (first, _recorded_at_text(cutoff), needle),
    ).fetchone()
    return reply is None


# Records are appended about in the order they were made; units prepared in different processes may land
# a moment apart. Searching from this much earlier than the cutoff misses none of them.
_OUT_OF_ORDER = timedelta(hours=1)


def _first_record_since(connection: sqlite3.Connection, when: datetime) -> int | None:
    """The seq of the first record made at or after ``when``: a binary search by primary key (a few
    dozen lookups), so a reply to an old conversation does not scan months of archive."""
    low, high = connection.execute("SELECT min(seq), max(seq) FROM records").fetchone()
    wanted = _recorded_at_text(when)
    if high is None or _recorded_at(connection, high) < wanted:
        return None
    while low < high:
        middle = (low + high) // 2
        if _recorded_at(connection, middle) < wanted:
            low = middle + 1
        else:
            high = middle
    return int(low)


def _recorded_at(connection: sqlite3.Connection, seq: int) -> str:
    row = connection.execute(
        "SELECT recorded_at FROM records WHERE seq >= ? ORDER BY seq LIMIT 1", (seq,)
    ).fetchone()
    return str(row[0])


def _recorded_at_text(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")  # as archive.records writes it


# --- showing addresses to people ----------------------------------------------------------------------
_TOKEN_IN_TEXT = re.compile(r"\b(c-)?([a-z2-7]{24})\b", re.IGNORECASE)
_SHOWN = 4  # characters of a token a person sees: enough to tell two apart, far too few to use


def masked(token: str) -> str:
    """A token as the CLI shows it: its first characters only (``c-abcd…``)."""
    return f"c-{token.removeprefix('c-')[:_SHOWN]}…"


def mask_tokens(value: Any) -> Any:
    """``value`` (archived JSON) with every conversation token shortened: a token printed on a terminal
    or pasted into a ticket is a way into the conversation for whoever reads it."""
    if isinstance(value, dict):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_tokens(item) for item in value]
    if isinstance(value, str):
        return _TOKEN_IN_TEXT.sub(lambda m: masked(m.group(2)) if m.group(1) else m.group(0), value)
    return value


def _mask_field(key: str, value: Any) -> Any:
    # Where a field holds a token on its own (the message's "conversation", the opened record's "token").
    if key in ("conversation", "token") and isinstance(value, str) and _TOKEN_IN_TEXT.fullmatch(value):
        return masked(value)
    return mask_tokens(value)
