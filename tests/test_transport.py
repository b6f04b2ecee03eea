"""The smarthost transport's connection pool (adapters.transport) and its transaction (adapters.smarthost),
against a real SMTP server that offers PIPELINING and one that does not: a pooled connection is reused
without a probe while it is fresh, probed with RSET once it has idled, and a pooled connection the server
has closed costs the copy nothing: it goes on a fresh connection at once. Each recipient's outcome is the
server's own reply to it, whichever way the commands went."""

from __future__ import annotations

import asyncio
import itertools
import re
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from aiosmtplib.protocol import normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from adapters import transport as transport_module
from adapters.smarthost import Reply, _Replies, _stuffed
from adapters.transport import SmtpTransport
from tests.conftest import Downstream
from tests.mail import eventually
from tests.tls import self_signed

MESSAGE = b"From: dreyes@nusd.example.org\r\nSubject: field trip\r\n\r\nBring a lunch.\r\n"
SENDER = "dreyes@nusd.example.org"
STUDENT = "spatel@students.nusd.example.org"


@pytest.fixture(params=[True, False], ids=["pipelining", "one-at-a-time"])
async def smarthost(request: pytest.FixtureRequest, downstream: Downstream) -> AsyncIterator[SmtpTransport]:
    downstream.pipelining = request.param
    transport = loopback_pool(downstream.port, timeout=10)
    yield transport
    await transport.close()


def loopback_pool(port: int, *, timeout: float, starttls: bool = False) -> SmtpTransport:
    """A pool of one connection to a test server on loopback, no authentication."""
    return SmtpTransport(
        "127.0.0.1", port, implicit_tls=False, starttls=starttls, username=None, password=None,
        pool_size=1, timeout=timeout,
    )  # fmt: skip


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
    transport = loopback_pool(port, timeout=0.5)
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


GUARDIAN = "priya.patel@example.net"


