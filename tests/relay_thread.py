"""A relay running on its own event loop in a background thread, for tests driven by blocking clients
(smtplib, raw sockets, hypothesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.config import Settings
from gateway.directory import Directory
from gateway.service import Relay, running_relay


@contextmanager
def relay_in_thread(settings: Settings, directory: Directory) -> Iterator[Relay]:
    loop = asyncio.new_event_loop()
    started: asyncio.Future[Relay] = loop.create_future()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with running_relay(settings, directory) as relay:
                started.set_result(relay)
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready = threading.Event()
    loop.call_soon_threadsafe(lambda: started.add_done_callback(lambda _: ready.set()))
    ready.wait(timeout=30)
    try:
        yield started.result()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
