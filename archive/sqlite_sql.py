"""The SQLite statements behind the store: applying a unit of work, and each read, on one connection.

Called on the store's threads (``archive.sqlite``); nothing here knows about asyncio.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from archive import sqlite_log as log_sql
from archive import sqlite_retention as retention_sql
from archive import sqlite_search as search_sql
from archive import sqlite_sms as sms_sql
from archive.changes import Changes, in_time_order
from archive.migrations import migrations
from archive.models import (
    ArchivedRecord,
    Conflict,
    QueuedDelivery,
    ReviewEntry,
    StoredConversation,
)
from archive.records import recorded_at_text
from archive.sealing import conversation_needle, opened_payload

_RECORD_COLUMNS = "(kind, message_id, recorded_at, canonical, leaf_hash)"
_ROWS_PER_INSERT = 200  # 5 parameters a row, well under SQLite's limit of 32766
_DELIVERY_COLUMNS = (
    "delivery_id, message_id, envelope_from, recipients, headers, body_digest, not_before, expires_at,"
    " attempts, purpose, state, claimed_by, claim_until, provider_id, channel"
)
_REVIEW_COLUMNS = (
    "message_id, action, state, sender, subject, reasons, opened_at, decided_by, decided_at, comment"
)


def upgrade(connection: sqlite3.Connection) -> list[str]:
    """Apply the migrations this database has not had; returns their names. Each in a transaction that
    first looks again, so two processes starting at once apply each migration once."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    done = []
    for migration in migrations("sqlite"):
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = connection.execute(
                "SELECT 1 FROM schema_version WHERE version = ?", (migration.version,)
            ).fetchone()
            if found is None:
                for statement in _statements(migration.sql):
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_version VALUES (?,?,?)",
                    (migration.version, migration.name, datetime.now(UTC).isoformat()),
                )
                done.append(migration.name)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return done


