"""Running one piece of work against the archive from a command: open the store, do it, close it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from archive.backends import open_store
from archive.store import Store
from gateway.config import Settings

T = TypeVar("T")


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(settings.archive.url)
        await store.start()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())
