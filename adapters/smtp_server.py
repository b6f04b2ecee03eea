"""Running aiosmtpd inside our own event loop, with Chaperone's reply conventions.

Lifecycle is separate from protocol: the handlers in smtp_submission and smtp_inbound only translate
verbs into gateway calls; this module only starts listeners, and makes aiosmtpd's per-connection work
cheaper where it can do so without changing an answer (tests/test_smtp_protocol.py holds it to that).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import ipaddress
import re
import socket
import ssl
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, AnyStr, TypeVar

from aiosmtpd.smtp import MISSING, SMTP

from adapters.smtp_guard import InFlight
from adapters.smtp_replies import enhance


@dataclass
class Listener:
    """One listening socket and the sessions it has open: closing it hangs up on every client, so no
    session outlives the relay (asyncio's Server.close leaves accepted connections open)."""

    server: asyncio.Server
    sessions: set[ChaperoneSMTP] = field(default_factory=set)

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        await self.server.wait_closed()


class ChaperoneSMTP(SMTP):
    def __init__(
        self,
        handler: Any,
        *,
        sessions: set[ChaperoneSMTP],
        in_flight: InFlight,
        error_limits: ErrorLimits,
        trust_loopback_as: str | None = None,
        **kwargs: Any,
    ) -> None:
        with warnings.catch_warnings():
            # Development listeners offer AUTH without TLS on purpose (require_tls = false); the relay
            # says so once at start instead of aiosmtpd warning on every connection.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            super().__init__(handler, **kwargs)
        self._sessions = sessions
        self._trust_loopback_as = trust_loopback_as
        self._in_flight = in_flight
        self._error_limits = error_limits
        self._errors = 0
        self._idle_deadline = 0.0

    def for_connection(self) -> ChaperoneSMTP:
        """A protocol for one new connection, copied from this one, which never serves a connection.

        aiosmtpd's ``__init__`` finds its verbs, hooks and AUTH mechanisms by introspection
        (``inspect.getmembers``, ``dir``, ``inspect.signature``): about 130 µs, redone for every
        connection, a large share of what a one-message session costs. The copy shares those
        tables and the settings, and makes new what a connection changes: asyncio's stream state, the
        verbs bound to the protocol, and the command size limits (upstream a class-level dict that
        every connection's EHLO adds to).
        """
        protocol = copy.copy(self)
        protocol._smtp_methods = {verb: _bound_to(protocol, m) for verb, m in self._smtp_methods.items()}
        protocol._auth_methods = {
            name: mechanism._replace(method=_bound_to(protocol, mechanism.method))
            for name, mechanism in self._auth_methods.items()
        }
        protocol.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        protocol._errors = 0
        asyncio.StreamReaderProtocol.__init__(
            protocol,
            asyncio.StreamReader(loop=self.loop, limit=self.line_length_limit),
            client_connected_cb=protocol._cb_client_connected,
            loop=self.loop,
        )
        return protocol

    def _reset_timeout(self, duration: float | None = None) -> None:
        """The idle deadline moves on with every command. aiosmtpd cancels its timer and schedules a new
        one each time (two operations on the loop's heap per command); here the one timer, if it fires
        before the deadline, waits out the rest."""
        deadline = self.loop.time() + (duration or self._timeout_duration)
        self._idle_deadline = deadline
        handle = self._timeout_handle
        if handle is None or handle.cancelled() or handle.when() > deadline:
            if handle is not None:
                handle.cancel()
            self._timeout_handle = self.loop.call_at(deadline, self._idle_check)

    def _idle_check(self) -> None:
        if self.loop.time() < self._idle_deadline:
            self._timeout_handle = self.loop.call_at(self._idle_deadline, self._idle_check)
        else:
            self._timeout_cb()  # type: ignore[no-untyped-call]

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd pushes bytes for AUTH challenges; only text replies get an enhanced status code.
        if not isinstance(status, str):
            await super().push(status)
            return
        reply = enhance(status)
        if reply.startswith("421"):  # "closing transmission channel" (RFC 5321 section 3.8)
            await super().push(reply)
            if self.transport is not None:
                self.transport.close()
            return
        if reply[:1] in ("4", "5"):
            # Postfix's smtpd_soft/hard_error_limit: a client that keeps erring is slowed, then let go.
            self._errors += 1
            if self._errors >= self._error_limits.hard:
                await self.push(TOO_MANY_ERRORS)  # a 421: the connection is closed
                return
            if self._errors >= self._error_limits.soft:
                await asyncio.sleep(self._error_limits.delay)
        await super().push(reply)

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, with the message held as one buffer (not a list of line objects, which cost
        about twice the message) and counted against the process's budget of bytes in flight: over it,
        the client is told 452 4.3.1 to try again later, and what it sent meanwhile is read and dropped."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        if self._in_flight.full:
            await self.push(OVER_BUDGET)
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        reserved = 0
        try:
            content, refusal, reserved = await self._read_data()
            if refusal is not None:
                await self.push(refusal)
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                return
            self.envelope.content = self.envelope.original_content = content
            del content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)
        finally:
            self._in_flight.release(reserved)

    async def _read_data(self) -> tuple[bytes, str | None, int]:
        """(the message, a refusal instead of it, the bytes reserved). Lines are dot-unstuffed as they
        come (RFC 5321 section 4.5.2); a refused message is read to its end and dropped."""
        buffer = bytearray()
        limit = self.data_size_limit
        refusal: str | None = None
        reserved = 0
        partial = False  # inside a line longer than the stream's limit
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as overrun:
                refusal = refusal or "500 Line too long (see RFC5321 4.5.3.1.6)"
                await self._reader.read(overrun.consumed)
                partial = True
                continue
            if partial:  # the end of the over-long line
                partial = False
                continue
            if line == b".\r\n":
                break
            if refusal is not None:
                continue
            if limit and len(buffer) + len(line) > limit:
                refusal = "552 Error: Too much mail data"
            elif not self._in_flight.reserve(len(line)):
                refusal = OVER_BUDGET
            else:
                reserved += len(line)
                buffer += line[1:] if line.startswith(b".") else line
                continue
            self._in_flight.release(reserved)
            reserved = 0
            buffer = bytearray()
        return bytes(buffer), refusal, reserved

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd parses every path with the e-mail header parser, slow beside a regular expression; the
        # plain form gets the same answer here (a property test holds the two equal), the rest goes there.
        plain = _PLAIN_PATH.match(arg)
        if plain is None or (self.local_part_limit and len(plain["local"]) > self.local_part_limit):
            try:
                return super()._getaddr(arg)
            except Exception:
                # The header parser trips over some malformed paths ("<", "a@", "a@[", "a@[ ") with an
                # IndexError, AttributeError or UnboundLocalError instead of reporting them; they are
                # malformed addresses (553 5.1.3), not our internal error (451).
                return None, None
        return plain["address"], plain["rest"] or ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._sessions.add(self)
        # Benchmarks only (smtp-source cannot AUTH): a loopback client is treated as one staff member.
        assert self.session is not None  # created by connection_made
        if self._trust_loopback_as and _is_loopback(self.session.peer):
            self.session.authenticated = True
            self.session.auth_data = self._trust_loopback_as  # type: ignore[assignment]  # typed None upstream

    def connection_lost(self, error: Exception | None) -> None:
        self._sessions.discard(self)
        closed = getattr(self.event_handler, "session_closed", None)
        if closed is not None and self.session is not None:
            closed(self.session)
        super().connection_lost(error)


