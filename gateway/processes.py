"""Several acceptance processes and one delivering parent: how the relay uses more than one core.

aiosmtpd serves every session on one event loop, so one process accepts on one core. With
``[smtp] processes = N`` the relay starts N acceptance processes that listen on the same ports
(SO_REUSEPORT: the kernel spreads the connections) and commit to the same archive, while this process
only delivers. It is the one reader of the delivery queue, as Postfix's queue manager is of its queue, so
no copy is ever sent by two processes and a restart of any of them loses nothing: an acceptance process
answers 250 only after its commit.

An acceptance process that dies is started again. Each one holds a pipe from the parent open as its
standard input and stops when the pipe closes, so none outlives a parent that was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

import structlog

from gateway.config import Settings
from gateway.service import running_delivery

log = structlog.get_logger("gateway.processes")
_RESTART_DELAY = 1.0
_STOP_GRACE = 15.0


async def run_acceptance_processes(settings: Settings, command: Sequence[str], stop: asyncio.Event) -> None:
    """Deliver here and keep ``settings.smtp.processes`` copies of ``command`` accepting, until ``stop``."""
    async with running_delivery(settings):
        slots = [_AcceptanceProcess(slot, command) for slot in range(settings.smtp.processes)]
        keepers = [asyncio.create_task(slot.keep_running(stop)) for slot in slots]
        log.info("relay started", acceptance_processes=len(slots))
        try:
            await stop.wait()
        finally:
            await asyncio.gather(*(slot.stop() for slot in slots))
            await asyncio.gather(*keepers, return_exceptions=True)


class _AcceptanceProcess:
    def __init__(self, slot: int, command: Sequence[str]) -> None:
        self.slot = slot
        self.command = list(command)
        self.process: asyncio.subprocess.Process | None = None

    async def keep_running(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.process = await asyncio.create_subprocess_exec(*self.command, stdin=asyncio.subprocess.PIPE)
            code = await self.process.wait()
            if stop.is_set():
                return
            log.error("acceptance process exited; starting it again", slot=self.slot, exit_code=code)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_RESTART_DELAY):
                    await stop.wait()

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(_STOP_GRACE):
                await process.wait()
        except TimeoutError:
            log.error("acceptance process did not stop; killing it", slot=self.slot)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def stop_when_parent_exits(stop: asyncio.Event) -> None:
    """In an acceptance process: standard input is the parent's pipe, and end of file means it is gone."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    stop.set()
