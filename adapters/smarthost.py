"""One connection to the district's smarthost, and the transaction that sends one copy over it.

aiosmtplib opens the connection: the greeting, implicit TLS or STARTTLS, EHLO and AUTH. It has no
PIPELINING (RFC 2920): its protocol waits for one reply per command, and drops a reply that arrives
before it is asked for. Where the smarthost offers PIPELINING (Postfix, Exchange and most MTAs do), the
open connection is handed to ``_Replies``, which keeps every reply in order however the segments fall,
and a copy goes as RFC 2920 describes: MAIL, each RCPT and DATA in one write, their replies read in
order, then the message and its reply. That is two writes and two wake-ups per copy instead of one per
command (with three recipients, 35 µs of CPU a copy against 180 µs; both loopback writes and wake-ups
cost about as much as the command itself). A smarthost without PIPELINING gets the commands one at a time.

A transaction reports one outcome per recipient and raises only when the connection itself fails
(``OSError``, ``aiosmtplib.SMTPException``), or ``GoneBeforeMail`` when the server hung up before it took
the envelope sender, so nothing of the copy went.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

from gateway.outbound import RecipientOutcome

_MAX_REPLY = 64 * 1024  # one reply's bytes; a server that sends more is not an SMTP server
_NOT_IN_A_PATH = re.compile(r"[\s<>\x00-\x1f\x7f]")
_LINE_START_DOT = re.compile(rb"(?m)^\.")


class GoneBeforeMail(Exception):
    """The server closed the connection before it took the envelope sender: nothing of the copy went."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(code, text)
        self.code, self.text = code, text


class Reply(NamedTuple):
    code: int
    text: str


