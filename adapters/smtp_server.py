"""Running aiosmtpd inside our own event loop, with Chaperone's reply conventions.

Lifecycle is separate from protocol: the handlers in smtp_submission and smtp_inbound only translate
verbs into gateway calls; this module only starts listeners.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any, AnyStr

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

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd pushes bytes for AUTH challenges; only text replies get an enhanced status code.
        await super().push(enhance(status) if isinstance(status, str) else status)

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
) -> Listener:
    host, port = split_host_port(address)
    loop = asyncio.get_running_loop()
    sessions: set[ChaperoneSMTP] = set()

    def factory() -> ChaperoneSMTP:
        return ChaperoneSMTP(
            handler,
            sessions=sessions,
            hostname=hostname,
            tls_context=starttls,
            require_starttls=False,
            auth_required=auth_required,
            auth_require_tls=auth_require_tls,
            data_size_limit=data_size_limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=idle_timeout,
            ident="Chaperone ESMTP",
            trust_loopback_as=trust_loopback_as,
        )

    # reuse_port: several relay processes listen on one port and the kernel spreads the connections.
    server = await loop.create_server(factory, host=host, port=port, ssl=implicit_tls, reuse_port=reuse_port)
    return Listener(server, sessions)
