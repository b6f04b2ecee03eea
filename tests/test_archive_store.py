"""The embedded store shared by several processes: one writer at a time, queued on the archive's lock."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from archive.records import Record, RecordKind
from archive.sqlite import SqliteStore, Writer


def _refusal(n: int) -> Record:
    return Record(RecordKind.REFUSAL, None, {"n": n})


async def test_a_writer_waits_for_the_archive_lock(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "archive.db")
    await store.start()
    try:
        lock = os.open(tmp_path / "archive.db.writer-lock", os.O_RDWR)
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is committing
        write = asyncio.create_task(store.write(lambda w: w.append(_refusal(1))))
        await asyncio.sleep(0.3)
        assert not write.done()
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
        assert await asyncio.wait_for(write, 5) > 0
    finally:
        await store.close()


async def test_two_stores_on_one_file_lose_no_commit(tmp_path: Path) -> None:
    stores = [SqliteStore(tmp_path / "archive.db") for _ in range(2)]
    for store in stores:
        await store.start()
    try:

        def append(n: int) -> Callable[[Writer], int]:
            return lambda w: w.append(_refusal(n))

        await asyncio.gather(*(stores[n % 2].write(append(n)) for n in range(400)))
        count = await stores[0].read(lambda c: c.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        assert count == 400
    finally:
        for store in stores:
            await store.close()
