"""The embedded store: SQLite in WAL mode, one writer thread that commits in groups, one reader thread.

Every connection's durable commit costs an fsync; twenty concurrent SMTP sessions each waiting for their
own would serialise on the disk. The writer thread instead drains every transaction that is waiting and
commits them together with one fsync (should one of them fail, the group runs again with each in its own
SAVEPOINT, so the failure rolls back alone).
A caller's future resolves only after that commit: acknowledging before it would break durability.

A group waits up to ``linger`` after its first transaction for others to join. Each commit rewrites the
pages it touched (table tails, index leaves) into the log, so twenty sessions committing one message each
cost far more disk writes and thread switches than one commit of twenty; two milliseconds is noise beside
an SMTP round trip. Several relay processes may share one file and take turns (``_WriteLock``); what a
unit does while it holds the turn holds them all up, so the relay prepares its units beforehand
(archive.changes). The statements themselves are in ``archive.sqlite_sql``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from archive import sqlite_log as log_sql
from archive import sqlite_retention as retention_sql
from archive import sqlite_search as search_sql
from archive import sqlite_sms as sms_sql
from archive import sqlite_sql as sql
from archive.changes import Changes
from archive.checkpoints import Checkpoint
from archive.doorbell import SocketDoorbell
from archive.models import (
    ArchivedRecord,
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
from archive.store import Ready

T = TypeVar("T")
_MAX_GROUP = 256
LINGER = 0.002


@dataclass
class _Job:
    work: Callable[[Any], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    urgent: bool = False  # someone waits on it (a claim before sending): its group does not linger


_Outcome = tuple[_Job, Any, BaseException | None]


class SqliteStore:
    """Writes go to one writer thread that commits them in groups; reads go to a reader thread with a
    connection of its own, so a lookup never waits behind a commit, its fsync or another process's turn.

    ``linger``: how long a group waits for more writes after its first (see the module's docstring).
    """

    def __init__(self, path: Path, *, linger: float = LINGER) -> None:
        self.path = path
        self.linger = linger
        self._writes: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._reads: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.newly_applied: list[str] = []

    async def start(self) -> None:
        # The writer first: it creates the schema the reader's connection will find.
        for target, name in ((self._write_loop, "archive-writer"), (self._read_loop, "archive-reader")):
            started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            thread = threading.Thread(target=target, args=(started, asyncio.get_running_loop()), name=name)
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
            try:
                await started
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        threads, self._threads = self._threads, []
        if not threads:
            return
        self._writes.put(None)
        self._reads.put(None)
        for thread in threads:
            await asyncio.to_thread(thread.join)

    # --- the store interface (archive.store.Store) ---------------------------------------------------

    def doorbell(self) -> SocketDoorbell:
        return SocketDoorbell(self.path)

    async def commit(self, changes: Changes) -> None:
        await self._submit(self._writes, lambda connection: sql.apply(connection, changes))

    async def claim_due(self, now: float, limit: int, *, claimant: str, lease_seconds: float) -> list[Ready]:
        # A write, grouped with the others: the claim must be the only one, whichever process asks.
        return await self._submit(
            self._writes, lambda c: sql.claim_due(c, now, limit, claimant, now + lease_seconds), urgent=True
        )

    async def claimants(self, now: float) -> set[str]:
        return await self._submit(self._reads, lambda c: sql.claimants(c, now))

    async def release_claims(self, claimants: Collection[str]) -> int:
        return await self._submit(self._writes, lambda c: sql.release_claims(c, claimants))

    async def next_due_at(self) -> float | None:
        return await self._submit(self._reads, sql.next_due_at)

    async def copies(self, message_id: str) -> list[QueuedDelivery]:
        return await self._submit(self._reads, lambda c: sql.copies(c, message_id))

    async def copy_by_provider(self, provider_id: str) -> QueuedDelivery | None:
        return await self._submit(self._reads, lambda c: sql.copy_by_provider(c, provider_id))

    async def records(
        self,
        *,
        message_ids: Collection[str] = (),
        kinds: Collection[str] = (),
        limit: int | None = None,
        after: int = 0,
        before: str | None = None,
    ) -> list[ArchivedRecord]:
        return await self._submit(
            self._reads, lambda c: sql.records(c, message_ids, kinds, limit, after=after, before=before)
        )

    async def search(self, query: SearchQuery) -> list[SearchHit]:
        return await self._submit(self._reads, lambda c: search_sql.search(c, query))

    async def legal_holds(self, *, in_force: bool = True) -> list[LegalHold]:
        return await self._submit(self._reads, lambda c: retention_sql.legal_holds(c, in_force))

    async def sealed_leaves(
        self, message_ids: Collection[str], *, unlinked_before: str | None
    ) -> list[bytes]:
        return await self._submit(
            self._reads, lambda c: retention_sql.sealed_leaves(c, message_ids, unlinked_before)
        )

    async def disposed(self, items: Collection[str]) -> set[str]:
        return await self._submit(self._reads, lambda c: retention_sql.disposed(c, items))

    async def count_records(self, kind: str | None = None) -> int:
        return await self._submit(self._reads, lambda c: sql.count_records(c, kind))

    async def body(self, digest: str) -> bytes | None:
        return await self._submit(self._reads, lambda c: sql.body(c, digest))

    async def conversation(self, token: str) -> StoredConversation | None:
        return await self._submit(self._reads, lambda c: sql.conversation(c, token))

    async def used_since(self, conversation: StoredConversation, cutoff: datetime) -> bool:
        return await self._submit(self._reads, lambda c: sql.used_since(c, conversation, cutoff))

    async def review(self, message_id: str) -> ReviewEntry | None:
        return await self._submit(self._reads, lambda c: sql.review(c, message_id))

    async def reviews(self, states: Sequence[str]) -> list[ReviewEntry]:
        return await self._submit(self._reads, lambda c: sql.reviews(c, states))

    async def log_entries(self, after: int, limit: int) -> list[LogEntry]:
        return await self._submit(self._reads, lambda c: log_sql.log_entries(c, after, limit))

    async def checkpoints(self) -> list[Checkpoint]:
        return await self._submit(self._reads, log_sql.checkpoints)

    async def sealed_entries(self, after: int, limit: int) -> list[SealedEntry]:
        return await self._submit(self._reads, lambda c: log_sql.sealed_entries(c, after, limit))

    async def sms_sessions(
        self, phones: Collection[str], *, active_after: float, relay_number: str | None = None
    ) -> list[SmsSession]:
        return await self._submit(
            self._reads,
            lambda c: sms_sql.sessions(c, phones, active_after=active_after, relay_number=relay_number),
        )

    async def reserve_send(self, relay_number: str, seconds: float, now: float) -> float:
        return await self._submit(
            self._writes, lambda c: sms_sql.reserve_send(c, relay_number, seconds, now), urgent=True
        )

    async def opted_out(self, phones: Collection[str]) -> set[tuple[str, str]]:
        return await self._submit(self._reads, lambda c: sms_sql.opted_out(c, phones))

    async def _submit(
        self, jobs: queue.SimpleQueue[_Job | None], work: Callable[[Any], T], *, urgent: bool = False
    ) -> T:
        if not self._threads:
            raise RuntimeError("archive store is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        jobs.put(_Job(work, future, loop, urgent))
        return await future

    # --- the threads --------------------------------------------------------------------------------

    def _write_loop(self, started: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        try:
            connection = open_database(self.path, self.newly_applied)
            lock = _WriteLock(self.path.with_name(self.path.name + ".writer-lock"))
        except BaseException as exc:  # reported to start()'s caller
            loop.call_soon_threadsafe(_settle, started, None, exc)
            return
        loop.call_soon_threadsafe(_settle, started, None, None)
        try:
            while (group := self._next_group()) is not None:
                with lock:
                    _settle_all(_write_group(connection, group))
        finally:
            lock.close()
            connection.close()

    def _next_group(self) -> list[_Job] | None:
        first = self._writes.get()
        if first is None:
            return None
        group = [first]
        deadline = time.monotonic() + (0.0 if first.urgent else self.linger)
        while len(group) < _MAX_GROUP:
            try:
                job = self._writes.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is not None and job.urgent:
                deadline = 0.0  # commit what has gathered now: a delivery waits on this one
            if job is None:
                self._writes.put(None)  # finish this group, then stop
                break
            group.append(job)
        return group

    def _read_loop(self, started: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute("PRAGMA query_only=ON")
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, started, None, exc)
            return
        loop.call_soon_threadsafe(_settle, started, None, None)
        try:
            while (job := self._reads.get()) is not None:
                try:
                    outcome: _Outcome = (job, job.work(connection), None)
                except Exception as exc:
                    outcome = (job, None, exc)
                _settle_all([outcome])
        finally:
            connection.close()


def _write_group(connection: sqlite3.Connection, writes: list[_Job]) -> list[_Outcome]:
    """Every unit of the group in one transaction. Should one fail, the group is rolled back and run
    again with each unit in its own SAVEPOINT, so the failure rolls back alone; the common case needs
    no savepoint statements (each costs the writer a turn of the GIL)."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        outcomes: list[_Outcome] = [(job, job.work(connection), None) for job in writes]
        connection.execute("COMMIT")
        return outcomes
    except Exception as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if len(writes) == 1:
            return [(writes[0], None, exc)]
    return _write_each(connection, writes)


def _write_each(connection: sqlite3.Connection, writes: list[_Job]) -> list[_Outcome]:
    outcomes: list[_Outcome] = []
    try:
        connection.execute("BEGIN IMMEDIATE")
        for job in writes:
            connection.execute("SAVEPOINT unit")
            try:
                result = job.work(connection)
            except Exception as exc:
                connection.execute("ROLLBACK TO unit")
                outcomes.append((job, None, exc))
            else:
                outcomes.append((job, result, None))
            connection.execute("RELEASE unit")
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        outcomes = [(job, None, exc) for job in writes]
    return outcomes


class _WriteLock:
    """One writer at a time across the relay's processes, queued by the kernel (flock).

    SQLite's own busy handler polls with sleeps that grow to 100 ms, so a process that finds the archive
    locked would wait far longer than the commit it waits for. flock wakes the next writer as soon as
    the lock is released, and the kernel releases it if its holder dies. SQLite's locking still guards
    against writers that do not take this lock (the sqlite3 shell)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def _settle_all(outcomes: list[_Outcome]) -> None:
    """Resolve each caller's future in its own loop: one wake-up per loop for the whole group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for job, result, error in outcomes:
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, settled in by_loop.items():
        loop.call_soon_threadsafe(_settle_each, settled)


def _settle_each(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in settled:
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def open_database(path: Path, applied: list[str] | None = None) -> sqlite3.Connection:
    """The writer's connection, the schema brought up to date (``chaperone db upgrade`` does the same)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves so the group boundaries are ours.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives power loss
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    # INSERT OR REPLACE deletes the row it replaces; with this on, the no-delete triggers see it.
    connection.execute("PRAGMA recursive_triggers=ON")
    done = sql.upgrade(connection)
    if applied is not None:
        applied.extend(done)
    return connection
