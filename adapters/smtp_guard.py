"""What keeps one client from costing everyone else: a budget of message bytes in flight across all
sessions, and counts of failures per key (an address, a client IP) over a sliding window.

Learned from Postfix's anvil and smtpd error limits: limits are per client and per connection, they answer
with a temporary reply (the client may try again later), and they cost nothing to check.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.models import Channel
from gateway.refusals import RefusalArchive, RefusedAttempt


@dataclass
class InFlight:
    """Bytes of message data held in memory by all sessions of a process, against ``limit``. A session
    reserves as its DATA arrives and releases once the message is committed or refused."""

    limit: int
    used: int = 0

    def reserve(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)

    @property
    def full(self) -> bool:
        return self.used >= self.limit


@dataclass
class FailureWindow:
    """Failures per key in the last ``seconds``; a key with ``limit`` of them is throttled until the
    oldest leaves the window. Keys are forgotten once their window is empty, so memory follows the
    number of recently failing clients, not every client ever seen."""

    limit: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def throttled(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.seconds - self.clock())

    def fail(self, key: str) -> int:
        """Count a failure; return how many ``key`` has in the window now."""
        times = self._recent(key)
        if times is None:
            times = self._failures[key] = deque()
        times.append(self.clock())
        while len(times) > self.limit:
            times.popleft()
        return len(times)

    def forgive(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self.clock() - self.seconds
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


def client_ip(session: object) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


TOO_MANY_REFUSALS = "421 4.7.0 Too many refused commands from your address; try again later"


class Refusals:
    """The one refusal path of both SMTP handlers: archive it (``RefusalArchive`` summarises a busy
    connection), count it against the client's IP, and once a client has been refused too often in a
    minute, answer 421 and let it go (ChaperoneSMTP closes the connection on any 421)."""

    def __init__(self, archive: RefusalArchive, per_client_per_minute: int) -> None:
        self.archive = archive
        self.per_client = FailureWindow(limit=per_client_per_minute, seconds=60.0)

    async def refuse(
        self, session: object, *, stage: str, answer: str, sender: str | None, address: str | None
    ) -> str:
        ip = client_ip(session)
        self.per_client.fail(ip)
        attempt = RefusedAttempt(Channel.EMAIL, stage, sender, address, reply=answer, peer=peer_text(session))
        await self.archive.refused(id(session), attempt)
        return TOO_MANY_REFUSALS if self.per_client.throttled(ip) else answer

    def closed(self, session: object) -> None:
        self.archive.closed(id(session))


def peer_text(session: object) -> str:
    peer = getattr(session, "peer", None)
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer or "")
