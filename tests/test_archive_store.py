"""The embedded store shared by several processes: one writer at a time, queued on the archive's lock."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from archive.changes import Changes
from archive.records import Record, RecordKind
from archive.sqlite import SqliteStore


def _refusal(n: int) -> Changes:
    changes = Changes()
    changes.append(Record(RecordKind.REFUSAL, None, {"n": n}))
    return changes


async def test_a_writer_waits_for_the_archive_lock(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "archive.db")
    await store.start()
    try:
        lock = os.open(tmp_path / "archive.db.writer-lock", os.O_RDWR)
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is committing
        write = asyncio.create_task(store.commit(_refusal(1)))
        await asyncio.sleep(0.3)
        assert not write.done()
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
        await asyncio.wait_for(write, 5)
        assert await store.count_records() == 1
    finally:
        await store.close()


async def test_two_stores_on_one_file_lose_no_commit(tmp_path: Path) -> None:
    stores = [SqliteStore(tmp_path / "archive.db") for _ in range(2)]
    for store in stores:
        await store.start()
    try:
        await asyncio.gather(*(stores[n % 2].commit(_refusal(n)) for n in range(400)))
        assert await stores[0].count_records() == 400
    finally:
        for store in stores:
            await store.close()
