"""The scale-out store: PostgreSQL through asyncpg, for several relay instances sharing one archive.

Each unit of work is one transaction on a pooled connection; PostgreSQL commits concurrent transactions
together on its own. Copies are claimed with ``FOR UPDATE SKIP LOCKED`` and a lease, so two delivery
processes never take the same copy and a dead one's copies come free when its lease runs out. The schema is
migrated (``archive/migrations/postgresql``) under an advisory lock, so instances starting at once apply
each migration once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from archive import postgres_log as log_sql
from archive import postgres_retention as retention_sql
from archive import postgres_search as search_sql
from archive import postgres_sms as sms_sql
from archive.changes import Changes
from archive.checkpoints import Checkpoint
from archive.migrations import migrations
from archive.models import (
    ArchivedRecord,
    Conflict,
    LegalHold,
    LogEntry,
    QueuedDelivery,
    ReviewEntry,
    SealedEntry,
    SearchHit,
    SearchQuery,
    SmsSession,
    StoredConversation,
)
from archive.postgres_commits import GroupCommit
from archive.records import recorded_at_text
from archive.sealing import conversation_needle, opened_payload
from archive.store import Ready

_MIGRATION_LOCK = 0x43686170  # pg_advisory_xact_lock key: "Chap"
_DELIVERY_COLUMNS = (
    "delivery_id, message_id, envelope_from, recipients, headers, body_digest, not_before, expires_at,"
    " attempts, purpose, state, claimed_by, claim_until, provider_id, channel"
)
_REVIEW_COLUMNS = (
    "message_id, action, state, sender, subject, reasons, opened_at, decided_by, decided_at, comment"
)

_CLAIM_DUE = (
    "WITH due AS (SELECT delivery_id FROM working.deliveries WHERE state = 'pending'"  # noqa: S608 - column names only
    " AND not_before <= $1 AND claim_until <= $1 ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " UPDATE working.deliveries d SET claimed_by = $3, claim_until = $4 FROM due"
    " WHERE d.delivery_id = due.delivery_id RETURNING "
    + ", ".join("d." + column.strip() for column in _DELIVERY_COLUMNS.split(","))
)


_CHANNEL = "chaperone_delivery"


class NotifyDoorbell:
    """LISTEN/NOTIFY: a ring reaches the delivery workers of every instance on any host."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._listening: Any = None
        self._rings: set[asyncio.Task[None]] = set()

    def ring(self) -> None:
        task = asyncio.get_running_loop().create_task(self._notify())
        self._rings.add(task)
        task.add_done_callback(self._rings.discard)

    async def _notify(self) -> None:
        with contextlib.suppress(Exception):  # the next poll finds the copies
            await self.store.pool.execute("SELECT pg_notify($1, '')", _CHANNEL)

    async def answer(self, wake: Callable[[], None]) -> None:
        self._listening = await asyncpg.connect(self.store.url)
        await self._listening.add_listener(_CHANNEL, lambda *_: wake())

    async def close(self) -> None:
        if self._rings:
            await asyncio.wait(self._rings, timeout=5)
        if self._listening is not None:
            await self._listening.close()
            self._listening = None


