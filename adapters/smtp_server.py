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
import ssl
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, AnyStr, TypeVar

from aiosmtpd.smtp import SMTP

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
        asyncio.StreamReaderProtocol.__init__(
            protocol,
            asyncio.StreamReader(loop=self.loop, limit=self.line_length_limit),
            client_connected_cb=protocol._cb_client_connected,
            loop=self.loop,
        )
        return protocol

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd pushes bytes for AUTH challenges; only text replies get an enhanced status code.
        await super().push(enhance(status) if isinstance(status, str) else status)

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
    reuse_port: bool = False,
    auth_exclude_mechanism: tuple[str, ...] = (),
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
        loop=loop,
    )
    # reuse_port: several relay processes listen on one port and the kernel spreads the connections.
    server = await loop.create_server(
        prototype.for_connection, host=host, port=port, ssl=implicit_tls, reuse_port=reuse_port
    )
    return Listener(server, sessions)
