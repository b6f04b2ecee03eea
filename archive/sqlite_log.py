"""The SQLite statements for the archive as a tree: the records in index order, and the signed
checkpoints. Called on the store's threads, inside its transactions."""

from __future__ import annotations

import sqlite3

from archive.changes import Changes
from archive.checkpoints import Checkpoint
from archive.models import LogEntry, SealedEntry


def apply(connection: sqlite3.Connection, changes: Changes) -> None:
    connection.executemany(
        "INSERT INTO checkpoints(size, root, signed_at, key_id, signature) VALUES (?,?,?,?,?)",
        [(c.size, c.root, c.signed_at, c.key_id, c.signature) for c in changes.checkpoints],
    )


def log_entries(connection: sqlite3.Connection, after: int, limit: int) -> list[LogEntry]:
    rows = connection.execute(
        "SELECT seq, recorded_at, canonical, leaf_hash FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return list(map(LogEntry._make, rows))  # sqlite3 gives int, str, bytes, bytes already


def sealed_entries(connection: sqlite3.Connection, after: int, limit: int) -> list[SealedEntry]:
    rows = connection.execute(
        "SELECT seq, canonical, salt, openings FROM records JOIN record_openings USING (leaf_hash)"
        " WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    ).fetchall()
    return list(map(SealedEntry._make, rows))


def checkpoints(connection: sqlite3.Connection) -> list[Checkpoint]:
    rows = connection.execute(
        "SELECT size, root, signed_at, key_id, signature FROM checkpoints ORDER BY size"
    ).fetchall()
    return [
        Checkpoint(int(size), bytes(root), str(at), str(key), bytes(sig)) for size, root, at, key, sig in rows
    ]