class PostgresStore:
    def __init__(self, url: str, *, linger: float | None = None, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._group: GroupCommit | None = None
        self.newly_applied: list[str] = []
        del linger  # units are grouped as they arrive (archive.postgres_commits)

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size)
        try:
            self.newly_applied = await self.upgrade()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._group is not None:
            await self._group.close()
            self._group = None
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("archive store is not started")
        return self._pool

    async def upgrade(self) -> list[str]:
        """Apply the migrations this database has not had; returns their names."""
        done = []
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS public.chaperone_schema_version (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            applied = {r[0] for r in await connection.fetch("SELECT version FROM chaperone_schema_version")}
            for migration in migrations("postgresql"):
                if migration.version in applied:
                    continue
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO chaperone_schema_version VALUES ($1, $2, $3)",
                    migration.version, migration.name, datetime.now(UTC),
                )  # fmt: skip
                done.append(migration.name)
        return done

    # --- writing ----------------------------------------------------------------------------------------

    def doorbell(self) -> NotifyDoorbell:
        return NotifyDoorbell(self)

    async def commit(self, changes: Changes) -> None:
        if self._group is None:
            self._group = GroupCommit(self.pool.acquire, _apply, log_sql.append_records)
        await self._group.commit(changes)

    async def claim_due(self, now: float, limit: int, *, claimant: str, lease_seconds: float) -> list[Ready]:
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_CLAIM_DUE, now, limit, claimant, now + lease_seconds)
            copies = sorted((_delivery(row) for row in rows), key=lambda d: d.not_before)
            digests = sorted({d.body_digest for d in copies})
            bodies = {
                r["digest"]: bytes(r["content"])
                for r in await connection.fetch(
                    "SELECT digest, content FROM evidence.bodies WHERE digest = ANY($1::text[])", digests
                )
            }
        return [(d, bodies.get(d.body_digest)) for d in copies]

    async def release_claims(self, claimants: Collection[str]) -> int:
        if not claimants:
            return 0
        status = await self.pool.execute(
            "UPDATE working.deliveries SET claimed_by = NULL, claim_until = 0"
            " WHERE claimed_by = ANY($1::text[])",
            sorted(claimants),
        )
        return int(status.split()[-1])

    async def claimants(self, now: float) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT claimed_by FROM working.deliveries WHERE claimed_by IS NOT NULL"
            " AND claim_until > $1",
            now,
        )
        return {row[0] for row in rows}

    # --- reading ----------------------------------------------------------------------------------------

    async def next_due_at(self) -> float | None:
        value = await self.pool.fetchval(
            "SELECT MIN(not_before) FROM working.deliveries WHERE state = 'pending'"
        )
        return None if value is None else float(value)

    async def copies(self, message_id: str) -> list[QueuedDelivery]:
        rows = await self.pool.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM working.deliveries WHERE message_id = $1"  # noqa: S608
            " ORDER BY delivery_id",
            message_id,
        )
        return [_delivery(row) for row in rows]

    async def copy_by_provider(self, provider_id: str) -> QueuedDelivery | None:
        row = await self.pool.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM working.deliveries WHERE provider_id = $1",  # noqa: S608
            provider_id,
        )
        return None if row is None else _delivery(row)

    async def records(
        self,
        *,
        message_ids: Collection[str] = (),
        kinds: Collection[str] = (),
        limit: int | None = None,
        after: int = 0,
        before: str | None = None,
    ) -> list[ArchivedRecord]:
        where: list[str] = ["seq > $1"]
        params: list[object] = [after]
        if before is not None:
            params.append(before)
            where.append(f"recorded_at < ${len(params)}")
        if message_ids:
            params.append(sorted(message_ids))
            where.append(f"message_id = ANY(${len(params)}::text[])")
        if kinds:
            params.append(sorted(kinds))
            where.append(f"kind = ANY(${len(params)}::text[])")
        sql = (
            "SELECT seq, kind, message_id, recorded_at, canonical, openings FROM evidence.records"
            " LEFT JOIN evidence.record_openings USING (leaf_hash)"
        )
        sql += " WHERE " + " AND ".join(where) + " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            ArchivedRecord(
                r["seq"],
                r["kind"],
                r["message_id"],
                r["recorded_at"],
                opened_payload(r["canonical"], r["openings"]),
            )
            for r in await self.pool.fetch(sql, *params)
        ]

    async def count_records(self, kind: str | None = None) -> int:
        if kind is None:
            return int(await self.pool.fetchval("SELECT COUNT(*) FROM evidence.records"))
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM evidence.records WHERE kind = $1", kind))

    async def body(self, digest: str) -> bytes | None:
        value = await self.pool.fetchval("SELECT content FROM evidence.bodies WHERE digest = $1", digest)
        return None if value is None else bytes(value)

    async def conversation(self, token: str) -> StoredConversation | None:
        row = await self.pool.fetchrow(
            "SELECT token, message_id, staff_id, staff_email, student_ids, member_ids, created_at"
            " FROM working.conversations WHERE token = $1",
            token,
        )
        if row is None:
            return None
        return StoredConversation(
            token=row["token"],
            message_id=row["message_id"],
            staff_id=row["staff_id"],
            staff_email=row["staff_email"],
            student_ids=tuple(row["student_ids"]),
            member_ids=tuple(row["member_ids"]),
            created_at=row["created_at"],
        )

    async def used_since(self, conversation: StoredConversation, cutoff: datetime) -> bool:
        if conversation.created_at >= cutoff:
            return True
        found = await self.pool.fetchval(
            "SELECT 1 FROM evidence.records JOIN evidence.record_openings USING (leaf_hash)"
            " WHERE kind = 'message' AND recorded_at >= $1 AND position($2::bytea in openings) > 0 LIMIT 1",
            recorded_at_text(cutoff),
            conversation_needle(conversation.token),
        )
        return found is not None

    async def review(self, message_id: str) -> ReviewEntry | None:
        row = await self.pool.fetchrow(
            f"SELECT {_REVIEW_COLUMNS} FROM working.reviews WHERE message_id = $1",  # noqa: S608
            message_id,
        )
        return None if row is None else ReviewEntry(*row)

    async def reviews(self, states: Sequence[str]) -> list[ReviewEntry]:
        rows = await self.pool.fetch(
            f"SELECT {_REVIEW_COLUMNS} FROM working.reviews WHERE state = ANY($1::text[])"  # noqa: S608
            " ORDER BY opened_at, message_id",
            list(states),
        )
        return [ReviewEntry(*row) for row in rows]

    async def sms_sessions(
        self, phones: Collection[str], *, active_after: float, relay_number: str | None = None
    ) -> list[SmsSession]:
        async with self.pool.acquire() as connection:
            return await sms_sql.sessions(
                connection, phones, active_after=active_after, relay_number=relay_number
            )

    async def reserve_send(self, relay_number: str, seconds: float, now: float) -> float:
        async with self.pool.acquire() as connection:
            return await sms_sql.reserve_send(connection, relay_number, seconds, now)

    async def opted_out(self, phones: Collection[str]) -> set[tuple[str, str]]:
        async with self.pool.acquire() as connection:
            return await sms_sql.opted_out(connection, phones)

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        async with self.pool.acquire() as connection:
            return await search_sql.search(connection, query)

    async def legal_holds(self, *, in_force: bool = True) -> list[LegalHold]:
        async with self.pool.acquire() as connection:
            return await retention_sql.legal_holds(connection, in_force)

    async def sealed_leaves(
        self, message_ids: Collection[str], *, unlinked_before: str | None
    ) -> list[bytes]:
        async with self.pool.acquire() as connection:
            return await retention_sql.sealed_leaves(connection, message_ids, unlinked_before)

    async def disposed(self, items: Collection[str]) -> set[str]:
        async with self.pool.acquire() as connection:
            return await retention_sql.disposed(connection, items)

    async def log_entries(self, after: int, limit: int) -> list[LogEntry]:
        async with self.pool.acquire() as connection:
            return await log_sql.log_entries(connection, after, limit)

    async def checkpoints(self) -> list[Checkpoint]:
        async with self.pool.acquire() as connection:
            return await log_sql.checkpoints(connection)

    async def sealed_entries(self, after: int, limit: int) -> list[SealedEntry]:
        async with self.pool.acquire() as connection:
            return await log_sql.sealed_entries(connection, after, limit)