# The addresses nearly every MAIL and RCPT carries: <dot-atom@dot-atom>, then ESMTP parameters.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_PARAMETERS = r"[A-Za-z0-9=][!-~]*(?:[ \t]+[!-~]+)*"
_PLAIN_PATH = re.compile(
    rf"<(?P<address>(?P<local>{_DOT_ATOM})@{_DOT_ATOM})>(?: *(?P<rest>{_PARAMETERS}))?\Z"
)
_Method = TypeVar("_Method")


def _bound_to(protocol: ChaperoneSMTP, method: _Method) -> _Method:
    """The same method bound to ``protocol`` when it was bound to the protocol it was copied from;
    a method of the handler stays as it is."""
    if isinstance(method, types.MethodType) and isinstance(method.__self__, ChaperoneSMTP):
        return types.MethodType(method.__func__, protocol)  # type: ignore[return-value]
    return method


def _is_loopback(peer: Any) -> bool:
    try:
        return ipaddress.ip_address(peer[0]).is_loopback
    except (TypeError, ValueError, IndexError):
        return False


@dataclass(frozen=True)
class ErrorLimits:
    soft: int = 10  # errors on one connection after which each error reply waits ``delay`` seconds
    hard: int = 20  # errors on one connection after which it is closed with 421
    delay: float = 1.0


OVER_BUDGET = "452 4.3.1 Too much mail in progress on this server; please try again later"
TOO_MANY_ERRORS = "421 4.7.0 Too many errors on this connection; closing it"


def split_host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - the administrator chose it


async def listen(
    handler: Any,
    address: str,
    *,
    hostname: str,
    implicit_tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    auth_required: bool,
    auth_require_tls: bool,
    data_size_limit: int,
    idle_timeout: float,
    trust_loopback_as: str | None = None,
    sock: socket.socket | None = None,
    auth_exclude_mechanism: tuple[str, ...] = (),
    in_flight: InFlight | None = None,
    error_limits: ErrorLimits = ErrorLimits(),
) -> Listener:
    host, port = split_host_port(address)
    loop = asyncio.get_running_loop()
    sessions: set[ChaperoneSMTP] = set()

    prototype = ChaperoneSMTP(
        handler,
        sessions=sessions,
        hostname=hostname,
        tls_context=starttls,
        require_starttls=False,
        auth_required=auth_required,
        auth_require_tls=auth_require_tls,
        auth_exclude_mechanism=auth_exclude_mechanism,
        data_size_limit=data_size_limit,
        enable_SMTPUTF8=True,
        decode_data=False,
        timeout=idle_timeout,
        ident="Chaperone ESMTP",
        trust_loopback_as=trust_loopback_as,
        in_flight=in_flight if in_flight is not None else InFlight(limit=4 * data_size_limit),
        error_limits=error_limits,
        loop=loop,
    )
    # sock: a listening socket the supervisor bound and every acceptance process shares (gateway/processes).
    if sock is not None:
        server = await loop.create_server(prototype.for_connection, sock=sock, ssl=implicit_tls)
    else:
        server = await loop.create_server(prototype.for_connection, host=host, port=port, ssl=implicit_tls)
    return Listener(server, sessions)