def _statements(script: str) -> list[str]:
    """A migration's statements (executescript would commit on its own, outside our transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


# --- writing --------------------------------------------------------------------------------------------


def apply(connection: sqlite3.Connection, changes: Changes) -> None:
    """Inside the writer's transaction. The records go in last, as few statements as possible: nothing
    refers to them, and each statement costs the writer a turn of the GIL."""
    execute = connection.execute
    for body in changes.bodies:
        execute(
            "INSERT OR IGNORE INTO bodies(digest, size, content) VALUES (?,?,?)",
            (body.digest, len(body.content), body.content),
        )
    for d in changes.enqueued:
        execute(
            f"INSERT INTO deliveries({_DELIVERY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            (
                d.delivery_id, d.message_id, d.envelope_from, json.dumps(list(d.recipients)), d.headers,
                d.body_digest, d.not_before, d.expires_at, d.attempts, d.purpose, str(d.state),
                d.claimed_by, d.claim_until, d.provider_id, d.channel,
            ),
        )  # fmt: skip
    for c in changes.conversations:
        execute(
            "INSERT INTO conversations(token, message_id, staff_id, staff_email, student_ids, member_ids,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            (
                c.token, c.message_id, c.staff_id, c.staff_email, json.dumps(list(c.student_ids)),
                json.dumps(list(c.member_ids)), c.created_at.isoformat(),
            ),
        )  # fmt: skip
    for r in changes.reviews:
        execute(
            f"INSERT INTO reviews({_REVIEW_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            (r.message_id, r.action, r.state, r.sender, r.subject, r.reasons, r.opened_at, None, None, None),
        )
    for v in changes.verdicts:
        cursor = execute(
            "UPDATE reviews SET state = ?, decided_by = ?, decided_at = ?, comment = ?"
            " WHERE message_id = ? AND state = 'pending'",
            (v.state, v.decided_by, v.decided_at, v.comment, v.message_id),
        )
        if cursor.rowcount != 1:
            raise Conflict(f"{v.message_id}: no pending review")
    for u in changes.updated:
        cursor = execute(
            "UPDATE deliveries SET state = ?, recipients = ?, not_before = ?, attempts = ?,"
            " expires_at = COALESCE(?, expires_at), provider_id = COALESCE(?, provider_id),"
            " claimed_by = NULL, claim_until = 0"
            " WHERE delivery_id = ? AND (? IS NULL OR claimed_by = ?) AND (? IS NULL OR state = ?)",
            (
                str(u.state), json.dumps(list(u.recipients)), u.not_before, u.attempts, u.expires_at,
                u.provider_id, u.delivery_id, u.expect_claim, u.expect_claim, u.expect_state, u.expect_state,
            ),
        )  # fmt: skip
        if cursor.rowcount != 1:
            raise Conflict(f"copy {u.delivery_id} is no longer as this worker left it")
    sms_sql.apply(connection, changes)
    retention_sql.apply(connection, changes)
    search_sql.apply(connection, changes)
    log_sql.apply(connection, changes)
    if not changes.records:
        return
    last = execute("SELECT recorded_at FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    records = in_time_order(changes.records, None if last is None else str(last[0]))
    for start in range(0, len(records), _ROWS_PER_INSERT):
        rows = records[start : start + _ROWS_PER_INSERT]
        values = ",".join(["(?,?,?,?,?)"] * len(rows))
        execute(
            f"INSERT INTO records{_RECORD_COLUMNS} VALUES {values}",  # noqa: S608 - placeholders only
            [f for r in rows for f in (r.kind, r.message_id, r.recorded_at, r.canonical, r.leaf_hash)],
        )
    connection.executemany(
        "INSERT INTO record_openings(leaf_hash, salt, openings) VALUES (?,?,?)",
        [(r.leaf_hash, r.record.salt, r.openings) for r in records if r.openings is not None],
    )


def claim_due(
    connection: sqlite3.Connection, now: float, limit: int, claimant: str, until: float
) -> list[tuple[QueuedDelivery, bytes | None]]:
    """Inside the writer's transaction: only ids are read first (from the index), so a long backlog
    costs nothing per pass."""
    ids = [
        row[0]
        for row in connection.execute(
            "SELECT delivery_id FROM deliveries WHERE state = 'pending' AND not_before <= ?"
            " AND claim_until <= ? ORDER BY not_before LIMIT ?",
            (now, now, limit),
        )
    ]
    if not ids:
        return []
    marks = _marks(ids)
    connection.execute(
        f"UPDATE deliveries SET claimed_by = ?, claim_until = ? WHERE delivery_id IN ({marks})",  # noqa: S608
        (claimant, until, *ids),
    )
    rows = connection.execute(
        f"SELECT {_DELIVERY_COLUMNS}, content FROM deliveries LEFT JOIN bodies ON digest = body_digest"  # noqa: S608
        f" WHERE delivery_id IN ({marks}) ORDER BY not_before",
        ids,
    ).fetchall()
    return [(_delivery(row[:-1]), None if row[-1] is None else bytes(row[-1])) for row in rows]


def release_claims(connection: sqlite3.Connection, claimants: Collection[str]) -> int:
    if not claimants:
        return 0
    cursor = connection.execute(
        f"UPDATE deliveries SET claimed_by = NULL, claim_until = 0 WHERE claimed_by IN ({_marks(claimants)})",  # noqa: S608
        sorted(claimants),
    )
    return cursor.rowcount


def claimants(connection: sqlite3.Connection, now: float) -> set[str]:
    rows = connection.execute(
        "SELECT DISTINCT claimed_by FROM deliveries WHERE claimed_by IS NOT NULL AND claim_until > ?", (now,)
    )
    return {row[0] for row in rows}


# --- reading --------------------------------------------------------------------------------------------


def next_due_at(connection: sqlite3.Connection) -> float | None:
    row = connection.execute("SELECT MIN(not_before) FROM deliveries WHERE state = 'pending'").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def copies(connection: sqlite3.Connection, message_id: str) -> list[QueuedDelivery]:
    rows = connection.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE message_id = ? ORDER BY rowid",  # noqa: S608
        (message_id,),
    ).fetchall()
    return [_delivery(row) for row in rows]


def copy_by_provider(connection: sqlite3.Connection, provider_id: str) -> QueuedDelivery | None:
    row = connection.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE provider_id = ?",  # noqa: S608
        (provider_id,),
    ).fetchone()
    return None if row is None else _delivery(row)


def records(
    connection: sqlite3.Connection,
    message_ids: Collection[str],
    kinds: Collection[str],
    limit: int | None,
    *,
    after: int = 0,
    before: str | None = None,
) -> list[ArchivedRecord]:
    where: list[str] = ["seq > ?"]
    params: list[object] = [after]
    if before is not None:
        where.append("recorded_at < ?")
        params.append(before)
    if message_ids:
        where.append(f"message_id IN ({_marks(message_ids)})")
        params.extend(sorted(message_ids))
    if kinds:
        where.append(f"kind IN ({_marks(kinds)})")
        params.extend(sorted(kinds))
    sql = (
        "SELECT seq, kind, message_id, recorded_at, canonical, openings FROM records"
        " LEFT JOIN record_openings USING (leaf_hash)"
    )
    sql += " WHERE " + " AND ".join(where) + " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [
        ArchivedRecord(seq, kind, message_id, recorded_at, opened_payload(canonical, openings))
        for seq, kind, message_id, recorded_at, canonical, openings in connection.execute(sql, params)
    ]


def count_records(connection: sqlite3.Connection, kind: str | None) -> int:
    if kind is None:
        return int(connection.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    return int(connection.execute("SELECT COUNT(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0])


def body(connection: sqlite3.Connection, digest: str) -> bytes | None:
    row = connection.execute("SELECT content FROM bodies WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else bytes(row[0])


def conversation(connection: sqlite3.Connection, token: str) -> StoredConversation | None:
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


def used_since(connection: sqlite3.Connection, found: StoredConversation, cutoff: datetime) -> bool:
    """The conversations table is append-only, so the replies are read from the archive's message
    records, from ``cutoff`` on only."""
    if found.created_at >= cutoff:
        return True
    first = _first_record_since(connection, cutoff - _OUT_OF_ORDER)
    if first is None:
        return False
    reply = connection.execute(
        "SELECT 1 FROM records JOIN record_openings USING (leaf_hash)"
        " WHERE seq >= ? AND kind = 'message' AND recorded_at >= ? AND instr(openings, ?) > 0 LIMIT 1",
        (first, recorded_at_text(cutoff), conversation_needle(found.token)),
    ).fetchone()
    return reply is not None


# Records are appended about in the order they were made; units prepared in different processes may land
# a moment apart. Searching from this much earlier than the cutoff misses none of them.
_OUT_OF_ORDER = timedelta(hours=1)


def _first_record_since(connection: sqlite3.Connection, when: datetime) -> int | None:
    """The seq of the first record made at or after ``when``: a binary search by primary key (a few
    dozen lookups), so a reply to an old conversation does not scan months of archive."""
    low, high = connection.execute("SELECT min(seq), max(seq) FROM records").fetchone()
    wanted = recorded_at_text(when)
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


def review(connection: sqlite3.Connection, message_id: str) -> ReviewEntry | None:
    row = connection.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE message_id = ?",  # noqa: S608
        (message_id,),
    ).fetchone()
    return None if row is None else ReviewEntry(*row)


def reviews(connection: sqlite3.Connection, states: Sequence[str]) -> list[ReviewEntry]:
    rows = connection.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE state IN ({_marks(states)})"  # noqa: S608
        " ORDER BY opened_at, message_id",
        tuple(states),
    ).fetchall()
    return [ReviewEntry(*row) for row in rows]


def _marks(values: Collection[Any]) -> str:
    return ",".join("?" * len(values))  # only "?"s: the values themselves are bound parameters


def _delivery(row: Sequence[Any]) -> QueuedDelivery:
    (delivery_id, message_id, envelope_from, recipients, headers, digest, not_before, expires, attempts,
     purpose, state, claimed_by, claim_until, provider_id, channel) = row  # fmt: skip
    return QueuedDelivery(
        delivery_id=str(delivery_id),
        message_id=str(message_id),
        envelope_from=str(envelope_from),
        recipients=tuple(json.loads(str(recipients))),
        headers=bytes(headers),
        body_digest=str(digest),
        not_before=float(not_before),
        expires_at=float(expires),
        attempts=int(attempts),
        purpose=str(purpose),
        state=str(state),
        claimed_by=claimed_by,
        claim_until=float(claim_until or 0.0),
        provider_id=provider_id,
        channel=str(channel),
    )
