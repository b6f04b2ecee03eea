"""Helpers for tests that speak SMTP to the relay and read what it archived."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from typing import Any, TypeVar

import aiosmtplib
import asyncpg

from archive.backends import open_store, sqlite_path
from archive.models import QueuedDelivery
from archive.records import RecordKind
from archive.store import Store
from gateway.service import Relay
from tests.conftest import PASSWORD, Downstream, run_in_thread

T = TypeVar("T")


def compose(
    sender: str, to: list[str], subject: str = "Lab report", body: str = "Due Friday.", **headers: str
) -> bytes:
    lines = [f"From: {sender}", f"To: {', '.join(to)}", f"Subject: {subject}", "Message-ID: <t1@example.org>"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


async def submit(
    port: int, sender: str, to: list[str], message: bytes | None = None, *, login: str | None = "sender"
) -> str:
    """Send through the relay as ``sender`` (authenticated with the test password); return the DATA reply."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10)
    await client.connect()
    try:
        if login is not None:
            await client.login(sender if login == "sender" else login, PASSWORD)
        _, response = await client.sendmail(sender, to, message or compose(sender, to))
        return response
    finally:
        client.close()


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=default_policy)


def in_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on a store of its own for the archive at ``url``, through the store interface, from
    sync or async test code alike (on a thread with its own event loop)."""

    async def run() -> T:
        store = open_store(url)
        await store.start()
        try:
            return await work(store)
        finally:
            await store.close()

    return run_in_thread(run)


def archive_rows(url: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The archived records (of one kind), as dicts: kind, message_id, recorded_at, payload."""
    found = in_store(url, lambda store: store.records(kinds=[kind] if kind else ()))
    return [
        {"kind": r.kind, "message_id": r.message_id, "recorded_at": r.recorded_at, "payload": r.payload}
        for r in found
    ]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check()`` holds: the relay records an outcome just after the far side answers."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - the state lives in another process's database, not an Event
            await asyncio.sleep(0.02)


def queued_copies(url: str, message_id: str | None = None) -> list[QueuedDelivery]:
    """The delivery queue's copies (of one message), in the order they were planned."""

    async def work(store: Store) -> list[QueuedDelivery]:
        planned = await store.records(
            message_ids=[message_id] if message_id else (), kinds=[str(RecordKind.DELIVERY_PLANNED)]
        )
        order = {r.payload["delivery_id"]: r.seq for r in planned}
        copies = []
        for about in dict.fromkeys(r.message_id for r in planned if r.message_id):
            copies += await store.copies(about)
        return sorted(copies, key=lambda d: order.get(d.delivery_id, 0))

    return in_store(url, work)


def raw_sql(url: str, statement: str) -> None:
    """Run one statement on the archive's database behind the relay's back, as an insider with the
    database's credentials would (tests of what the records and the database refuse). Table names
    unqualified: PostgreSQL's schemas are on the search path."""
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as connection:
            connection.execute(statement)
        return

    async def run() -> None:
        connection = await asyncpg.connect(url, server_settings={"search_path": "working,evidence,public"})
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run_in_thread(run)


async def conversation_address(relay: Relay, downstream: Downstream, staff: str, student: str) -> str:
    """The Reply-To of the family copy of a message ``staff`` sends ``student``: where the family replies."""
    await submit(relay.port("submission"), staff, [student])
    received = await downstream.wait_for(2)
    family = next(r for r in received if student in r.rcpt_tos)
    downstream.received.clear()
    return str(parse(family.content)["Reply-To"])


async def send_inbound(relay: Relay, sender: str, to: str, message: bytes | None = None) -> str:
    """Send a reply on port 25 from this machine (127.0.0.1), as any client on the Internet could."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port("inbound"), start_tls=False, timeout=10)
    await client.connect()
    try:
        _, response = await client.sendmail(sender, [to], message or compose(sender, [to], body="Thanks!"))
        return response
    finally:
        client.close()
