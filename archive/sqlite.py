"""The embedded store: SQLite in WAL mode behind one writer thread that commits in groups.

Every connection's durable commit costs an fsync; twenty concurrent SMTP sessions each waiting for their
own would serialise on the disk. The writer thread instead drains every transaction that is waiting,
runs each inside its own SAVEPOINT (a failing one rolls back alone), and commits them with one fsync.
A caller's future resolves only after that commit: acknowledging before it would break durability.

A group waits up to ``_LINGER`` after its first transaction for others to join. Each commit rewrites the
pages it touched (table tails, index leaves) into the log, so twenty sessions committing one message each
cost far more disk writes and thread switches than one commit of twenty; two milliseconds is noise beside
an SMTP round trip. Several relay processes may share one file: SQLite's own locks order their commits.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from archive.records import Record, body_digest, leaf_hash

T = TypeVar("T")
_MAX_GROUP = 256
_LINGER = 0.002


class Writer:
    """What a unit of work may do inside one durable transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def append(self, record: Record) -> int:
        recorded_at = record.recorded_at_text
        canonical = record.canonical(recorded_at)
        cursor = self.connection.execute(
            "INSERT INTO records(kind, message_id, recorded_at, canonical, leaf_hash) VALUES (?,?,?,?,?)",
            (
                str(record.kind),
                record.message_id,
                recorded_at,
                canonical,
                leaf_hash(canonical),
            ),
        )
        return int(cursor.lastrowid or 0)

    def put_body(self, content: bytes) -> str:
        digest = body_digest(content)
        self.connection.execute(
            "INSERT OR IGNORE INTO bodies(digest, size, content) VALUES (?,?,?)",
            (digest, len(content), content),
        )
        return digest

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self.connection.execute(sql, params)


@dataclass
class _Job:
    work: Callable[[Writer], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    write: bool


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._startup_error is not None:
            raise self._startup_error

    async def close(self) -> None:
        if self._thread is None:
            return
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def write(self, work: Callable[[Writer], T]) -> T:
        """Run ``work`` in a transaction; return once it is durably committed."""
        return await self._submit(work, write=True)

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(lambda writer: work(writer.connection), write=False)

    async def _submit(self, work: Callable[[Writer], T], *, write: bool) -> T:
        if self._thread is None:
            raise RuntimeError("archive store is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, future, loop, write))
        return await future

    # --- the writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            connection = open_database(self.path)
            lock = _WriteLock(self.path.with_name(self.path.name + ".writer-lock"))
        except BaseException as exc:  # reported to start()'s caller
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        writer = Writer(connection)
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                group = [first]
                deadline = time.monotonic() + (_LINGER if first.write else 0.0)
                while len(group) < _MAX_GROUP:
                    try:
                        job = self._jobs.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if job is None:
                        self._jobs.put(None)  # finish this group, then stop
                        break
                    group.append(job)
                self._run_group(writer, lock, group)
        finally:
            lock.close()
            connection.close()

    def _run_group(self, writer: Writer, lock: _WriteLock, group: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        for job in (j for j in group if not j.write):
            try:
                outcomes.append((job, job.work(writer), None))
            except Exception as exc:
                outcomes.append((job, None, exc))
        writes = [j for j in group if j.write]
        if writes:
            with lock:
                outcomes.extend(_write_group(writer, writes))
        for job, result, error in outcomes:
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)


def _write_group(writer: Writer, writes: list[_Job]) -> list[tuple[_Job, Any, BaseException | None]]:
    connection = writer.connection
    outcomes: list[tuple[_Job, Any, BaseException | None]] = []
    try:
        connection.execute("BEGIN IMMEDIATE")
        for job in writes:
            connection.execute("SAVEPOINT unit")
            try:
                result = job.work(writer)
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


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def open_database(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves so the group boundaries are ours.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives power loss
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    connection.executescript(resources.files("archive").joinpath("schema.sql").read_text("utf-8"))
    return connection
