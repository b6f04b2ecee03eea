"""Refusals at SMTP time are evidence too: who tried to send what to whom, and what we answered."""

from __future__ import annotations

from archive.records import Record, RecordKind
from archive.sqlite import SqliteStore


async def record_refusal(
    store: SqliteStore, *, stage: str, reply: str, peer: str, sender: str | None, address: str | None
) -> None:
    payload = {"stage": stage, "reply": reply, "peer": peer, "sender": sender, "address": address}
    await store.write(lambda writer: writer.append(Record(RecordKind.REFUSAL, None, payload)))