async def test_each_recipient_gets_the_servers_own_reply_to_it(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    downstream.refuse_rcpt[GUARDIAN] = "550 5.1.1 no such mailbox"
    outcomes = await smarthost.send(SENDER, [STUDENT, GUARDIAN], MESSAGE)
    assert [(o.code, o.text) for o in outcomes] == [(250, "2.0.0 queued"), (550, "5.1.1 no such mailbox")]
    assert [r.rcpt_tos for r in downstream.received] == [[STUDENT]]


async def test_a_copy_no_recipient_of_which_is_taken_is_not_sent(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    downstream.refuse_rcpt.update({STUDENT: "450 4.2.1 try later", GUARDIAN: "550 5.1.1 no such mailbox"})
    outcomes = await smarthost.send(SENDER, [STUDENT, GUARDIAN], MESSAGE)
    assert [o.code for o in outcomes] == [450, 550]
    assert downstream.received == []
    downstream.refuse_rcpt.clear()
    assert await send(smarthost) == [250]  # the connection is in step for the next copy
    assert len(set(downstream.mail_sessions)) == 1


async def test_a_refused_sender_or_message_is_every_recipients_outcome(
    smarthost: SmtpTransport, downstream: Downstream
) -> None:
    downstream.mail_replies = ["550 5.7.1 sender refused"]
    outcomes = await smarthost.send(SENDER, [STUDENT, GUARDIAN], MESSAGE)
    assert [(o.code, o.text) for o in outcomes] == [(550, "5.7.1 sender refused")] * 2
    downstream.data_replies = ["452 4.3.1 out of storage"]
    outcomes = await smarthost.send(SENDER, [STUDENT, GUARDIAN], MESSAGE)
    assert [(o.code, o.text) for o in outcomes] == [(452, "4.3.1 out of storage")] * 2
    assert downstream.received == []
    assert await send(smarthost) == [250]
    assert len(downstream.received) == 1 and downstream.resets == 2  # each failure ended with RSET


async def test_a_pipelined_group_is_sent_whole_and_its_replies_read_however_they_arrive() -> None:
    """A server that answers only once it has the whole group (MAIL, both RCPTs, DATA), all in one
    segment: a client sending one command at a time would wait for ever."""
    groups: list[bytes] = []

    async def answers_groups(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 batch.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-batch.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        groups.append(await reader.readuntil(b"DATA\r\n"))
        writer.write(
            b"250 2.1.0 sender ok\r\n250 2.1.5 ok\r\n550-5.1.1 no such\r\n550 5.1.1 mailbox\r\n354 go\r\n"
        )
        body = await reader.readuntil(b"\r\n.\r\n")
        writer.write(b"250 2.0.0 queued as " + str(len(body)).encode() + b"\r\n")
        await reader.readline()  # QUIT, when the pool closes
        writer.write(b"221 bye\r\n")
        writer.close()

    server = await asyncio.start_server(answers_groups, "127.0.0.1", 0)
    transport = loopback_pool(server.sockets[0].getsockname()[1], timeout=5)
    try:
        outcomes = await transport.send(SENDER, [STUDENT, GUARDIAN], b"Subject: x\r\n\r\n.hidden dot\r\n")
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()
    assert groups == [
        f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{STUDENT}>\r\nRCPT TO:<{GUARDIAN}>\r\nDATA\r\n".encode()
    ]
    stuffed = len(b"Subject: x\r\n\r\n..hidden dot\r\n.\r\n")
    assert [(o.code, o.text) for o in outcomes] == [
        (250, f"2.0.0 queued as {stuffed}"),
        (550, "5.1.1 no such\n5.1.1 mailbox"),
    ]


LINE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
REPLIES = st.lists(
    st.tuples(
        st.integers(200, 599),
        st.lists(
            st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30), min_size=1, max_size=3
        ),
    ),
    min_size=1,
    max_size=6,
)


@given(replies=REPLIES, cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_replies_are_read_whole_and_in_order_however_the_segments_fall(
    replies: list[tuple[int, list[str]]], cuts: list[int]
) -> None:
    wire = b"".join(
        b"".join(
            f"{code}{'-' if i < len(lines) - 1 else ' '}{line}\r\n".encode() for i, line in enumerate(lines)
        )
        for code, lines in replies
    )
    reader = _Replies()
    edges = sorted({0, len(wire), *(c % (len(wire) + 1) for c in cuts)})
    for start, end in itertools.pairwise(edges):
        reader.data_received(wire[start:end])

    async def read_all() -> list[Reply]:
        return [await reader.next() for _ in replies]

    assert asyncio.run(read_all()) == [
        Reply(code, "\n".join(line.strip(" \t") for line in lines)) for code, lines in replies
    ]


@given(garbage=st.binary(max_size=200).filter(lambda b: not re.match(rb"\d{3}[ \r\n-]", b)))
def test_a_reply_that_is_not_smtp_fails_the_connection_not_the_relay(garbage: bytes) -> None:
    reader = _Replies()
    reader.data_received(garbage.replace(b"\n", b"") + b"\r\n")
    assert reader.lost
    with pytest.raises(ConnectionError):
        asyncio.run(reader.next())


def test_a_reply_that_never_ends_fails_the_connection_once_too_long() -> None:
    reader = _Replies()
    for _ in range(100):
        reader.data_received(b"250-" + b"x" * 1000 + b"\r\n")
    assert reader.lost


@given(message=st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\n.", b" "]), max_size=16))
def test_a_message_is_stuffed_as_the_full_substitutions_would_stuff_it(message: list[bytes]) -> None:
    """The shortcut for messages that arrived over SMTP (CRLFs already, no line starting with a dot)
    gives the bytes that normalising every line ending and doubling every leading dot gives."""
    raw = b"".join(message)
    expected = re.sub(rb"(?m)^\.", b"..", normalize_message_line_endings(raw)) + b".\r\n"
    assert _stuffed(raw) == expected


async def test_closing_the_pool_does_not_wait_for_ever_on_a_server_that_never_answers_quit() -> None:
    handlers: list[asyncio.Task[None]] = []

    async def silent_after_the_copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        writer.write(b"220 silent.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-silent.test\r\n250 PIPELINING\r\n")
        await reader.readuntil(b"DATA\r\n")
        writer.write(b"250 ok\r\n250 ok\r\n354 go\r\n")
        await reader.readuntil(b"\r\n.\r\n")
        writer.write(b"250 queued\r\n")
        await reader.read()  # QUIT arrives, and is never answered
        writer.close()

    server = await asyncio.start_server(silent_after_the_copy, "127.0.0.1", 0)
    transport = loopback_pool(server.sockets[0].getsockname()[1], timeout=0.5)
    try:
        assert await send(transport) == [250]
        started = time.monotonic()
        await transport.close()
        assert time.monotonic() - started < 3
        await asyncio.wait_for(asyncio.gather(*handlers), 5)  # the server saw the connection close
    finally:
        server.close()
        await server.wait_closed()


async def test_a_copy_goes_pipelined_over_starttls(
    tmp_path: Path, downstream: Downstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection aiosmtplib upgraded to TLS is the one handed to the pipelined reader."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the throwaway certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sessions: list[SMTP] = []

    def session() -> SMTP:
        sessions.append(SMTP(downstream, hostname="tls.test", tls_context=server_tls, require_starttls=True))
        return sessions[-1]

    server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", 0)
    transport = loopback_pool(server.sockets[0].getsockname()[1], timeout=5, starttls=True)
    try:
        assert await send(transport) == [250]
        assert await send(transport) == [250]
    finally:
        await transport.close()
        # The server's side of the TLS close finishes before the test's loop ends.
        await eventually(lambda: all(s.transport is None for s in sessions), within=5)
        server.close()
        await server.wait_closed()
    assert len(downstream.received) == 2 and len(set(downstream.mail_sessions)) == 1
