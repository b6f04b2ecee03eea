"""The embedded store's doorbell (``archive.store.Doorbell``): whoever queues a copy that may go now (an
acceptance process, a supervisor's approval) rings it, and the delivery process looks at the queue at once
instead of at its next poll. (PostgreSQL's is LISTEN/NOTIFY: ``archive.postgres``.)

The bell is a datagram socket in Linux's abstract namespace, named after the archive's file: no file to
clean up, no path length limit, and one bell per archive; an embedded archive lives on one host. Ringing
never blocks and never fails a message: its copies are already committed, and a bell nobody answers (the
delivery process is restarting) only means the next poll finds them. A ring carries nothing: it only says
"look".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("archive.doorbell")


def _address(archive: Path) -> bytes:
    name = hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:32]
    return b"\0chaperone-delivery-" + name.encode()


class Doorbell:
    """The ringing side."""

    def __init__(self, archive: Path) -> None:
        self.address = _address(archive)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def ring(self) -> None:
        # Nobody answering (ECONNREFUSED), or rings already waiting to be heard (EAGAIN): either way the
        # delivery process will look, or is about to.
        with contextlib.suppress(OSError):
            self._socket.sendto(b"!", self.address)

    def close(self) -> None:
        self._socket.close()


class Answering:
    """The delivery process's side: calls ``wake`` once for every burst of rings it hears."""

    def __init__(self, archive: Path, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._loop = asyncio.get_running_loop()
        self._socket: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        try:
            self._socket.bind(_address(archive))
        except OSError as exc:  # another delivery process answers for this archive: poll instead
            log.warning("cannot answer the delivery doorbell; polling only", error=str(exc))
            self._socket.close()
            self._socket = None
            return
        self._loop.add_reader(self._socket, self._heard)

    def _heard(self) -> None:
        assert self._socket is not None
        with contextlib.suppress(BlockingIOError):
            while self._socket.recv(64):
                pass
        self._wake()

    def close(self) -> None:
        if self._socket is not None:
            self._loop.remove_reader(self._socket)
            self._socket.close()
            self._socket = None


class SocketDoorbell:
    """Both sides for one archive file, as the store interface offers them."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self._bell: Doorbell | None = None
        self._answering: Answering | None = None

    def ring(self) -> None:
        if self._bell is None:
            self._bell = Doorbell(self.archive)
        self._bell.ring()

    async def answer(self, wake: Callable[[], None]) -> None:
        self._answering = Answering(self.archive, wake)

    async def close(self) -> None:
        if self._bell is not None:
            self._bell.close()
        if self._answering is not None:
            self._answering.close()
