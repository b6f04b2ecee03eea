"""Where the relay's SMTP protocol departs from aiosmtpd's for speed (adapters.smtp_server), it must answer
as aiosmtpd does. Each connection's protocol is a copy of one that aiosmtpd built: the copy must be what
aiosmtpd would have built, and two connections must share no state that a session changes. Plain paths
are parsed by a regular expression: it must read every path as aiosmtpd's parser does."""

from __future__ import annotations

import asyncio
import collections
import types
from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.smtp_guard import InFlight
from adapters.smtp_server import ChaperoneSMTP, ErrorLimits, Listener, listen

SETTINGS: dict[str, Any] = dict(
    hostname="relay.test",
    auth_required=True,
    auth_require_tls=True,
    data_size_limit=1_000_000,
    enable_SMTPUTF8=True,
    decode_data=False,
    timeout=30,
    ident="Chaperone ESMTP",
)
# Shared on purpose: the listener's set of open sessions, and the handler's hooks (methods of one handler).
SHARED_BY_DESIGN = {"_sessions", "_handle_hooks", "_in_flight"}  # the budget is the process's, on purpose
PER_CONNECTION_TYPES = (dict, list, set, collections.deque, asyncio.Future, asyncio.StreamReader)


class Handler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"

    async def auth_TOKEN(self, server: Any, args: list[str]) -> Any:  # a handler's own AUTH mechanism
        return None


def prototype(loop: asyncio.AbstractEventLoop, handler: Handler) -> ChaperoneSMTP:
    return ChaperoneSMTP(
        handler,
        sessions=set(),
        in_flight=InFlight(1 << 20),
        error_limits=ErrorLimits(),
        loop=loop,
        **SETTINGS,
    )


async def test_a_copy_has_every_attribute_aiosmtpd_gives_a_new_protocol() -> None:
    loop = asyncio.get_running_loop()
    handler = Handler()
    built_by_aiosmtpd = vars(SMTP(handler, loop=loop, **SETTINGS))
    copied = vars(prototype(loop, handler).for_connection())
    assert set(built_by_aiosmtpd) <= set(copied)
    for name, value in built_by_aiosmtpd.items():
        if isinstance(value, (types.MethodType, *PER_CONNECTION_TYPES)) or name.startswith("_stream"):
            continue
        assert copied[name] == value, name
    assert set(copied["_smtp_methods"]) == set(built_by_aiosmtpd["_smtp_methods"])
    assert (
        set(copied["_auth_methods"]) == set(built_by_aiosmtpd["_auth_methods"]) == {"LOGIN", "PLAIN", "TOKEN"}
    )


async def test_two_connections_share_nothing_a_session_changes() -> None:
    loop = asyncio.get_running_loop()
    handler = Handler()
    template = prototype(loop, handler)
    first, second = template.for_connection(), template.for_connection()
    for name, value in vars(first).items():
        if name in SHARED_BY_DESIGN:
            continue
        if isinstance(value, PER_CONNECTION_TYPES):
            assert value is not vars(second)[name], f"{name} is shared between connections"
    assert first.command_size_limits is not second.command_size_limits
    for verb, method in first._smtp_methods.items():
        assert method.__self__ is first, verb
    assert first._auth_methods["PLAIN"].method.__self__ is first  # built in: bound to the protocol
    assert first._auth_methods["TOKEN"].method.__self__ is handler  # the handler's own: stays bound to it


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    opened = await listen(
        Handler(),
        "127.0.0.1:0",
        hostname="relay.test",
        auth_required=False,
        auth_require_tls=True,
        data_size_limit=1_000_000,
        idle_timeout=30,
    )
    yield opened
    await opened.close()


async def connected(listener: Listener) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=listener.port, start_tls=False, timeout=10)
    await client.connect()
    await client.ehlo()
    return client


async def test_an_ehlo_on_one_connection_leaves_the_others_limits_alone(listener: Listener) -> None:
    clients = [await connected(listener) for _ in range(3)]
    for client in clients:
        await client.ehlo()
    limits = {session.command_size_limits["MAIL"] for session in listener.sessions}
    # Two EHLOs each with SIZE and SMTPUTF8: 512 + 2 x (26 + 10), whatever the other sessions did.
    assert limits == {512 + 2 * 36}
    message = b"Subject: x\r\n\r\nhello\r\n"
    response = await clients[0].sendmail("a@example.org", ["b@example.org"], message)
    assert response[1] == "2.0.0 OK"
    for client in clients:
        client.close()


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atom = st.text(ATEXT, min_size=1, max_size=8)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
parameter = st.sampled_from(
    ["SIZE=2048", "BODY=8BITMIME", "SMTPUTF8", "NOTIFY=SUCCESS,FAILURE", "X(y)", '"q"', "=x"]
)
plain_path = st.builds(
    lambda local, domain, gap, params, tail: f"<{local}@{domain}>{gap}{' '.join(params)}{tail}",
    dot_atom | st.text(ATEXT, min_size=60, max_size=80),  # past the local-part limit of 64 too
    dot_atom,
    st.sampled_from(["", " ", "  ", "\t", " (comment) "]),
    st.lists(parameter, max_size=3),
    st.sampled_from(["", " ", "\t"]),
)
near_miss = st.text('<>@.()[]"\\ \t:,;aZ9=-+\x80é\x00', max_size=30)


@settings(max_examples=400, deadline=None)
@example("<")
@example("9@")
@example("9@[")
@example("a@[ ")  # an UnboundLocalError in the stdlib's parser
@example("<dreyes@nusd.example.org> SIZE=2048 BODY=8BITMIME")
@given(st.one_of(plain_path, near_miss, plain_path.map(lambda p: p.replace(".", "..", 1))))
def test_a_path_is_read_as_aiosmtpd_reads_it(path: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        ours = prototype(loop, Handler())
        upstream = SMTP(Handler(), loop=loop, **SETTINGS)
        try:
            expected = upstream._getaddr(path)
        except Exception:
            expected = (None, None)  # upstream trips over it; we call it malformed (see below)
        assert ours._getaddr(path) == expected
    finally:
        loop.close()


async def test_a_path_that_trips_the_header_parser_is_a_malformed_address(listener: Listener) -> None:
    client = await connected(listener)
    for path in ("<", "a@", "a@["):
        response = await client.execute_command(f"MAIL FROM:{path}".encode())
        assert (response.code, response.message) == (553, "5.1.3 Error: malformed address"), path
    client.close()


async def test_commands_keep_a_session_open_and_silence_closes_it_after_the_idle_timeout() -> None:
    opened = await listen(
        Handler(), "127.0.0.1:0", hostname="relay.test", auth_required=False, auth_require_tls=True,
        data_size_limit=1_000_000, idle_timeout=0.6,
    )  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", opened.port)
    try:
        assert (await reader.readline()).startswith(b"220")
        for _ in range(4):  # 1.2 s of commands, each well inside the timeout
            await asyncio.sleep(0.3)
            writer.write(b"NOOP\r\n")
            assert (await reader.readline()).startswith(b"250")
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the relay hung up
        assert 0.5 <= loop.time() - started < 1.2
    finally:
        writer.close()
        await opened.close()