async def _apply(connection: Any, changes: Changes) -> None:
    if changes.bodies:
        await connection.executemany(
            "INSERT INTO evidence.bodies(digest, size, content) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(b.digest, len(b.content), b.content) for b in changes.bodies],
        )
    if changes.enqueued:
        await connection.executemany(
            f"INSERT INTO working.deliveries({_DELIVERY_COLUMNS})"  # noqa: S608
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
            [
                (
                    d.delivery_id, d.message_id, d.envelope_from, list(d.recipients), d.headers,
                    d.body_digest, d.not_before, d.expires_at, d.attempts, d.purpose, str(d.state),
                    d.claimed_by, d.claim_until, d.provider_id, d.channel,
                )
                for d in changes.enqueued
            ],
        )  # fmt: skip
    if changes.conversations:
        await connection.executemany(
            "INSERT INTO working.conversations(token, message_id, staff_id, staff_email, student_ids,"
            " member_ids, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            [
                (c.token, c.message_id, c.staff_id, c.staff_email, list(c.student_ids), list(c.member_ids),
                 c.created_at)
                for c in changes.conversations
            ],
        )  # fmt: skip
    if changes.reviews:
        await connection.executemany(
            "INSERT INTO working.reviews(message_id, action, state, sender, subject, reasons, opened_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7)",
            [
                (r.message_id, r.action, r.state, r.sender, r.subject, r.reasons, r.opened_at)
                for r in changes.reviews
            ],
        )
    for v in changes.verdicts:
        status = await connection.execute(
            "UPDATE working.reviews SET state = $1, decided_by = $2, decided_at = $3, comment = $4"
            " WHERE message_id = $5 AND state = 'pending'",
            v.state, v.decided_by, v.decided_at, v.comment, v.message_id,
        )  # fmt: skip
        if status != "UPDATE 1":
            raise Conflict(f"{v.message_id}: no pending review")
    for u in changes.updated:
        status = await connection.execute(
            "UPDATE working.deliveries SET state = $1, recipients = $2, not_before = $3, attempts = $4,"
            " expires_at = COALESCE($5, expires_at), provider_id = COALESCE($9, provider_id),"
            " claimed_by = NULL, claim_until = 0"
            " WHERE delivery_id = $6 AND ($7::text IS NULL OR claimed_by = $7)"
            " AND ($8::text IS NULL OR state = $8)",
            str(u.state), list(u.recipients), u.not_before, u.attempts, u.expires_at, u.delivery_id,
            u.expect_claim, u.expect_state, u.provider_id,
        )  # fmt: skip
        if status != "UPDATE 1":
            raise Conflict(f"copy {u.delivery_id} is no longer as this worker left it")
    await sms_sql.apply(connection, changes)
    await retention_sql.apply(connection, changes)
    await search_sql.apply(connection, changes)
    await log_sql.apply(connection, changes)
    # The records are not written here: the group's go in together, last (archive.postgres_commits).


def _delivery(row: Any) -> QueuedDelivery:
    return QueuedDelivery(
        delivery_id=row["delivery_id"],
        message_id=row["message_id"],
        envelope_from=row["envelope_from"],
        recipients=tuple(row["recipients"]),
        headers=bytes(row["headers"]),
        body_digest=row["body_digest"],
        not_before=float(row["not_before"]),
        expires_at=float(row["expires_at"]),
        attempts=int(row["attempts"]),
        purpose=row["purpose"],
        state=row["state"],
        claimed_by=row["claimed_by"],
        claim_until=float(row["claim_until"]),
        provider_id=row["provider_id"],
        channel=row["channel"],
    )
