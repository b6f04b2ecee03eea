"""The PostgreSQL statements for the archive as a tree: the records in index order, and the signed
checkpoints.

A record's index must be gap-free and in commit order, which a sequence is not (a rolled-back transaction
leaves a gap, and transactions commit in another order than they drew numbers): so the records of a unit
take their indexes after the last committed one, under a transaction-scoped advisory lock that is held
until the commit. Units that write records commit one after another; everything else still runs at once."""

from __future__ import annotations

from typing import Any

from archive.changes import Changes, RecordRow, in_time_order
from archive.checkpoints import Checkpoint
from archive.models import LogEntry, SealedEntry

_SEQUENCER_LOCK = 0x43686171  # pg_advisory_xact_lock key ("Chaq"): one unit appends records at a time


async def append_records(connection: Any, records: list[RecordRow]) -> None:
    """The records of a whole group of units, after everything else they wrote: the sequencer's lock is
    then held only for this statement and the commit."""
    if not records:
        return
    await connection.execute("SELECT pg_advisory_xact_lock($1)", _SEQUENCER_LOCK)
    last = await connection.fetchrow(
        "SELECT seq, recorded_at FROM evidence.records ORDER BY seq DESC LIMIT 1"
    )
    rows = in_time_order(records, None if last is None else last["recorded_at"])
    await connection.execute(
        "INSERT INTO evidence.records(seq, kind, message_id, recorded_at, canonical, leaf_hash)"
        " SELECT $6::bigint + n, kind, message_id, recorded_at, canonical, leaf_hash"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[])"
        " WITH ORDINALITY AS r(kind, message_id, recorded_at, canonical, leaf_hash, n) ORDER BY n",
        [r.kind for r in rows], [r.message_id for r in rows], [r.recorded_at for r in rows],
        [r.canonical for r in rows], [r.leaf_hash for r in rows], 0 if last is None else last["seq"],
    )  # fmt: skip
    sealed = [r for r in rows if r.openings is not None]
    if sealed:
        await connection.execute(
            "INSERT INTO evidence.record_openings(leaf_hash, salt, openings)"
            " SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[])",
            [r.leaf_hash for r in sealed], [r.record.salt for r in sealed], [r.openings for r in sealed],
        )  # fmt: skip


async def apply(connection: Any, changes: Changes) -> None:
    if changes.checkpoints:
        await connection.executemany(
            "INSERT INTO evidence.checkpoints(size, root, signed_at, key_id, signature)"
            " VALUES ($1,$2,$3,$4,$5)",
            [(c.size, c.root, c.signed_at, c.key_id, c.signature) for c in changes.checkpoints],
        )


async def log_entries(connection: Any, after: int, limit: int) -> list[LogEntry]:
    rows = await connection.fetch(
        "SELECT seq, recorded_at, canonical, leaf_hash FROM evidence.records"
        " WHERE seq > $1 ORDER BY seq LIMIT $2",
        after, limit,
    )  # fmt: skip
    return [LogEntry(r[0], r[1], r[2], r[3]) for r in rows]  # asyncpg gives int, str, bytes, bytes


async def sealed_entries(connection: Any, after: int, limit: int) -> list[SealedEntry]:
    rows = await connection.fetch(
        "SELECT seq, canonical, salt, openings FROM evidence.records"
        " JOIN evidence.record_openings USING (leaf_hash) WHERE seq > $1 ORDER BY seq LIMIT $2",
        after, limit,
    )  # fmt: skip
    return [SealedEntry(r[0], r[1], r[2], r[3]) for r in rows]


async def checkpoints(connection: Any) -> list[Checkpoint]:
    rows = await connection.fetch(
        "SELECT size, root, signed_at, key_id, signature FROM evidence.checkpoints ORDER BY size"
    )
    return [
        Checkpoint(int(r["size"]), bytes(r["root"]), r["signed_at"], r["key_id"], bytes(r["signature"]))
        for r in rows
    ]
