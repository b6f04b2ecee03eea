"""The delivery process's doorbell (archive.doorbell): a ring wakes whoever answers for that archive and
no other; ringing with nobody answering, or a second process trying to answer, harms nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from archive.doorbell import Answering, Doorbell


async def test_a_ring_wakes_the_process_answering_for_that_archive_only(tmp_path: Path) -> None:
    rung = {"ours": asyncio.Event(), "other": asyncio.Event()}
    ours = Answering(tmp_path / "archive.db", rung["ours"].set)
    other = Answering(tmp_path / "other.db", rung["other"].set)
    doorbell = Doorbell(tmp_path / "archive.db")
    try:
        for _ in range(50):  # a burst of rings is heard as one or a few wake-ups, never lost
            doorbell.ring()
        async with asyncio.timeout(5):
            await rung["ours"].wait()
        await asyncio.sleep(0.05)
        assert not rung["other"].is_set()
    finally:
        doorbell.close()
        ours.close()
        other.close()


async def test_ringing_with_nobody_answering_does_nothing(tmp_path: Path) -> None:
    doorbell = Doorbell(tmp_path / "archive.db")
    doorbell.ring()  # no exception: the copies are committed, the next poll finds them
    doorbell.close()


async def test_a_second_answerer_for_one_archive_leaves_the_first_in_charge(tmp_path: Path) -> None:
    woken: list[str] = []
    first = Answering(tmp_path / "archive.db", lambda: woken.append("first"))
    second = Answering(tmp_path / "archive.db", lambda: woken.append("second"))
    doorbell = Doorbell(tmp_path / "archive.db")
    try:
        doorbell.ring()
        async with asyncio.timeout(5):
            while not woken:  # noqa: ASYNC110 - the wake-up is a plain callback
                await asyncio.sleep(0.01)
        assert set(woken) == {"first"}
    finally:
        doorbell.close()
        second.close()
        first.close()
