"""The SQLite statements for retention: legal holds, lawful disposals, and what a purge reads. Called on the
store's threads, inside its transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from archive.changes import Changes
from archive.models import Conflict, LegalHold

# A copy or a review in one of these states is finished: nothing will act on it again.
_FINISHED_COPIES = "('sent', 'failed', 'rejected')"
_FINISHED_REVIEWS = "('approved', 'rejected', 'seen')"
_HOLD_COLUMNS = "hold_id, case_name, scope, subject, placed_by, placed_at, released_by, released_at"


def apply(connection: sqlite3.Connection, changes: Changes) -> None:
    execute = connection.execute
    connection.executemany(
        f"INSERT INTO legal_holds({_HOLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",  # noqa: S608
        [_hold_row(h) for h in changes.holds],
    )
    for hold_id, by, at in changes.releases:
        cursor = execute(
            "UPDATE legal_holds SET released_by = ?, released_at = ?"
            " WHERE hold_id = ? AND released_at IS NULL",
            (by, at, hold_id),
        )
        if cursor.rowcount != 1:
            raise Conflict(f"legal hold {hold_id} is not in force")
    for disposal in changes.disposals:
        # The disposals rows first: the triggers let a body or an opening go only when one names it.
        connection.executemany(
            "INSERT OR IGNORE INTO disposals(item, disposed_at) VALUES (?,?)",
            [(item, disposal.disposed_at) for item in disposal.items()],
        )
        connection.executemany("DELETE FROM bodies WHERE digest = ?", [(d,) for d in disposal.bodies])
        connection.executemany(
            "DELETE FROM record_openings WHERE leaf_hash = ?", [(leaf,) for leaf in disposal.openings]
        )
        ids = [(m,) for m in disposal.message_ids]
        connection.executemany(
            f"DELETE FROM deliveries WHERE message_id = ? AND state IN {_FINISHED_COPIES}",  # noqa: S608
            ids,
        )
        connection.executemany(
            f"DELETE FROM reviews WHERE message_id = ? AND state IN {_FINISHED_REVIEWS}",  # noqa: S608
            ids,
        )


def legal_holds(connection: sqlite3.Connection, in_force: bool) -> list[LegalHold]:
    where = " WHERE released_at IS NULL" if in_force else ""
    return [
        LegalHold(*row)
        for row in connection.execute(
            f"SELECT {_HOLD_COLUMNS} FROM legal_holds{where} ORDER BY placed_at, hold_id"  # noqa: S608
        )
    ]


def sealed_leaves(
    connection: sqlite3.Connection, message_ids: Collection[str], unlinked_before: str | None
) -> list[bytes]:
    """The leaf hashes, with openings still kept, of these messages' records and of the records tied to no
    message made before ``unlinked_before``."""
    found = [
        bytes(row[0])
        for m in sorted(message_ids)
        for row in connection.execute(
            "SELECT leaf_hash FROM records JOIN record_openings USING (leaf_hash) WHERE message_id = ?", (m,)
        )
    ]
    if unlinked_before is not None:
        found += [
            bytes(row[0])
            for row in connection.execute(
                "SELECT leaf_hash FROM records JOIN record_openings USING (leaf_hash)"
                " WHERE message_id IS NULL AND recorded_at < ?",
                (unlinked_before,),
            )
        ]
    return found


def disposed(connection: sqlite3.Connection, items: Collection[str]) -> set[str]:
    return {
        row[0]
        for item in items
        for row in connection.execute("SELECT item FROM disposals WHERE item = ?", (item,))
    }


def _hold_row(hold: LegalHold) -> tuple[str | None, ...]:
    return (
        hold.hold_id, hold.case_name, hold.scope, hold.subject, hold.placed_by, hold.placed_at,
        hold.released_by, hold.released_at,
    )  # fmt: skip
