"""The smarthost transport's connection pool (adapters.transport), against a real SMTP server: a pooled
connection is reused without a probe while it is fresh, probed with RSET once it has idled, and a pooled
connection the server has closed costs the copy nothing: it goes on a fresh connection at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from adapters import transport as transport_module
from adapters.transport import SmtpTransport
from tests.conftest import Downstream

MESSAGE = b"From: dreyes@nusd.example.org\r\nSubject: field trip\r\n\r\nBring a lunch.\r\n"
SENDER = "dreyes@nusd.example.org"
STUDENT = "spatel@students.nusd.example.org"


@pytest.fixture
async def smarthost(downstream: Downstream) -> AsyncIterator[SmtpTransport]:
    transport = SmtpTransport(
        "127.0.0.1",
        downstream.port,
        implicit_tls=False,
        starttls=False,
        username=None,
        password=None,
        pool_size=1,
        timeout=10,
    )
    yield transport
    await transport.close()


async def send(transport: SmtpTransport) -> list[int]:
    return [outcome.code for outcome in await transport.send(SENDER, [STUDENT], MESSAGE)]


async def test_a_connection_just_used_is_reused_without_a_probe(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    assert await send(smarthost) == [250]
    assert await send(smarthost) == [250]
    assert downstream.resets == 0
    assert len(set(downstream.mail_sessions)) == 1  # one connection for both
    assert len(downstream.received) == 2


async def test_a_connection_that_idled_is_probed_with_rset_first(
    smarthost: SmtpTransport, downstream: Downstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport_module, "_TRUSTED_IDLE", 0.0)
    assert await send(smarthost) == [250]
    assert await send(smarthost) == [250]
    assert downstream.resets == 1
    assert len(set(downstream.mail_sessions)) == 1


async def test_a_pooled_connection_the_server_closed_sends_the_copy_on_a_fresh_one(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    assert await send(smarthost) == [250]
    downstream.mail_replies = ["421 4.3.2 Service shutting down"]
    assert await send(smarthost) == [250]
    first, refused, retried = downstream.mail_sessions
    assert refused == first and retried != first  # refused on the pooled connection, sent on a new one
    assert len(downstream.received) == 2


async def test_a_fresh_connection_that_is_closed_reports_the_servers_reply(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    downstream.mail_replies = ["421 4.3.2 Service shutting down"]
    outcomes = await smarthost.send(SENDER, [STUDENT], MESSAGE)
    assert [(o.code, o.text) for o in outcomes] == [(421, "4.3.2 Service shutting down")]
    assert len(downstream.mail_sessions) == 1  # not tried again at once: the delivery retries it later
    assert downstream.received == []


async def test_a_smarthost_that_stops_answering_is_given_up_on_by_the_transactions_deadline() -> None:
    """The deadline is the whole transaction's (one timer, not one per command): a server that takes the
    message and never answers costs the copy a temporary failure, not a worker stuck for good."""
    handlers: list[asyncio.Task[None]] = []

    async def stalls_after_the_data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            writer.write(b"220 stalling.test ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250 stalling.test\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await reader.readuntil(b"\r\n.\r\n")
                    await asyncio.sleep(30)  # the message is in; the answer never comes
                else:
                    writer.write(b"250 OK\r\n")
        finally:
            writer.close()

    server = await asyncio.start_server(stalls_after_the_data, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = SmtpTransport(
        "127.0.0.1", port, implicit_tls=False, starttls=False, username=None, password=None,
        pool_size=1, timeout=0.5,
    )  # fmt: skip
    try:
        started = time.monotonic()
        outcomes = await transport.send(SENDER, [STUDENT], MESSAGE)
        assert time.monotonic() - started < 5
        assert [(o.code, o.text) for o in outcomes] == [(0, "connection failed: TimeoutError")]
        await transport.send(SENDER, [STUDENT], MESSAGE)
        assert len(handlers) == 2  # the stalled connection was dropped, not pooled
    finally:
        await transport.close()
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def test_an_address_that_could_smuggle_a_command_is_refused_before_it_is_sent(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    smuggler = "x@example.org> NOTIFY=NEVER"
    outcomes = await smarthost.send(SENDER, [smuggler, STUDENT], MESSAGE)
    assert [o.code for o in outcomes] == [553, 250]
    assert [r.rcpt_tos for r in downstream.received] == [[STUDENT]]
    outcomes = await smarthost.send("dreyes@nusd.example.org\r\nRSET", [STUDENT], MESSAGE)
    assert [o.code for o in outcomes] == [553]
    assert len(downstream.received) == 1
