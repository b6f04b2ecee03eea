"""Helpers for tests that speak SMTP to the relay and read what it archived."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiosmtplib

from tests.conftest import PASSWORD


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


def archive_rows(db: Path, kind: str | None = None) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as connection:
        sql = "SELECT canonical FROM records" + (" WHERE kind = ?" if kind else "") + " ORDER BY seq"
        rows = connection.execute(sql, (kind,) if kind else ()).fetchall()
    return [json.loads(row[0]) for row in rows]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check()`` holds: the relay records an outcome just after the far side answers."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - the state lives in another process's database, not an Event
            await asyncio.sleep(0.02)
