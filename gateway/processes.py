"""The relay as several processes, so that it can use more than one core.

aiosmtpd serves every session on one event loop, so one process accepts on one core. With
``[smtp] processes = N`` this supervisor binds the listening sockets once and starts N acceptance
processes that inherit them and accept from the same queues (the pre-fork model: a connection waits in
the socket's queue for whichever process is free, and one that dies leaves none behind; SO_REUSEPORT
gave each process a queue of its own, whose waiting connections were reset when it died), which commit
to the same archive, and one delivery
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
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence

import structlog

from adapters.smtp_server import split_host_port

log = structlog.get_logger("gateway.processes")
_RESTART_DELAY = 1.0
_STOP_GRACE = 15.0
ROLES = ("acceptance", "delivery")


LISTEN_FDS = "CHAPERONE_LISTEN_FDS"  # "submission=5,inbound=6": the sockets an acceptance process inherits


def bind_listeners(addresses: Mapping[str, str]) -> dict[str, socket.socket]:
    """Listening sockets for ``name -> HOST:PORT``, bound once by the supervisor, inheritable."""
    bound = {}
    for name, address in addresses.items():
        host, port = split_host_port(address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
        listener.setblocking(False)
        listener.set_inheritable(True)
        bound[name] = listener
    return bound


def announce(sockets: Mapping[str, socket.socket]) -> dict[str, str]:
    """The environment that tells an acceptance process which descriptors are its listeners."""
    return {LISTEN_FDS: ",".join(f"{name}={s.fileno()}" for name, s in sockets.items())}


def inherited_listeners() -> dict[str, socket.socket]:
    """In an acceptance process: the sockets the supervisor bound (empty when run on its own)."""
    found = {}
    for item in filter(None, os.environ.get(LISTEN_FDS, "").split(",")):
        name, _, fd = item.partition("=")
        found[name] = socket.socket(fileno=int(fd))
    return found


async def supervise(
    commands: Sequence[tuple[str, Sequence[str]]],
    stop: asyncio.Event,
    sockets: Mapping[str, socket.socket] | None = None,
) -> None:
    """Keep each ``(name, command)`` running until ``stop``, then stop them all. ``sockets`` are
    passed to every child (only acceptance processes use them)."""
    shared = dict(sockets or {})
    children = [_Child(name, command, shared) for name, command in commands]
    keepers = [asyncio.create_task(child.keep_running(stop)) for child in children]
    log.info("relay started", processes=[name for name, _ in commands])
    try:
        await stop.wait()
    finally:
        await asyncio.gather(*(child.stop() for child in children))
        await asyncio.gather(*keepers, return_exceptions=True)


class _Child:
    def __init__(self, name: str, command: Sequence[str], sockets: Mapping[str, socket.socket]) -> None:
        self.name = name
        self.command = list(command)
        self.sockets = sockets
        self.process: asyncio.subprocess.Process | None = None

    async def keep_running(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                pass_fds=[s.fileno() for s in self.sockets.values()],
                env={**os.environ, **announce(self.sockets)},
            )
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
