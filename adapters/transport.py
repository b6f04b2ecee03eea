"""Where copies go: the district's smarthost over SMTP (adapters.smarthost), or Maildirs in development.

A transport sends one message to its recipients in one transaction and reports one outcome per recipient;
it never raises for what the far side said: a refused recipient, a busy server or a dead connection are
outcomes the delivery workers record and act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from adapters.smarthost import GoneBeforeMail, SmarthostConnection, all_refused, code_of, text_of
from gateway.config import Settings
from gateway.outbound import RecipientOutcome, Transport

_TRUSTED_IDLE = 2.0  # seconds a pooled connection is reused without an RSET probe


class SmtpTransport:
    """A small pool of reusable connections to one smarthost: one transaction per message, all its
    recipients in it; a connection that errs is dropped and the next send opens a fresh one.

    A connection idle for a while is probed with RSET before it is reused (as Postfix does), since the
    far side may have hung up; one that finished a transaction a moment ago is not: the probe would
    cost a round trip per copy under load. Should the server turn out to have gone all the same, MAIL
    fails before anything was sent, and the copy goes on a fresh connection at once.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        starttls: bool,
        username: str | None,
        password: str | None,
        pool_size: int,
        timeout: float = 60.0,
    ) -> None:
        self.host, self.port = host, port
        self.implicit_tls, self.starttls = implicit_tls, starttls
        self.username, self.password = username, password
        self.timeout = timeout
        self._idle: list[tuple[SmarthostConnection, float]] = []  # with when each finished its last use
        self._slots = asyncio.Semaphore(pool_size)

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        async with self._slots:
            outcomes = await self._attempt(envelope_from, recipients, message, fresh_only=False)
            if outcomes is None:  # a pooled connection the server had closed: nothing was sent on it
                outcomes = await self._attempt(envelope_from, recipients, message, fresh_only=True)
            assert outcomes is not None  # a fresh connection is never given up on this way
            return outcomes

    async def _attempt(
        self, envelope_from: str, recipients: Sequence[str], message: bytes, *, fresh_only: bool
    ) -> list[RecipientOutcome] | None:
        """The outcomes of one try, or None when the pooled connection it took had been closed."""
        try:
            client, reused = await self._connection(fresh_only=fresh_only)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return all_refused(recipients, code_of(exc), f"cannot reach smarthost: {type(exc).__name__}")
        try:
            # One deadline for the whole transaction: a timer per command (aiosmtplib's own timeout) costs
            # about as much CPU as the command. A timeout is an OSError: the connection is dropped below.
            async with asyncio.timeout(self.timeout):
                outcomes = await client.transaction(envelope_from, recipients, message)
        except GoneBeforeMail as gone:
            client.close()
            return None if reused else all_refused(recipients, gone.code, gone.text)
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            return all_refused(recipients, code_of(exc), text_of(exc))
        if client.is_connected:
            self._idle.append((client, time.monotonic()))
        return outcomes

    async def _connection(self, *, fresh_only: bool) -> tuple[SmarthostConnection, bool]:
        """A connection ready for MAIL, and whether it was used before."""
        while self._idle and not fresh_only:
            client, last_used = self._idle.pop()
            if not client.is_connected:
                continue
            if time.monotonic() - last_used < _TRUSTED_IDLE:
                return client, True
            try:
                await client.rset()
                return client, True
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        client = await SmarthostConnection.open(
            self.host,
            self.port,
            implicit_tls=self.implicit_tls,
            starttls=self.starttls,
            username=self.username,
            password=self.password,
            command_timeout=self.timeout,
        )
        return client, False

    async def close(self) -> None:
        for client, _ in self._idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        self._idle.clear()


class MaildirTransport:
    """Development delivery: each recipient gets a Maildir named after their address under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def send(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        return await asyncio.to_thread(self._deliver, recipients, message)

    def _deliver(self, recipients: Sequence[str], message: bytes) -> list[RecipientOutcome]:
        outcomes = []
        for recipient in recipients:
            folder = self.root / _safe_name(recipient)
            self.root.mkdir(parents=True, exist_ok=True)  # Maildir(create=True) makes only the leaf
            mailbox.Maildir(folder, create=True).add(message)
            outcomes.append(RecipientOutcome(recipient, 250, "2.0.0 delivered to Maildir"))
        return outcomes

    async def close(self) -> None:
        return None


def _safe_name(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", address.lower()) or "_"


def transport_from_settings(settings: Settings) -> Transport:
    delivery = settings.delivery
    if delivery.target.startswith("maildir:"):
        return MaildirTransport(Path(delivery.target.removeprefix("maildir:")))
    target = urlsplit(delivery.target)
    implicit = target.scheme == "smtps"
    return SmtpTransport(
        target.hostname or "localhost",
        target.port or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls=delivery.starttls,
        username=delivery.username,
        password=delivery.secret_password(),
        pool_size=delivery.workers,
    )
