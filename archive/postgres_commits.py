"""Group commit for the PostgreSQL store: units of work that arrive while one transaction commits wait for
the next, and go in together, each under a savepoint of its own, so one unit's ``Conflict`` rolls back that
unit alone. One WAL flush then covers a group, and the records of the whole group go in last, in one
statement: the record sequencer's lock (``postgres_log``) is taken once per group and held only for that
statement and the commit, rather than by every unit in turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from archive.changes import Changes, RecordRow

_GROUP = 64  # units at most in one transaction
_CLOSING_SECONDS = 10.0


class GroupCommit:
    def __init__(
        self,
        acquire: Callable[[], Any],
        apply: Callable[[Any, Changes], Awaitable[None]],
        append_records: Callable[[Any, list[RecordRow]], Awaitable[None]],
    ) -> None:
        self._acquire = acquire  # the pool's acquire(): an async context manager giving a connection
        self._apply = apply  # a unit's working state, bodies and checkpoints: all but its records
        self._append_records = append_records
        self._waiting: list[tuple[Changes, asyncio.Future[None]]] = []
        self._current: list[tuple[Changes, asyncio.Future[None]]] = []  # the group being committed
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def commit(self, changes: Changes) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="postgres-group-commit")
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((changes, done))
        self._arrived.set()
        # Shielded: a caller that stops waiting does not take its unit out of a transaction under way.
        await asyncio.shield(done)

    async def close(self) -> None:
        if self._task is not None:
            # What was handed in is committed (or fails) before the pool closes.
            handed = [done for _, done in (*self._current, *self._waiting)]
            if handed:
                await asyncio.wait(handed, timeout=_CLOSING_SECONDS)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._waiting:
                self._current, self._waiting = self._waiting[:_GROUP], self._waiting[_GROUP:]
                await self._commit_group(self._current)
                self._current = []

    async def _commit_group(self, group: list[tuple[Changes, asyncio.Future[None]]]) -> None:
        outcomes: list[BaseException | None] = []
        try:
            async with self._acquire() as connection, connection.transaction():
                records: list[RecordRow] = []
                for changes, _ in group:
                    try:
                        async with connection.transaction():  # a savepoint: this unit alone
                            await self._apply(connection, changes)
                        outcomes.append(None)
                        records.extend(changes.records)
                    except Exception as error:  # handed to the unit's own caller
                        outcomes.append(error)
                await self._append_records(connection, records)
        except BaseException as error:
            for _, done in group:
                if not done.done():
                    done.set_exception(
                        error if isinstance(error, Exception) else RuntimeError("commit cut off")
                    )
            if not isinstance(error, Exception):
                raise
            return
        for (_, done), outcome in zip(group, outcomes, strict=True):
            if done.done():
                continue
            if outcome is None:
                done.set_result(None)
            else:
                done.set_exception(outcome)