class SmarthostConnection:
    """A connection ready for MAIL. ``open`` sets it up; ``transaction`` sends one copy."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client
        self._timeout = client.timeout  # for RSET and QUIT; a transaction has its caller's deadline
        self._eightbit = client.supports_extension("8bitmime")
        self._smtputf8 = client.supports_extension("smtputf8")
        self._replies: _Replies | None = None
        self._transport: asyncio.Transport | None = None
        if client.supports_extension("pipelining") and isinstance(client.transport, asyncio.Transport):
            # From here on the connection's bytes are read by _Replies, not by aiosmtplib (which has
            # read everything the server sent so far: the replies to the commands it sent).
            self._transport = client.transport
            self._replies = _Replies()
            self._transport.set_protocol(self._replies)

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        starttls: bool,
        username: str | None,
        password: str | None,
        command_timeout: float,
    ) -> SmarthostConnection:
        client = aiosmtplib.SMTP(
            hostname=host, port=port, use_tls=implicit_tls, start_tls=starttls, timeout=command_timeout
        )
        await client.connect()
        try:
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()
            if username is not None and password is not None:
                await client.login(username, password)
        except BaseException:
            client.close()
            raise
        return cls(client)

    @property
    def is_connected(self) -> bool:
        if self._replies is not None:
            return not self._replies.lost
        return self._client.is_connected

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        else:
            self._client.close()

    async def rset(self) -> None:
        reply = await self._command(b"RSET")
        if reply.code != 250:
            raise aiosmtplib.SMTPResponseException(reply.code, reply.text)

    async def quit(self) -> None:
        try:
            await self._command(b"QUIT")
        finally:
            self.close()

    async def transaction(
        self, envelope_from: str, recipients: Sequence[str], message: bytes
    ) -> list[RecipientOutcome]:
        sender = _path(envelope_from)
        if sender is None:
            return all_refused(recipients, 553, f"5.1.7 not a mailbox: {envelope_from!r}")
        outcomes: dict[str, RecipientOutcome] = {}
        paths: list[tuple[str, bytes]] = []
        for recipient in recipients:
            path = _path(recipient)
            if path is None:
                outcomes[recipient] = RecipientOutcome(recipient, 553, f"5.1.3 not a mailbox: {recipient!r}")
            else:
                paths.append((recipient, path))
        if not paths:
            return [outcomes[r] for r in recipients]
        mail = b" ".join((b"MAIL FROM:" + sender, *self._mail_options(envelope_from, recipients, message)))
        if self._replies is not None:
            await self._pipelined(mail, paths, message, outcomes)
        else:
            await self._one_at_a_time(mail, paths, message, outcomes)
        return [outcomes[r] for r in recipients]

    def _mail_options(self, envelope_from: str, recipients: Sequence[str], message: bytes) -> list[bytes]:
        options = [b"BODY=8BITMIME"] if self._eightbit and not message.isascii() else []
        if self._smtputf8 and not all(a.isascii() for a in (envelope_from, *recipients)):
            options.append(b"SMTPUTF8")
        return options

    async def _pipelined(
        self,
        mail: bytes,
        paths: list[tuple[str, bytes]],
        message: bytes,
        outcomes: dict[str, RecipientOutcome],
    ) -> None:
        """RFC 2920: the envelope and DATA in one group, every reply read (so the next transaction's
        replies are its own), then the message only if DATA was taken."""
        assert self._replies is not None
        group = [mail, *(b"RCPT TO:" + path for _, path in paths), b"DATA"]
        try:
            self._write(b"".join(line + b"\r\n" for line in group))
            taken = await self._replies.next()
        except OSError as gone:
            raise GoneBeforeMail(0, text_of(gone)) from gone
        if taken.code == 421:  # closing the connection: nothing was sent, so a fresh one may go on
            raise GoneBeforeMail(taken.code, taken.text)
        accepted = []
        for recipient, _ in paths:
            rcpt = await self._replies.next()
            if rcpt.code in (250, 251):
                accepted.append(recipient)
            else:
                outcomes[recipient] = RecipientOutcome(recipient, rcpt.code, rcpt.text)
        data = await self._replies.next()
        if data.code == 354:
            # With no recipient taken the server should have refused DATA; if it did not, an empty
            # message ends it (RFC 2920, section 3.1) and nobody is sent anything.
            self._write(_stuffed(message) if taken.code == 250 and accepted else b".\r\n")
            data = await self._replies.next()
        final = data if taken.code == 250 else taken
        for recipient in accepted if taken.code == 250 else [r for r, _ in paths]:
            outcomes[recipient] = RecipientOutcome(recipient, final.code, final.text)
        if final.code != 250:
            await self._reset()

    async def _one_at_a_time(
        self,
        mail: bytes,
        paths: list[tuple[str, bytes]],
        message: bytes,
        outcomes: dict[str, RecipientOutcome],
    ) -> None:
        client = self._client
        try:
            taken = await client.execute_command(mail, timeout=None)
        except aiosmtplib.SMTPServerDisconnected as gone:
            raise GoneBeforeMail(0, text_of(gone)) from gone
        if taken.code == 421:
            raise GoneBeforeMail(taken.code, taken.message)
        if taken.code != 250:
            await self._reset()
            outcomes.update((r, RecipientOutcome(r, taken.code, taken.message)) for r, _ in paths)
            return
        accepted: list[str] = []
        for recipient, path in paths:
            rcpt = await client.execute_command(b"RCPT", b"TO:" + path, timeout=None)
            if rcpt.code in (250, 251):
                accepted.append(recipient)
            else:
                outcomes[recipient] = RecipientOutcome(recipient, rcpt.code, rcpt.message)
        if not accepted:
            await self._reset()
            return
        try:
            response = await client.data(message, timeout=None)
            code, text = response.code, response.message
        except aiosmtplib.SMTPResponseException as refused:
            code, text = refused.code, refused.message
            await self._reset()
        outcomes.update((r, RecipientOutcome(r, code, text)) for r in accepted)

    async def _command(self, verb: bytes) -> Reply:
        if self._replies is None:
            response = await self._client.execute_command(verb)
            return Reply(response.code, response.message)
        self._write(verb + b"\r\n")
        async with asyncio.timeout(self._timeout):
            return await self._replies.next()

    async def _reset(self) -> None:
        """End a failed transaction; a server that hung up (421) leaves a connection not worth keeping."""
        try:
            await self.rset()
        except (aiosmtplib.SMTPException, OSError):
            self.close()

    def _write(self, data: bytes) -> None:
        assert self._transport is not None
        if self._transport.is_closing():
            raise ConnectionResetError("the smarthost closed the connection")
        self._transport.write(data)


class _Replies(asyncio.Protocol):
    """The server's replies, in order, as they complete: RFC 5321's ``code-text`` continuation lines
    joined, ``code text`` ending one reply."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._complete: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: OSError | None = None

    @property
    def lost(self) -> bool:
        return self._failure is not None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while (reply := self._take_reply()) is not None:
                self._complete.append(reply)
        except ValueError as bad:
            self._fail(ConnectionError(f"not an SMTP reply: {bad}"))
            return
        if len(self._buffer) > _MAX_REPLY:
            self._fail(ConnectionError("an SMTP reply too long"))
        self._wake()

    def eof_received(self) -> bool:
        self._fail(ConnectionResetError("the smarthost closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionResetError(f"connection lost: {exc!r}" if exc else "connection closed"))

    async def next(self) -> Reply:
        while not self._complete:
            if self._failure is not None:
                raise self._failure
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._complete.popleft()

    def _take_reply(self) -> Reply | None:
        lines, offset = [], 0
        while (end := self._buffer.find(b"\n", offset)) != -1:
            line = bytes(self._buffer[offset : end + 1])
            offset = end + 1
            if not line[:3].isdigit() or line[3:4] not in (b" ", b"-", b"\r", b"\n"):
                raise ValueError(repr(line[:40]))
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                del self._buffer[:offset]
                return Reply(int(line[:3]), b"\n".join(lines).decode("utf-8", "surrogateescape"))
        return None

    def _fail(self, failure: OSError) -> None:
        if self._failure is None:
            self._failure = failure
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _stuffed(message: bytes) -> bytes:
    """The message as DATA carries it: CRLF line endings, a leading dot doubled, ended by a lone dot. A
    message the relay received over SMTP has its CRLFs already and seldom a line that begins with a dot:
    two counts and a search tell, where the two substitutions would copy it twice (8% of a delivery)."""
    lines = message.count(b"\n")
    if lines != message.count(b"\r\n") or lines != message.count(b"\r") or not message.endswith(b"\r\n"):
        message = normalize_message_line_endings(message)
    if message.startswith(b".") or b"\n." in message:
        message = _LINE_START_DOT.sub(b"..", message)
    return message + b".\r\n"


def _path(address: str) -> bytes | None:
    """An address as MAIL and RCPT carry it, or None if it could smuggle a parameter or a command. The
    queue holds bare addresses the edge already read: there is no display name to parse off, which
    aiosmtplib's ``mail`` and ``rcpt`` would do for every command, at a cost near the command's own."""
    return None if _NOT_IN_A_PATH.search(address) else b"<" + address.encode() + b">"


def all_refused(recipients: Sequence[str], code: int, text: str) -> list[RecipientOutcome]:
    return [RecipientOutcome(r, code, text) for r in recipients]


def code_of(exc: BaseException) -> int:
    return exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else 0


def text_of(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.message
    return f"connection failed: {type(exc).__name__}"
