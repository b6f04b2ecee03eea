"""The relay as several processes, so that it can use more than one core.

aiosmtpd serves every session on one event loop, so one process accepts on one core. With
``[smtp] processes = N`` this supervisor starts N acceptance processes, which listen on the same ports
(SO_REUSEPORT: the kernel spreads the connections) and commit to the same archive, and one delivery
process, the only reader of the delivery queue (as Postfix's queue manager is of its queue), so no copy is
ever sent by two processes. An acceptance process answers 250 only after its commit, so a process that
dies loses nothing; the supervisor starts it again.

The delivery process runs at a lower CPU priority (``[delivery] nice``): while a burst arrives, the cores
go to the sessions that staff members' mail programs are waiting on, and the durable queue absorbs the
difference. Each child holds a pipe from the supervisor open as its standard input and stops when it
closes, so none outlives a supervisor that was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

import structlog

log = structlog.get_logger("gateway.processes")
_RESTART_DELAY = 1.0
_STOP_GRACE = 15.0
ROLES = ("acceptance", "delivery")


async def supervise(commands: Sequence[tuple[str, Sequence[str]]], stop: asyncio.Event) -> None:
    """Keep each ``(name, command)`` running until ``stop``, then stop them all."""
    children = [_Child(name, command) for name, command in commands]
    keepers = [asyncio.create_task(child.keep_running(stop)) for child in children]
    log.info("relay started", processes=[name for name, _ in commands])
    try:
        await stop.wait()
    finally:
        await asyncio.gather(*(child.stop() for child in children))
        await asyncio.gather(*keepers, return_exceptions=True)


class _Child:
    def __init__(self, name: str, command: Sequence[str]) -> None:
        self.name = name
        self.command = list(command)
        self.process: asyncio.subprocess.Process | None = None

    async def keep_running(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.process = await asyncio.create_subprocess_exec(*self.command, stdin=asyncio.subprocess.PIPE)
            code = await self.process.wait()
            if stop.is_set():
                return
            log.error("relay process exited; starting it again", process=self.name, exit_code=code)
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
            log.error("relay process did not stop; killing it", process=self.name)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def stop_when_supervisor_exits(stop: asyncio.Event) -> None:
    """In a child: standard input is the supervisor's pipe, and end of file means it has gone."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    stop.set()
