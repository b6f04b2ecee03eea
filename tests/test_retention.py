"""Retention and legal hold, on both stores: a purge removes the bodies and sealed personal values of
messages older than the schedule and records what went; the tree, its checkpoints and its proofs still
verify; a legal hold keeps what it covers until released; a body a kept message shares stays; a second
purge finds nothing more; and nothing leaves the archive by any other path."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.changes import Changes
from archive.checkpoints import new_key_text, private_key
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.cli import main
from gateway.evidence import Notary
from gateway.retention import Retention
from gateway.verification import verify
from tests.conftest import archive_url
from tests.mail import raw_sql

KEY = private_key(new_key_text())
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=8 * 366)


async def add_message(
    store: Store,
    message_id: str,
    body: bytes,
    *,
    at: datetime,
    teacher: str = "t-1",
    student: str = "s-1",
    guardians: tuple[str, ...] = (),
) -> str:
    changes = Changes()
    digest = changes.put_body(body)
    party = {"address": f"{student}@students.example.org", "person_id": student, "role": "student"}
    payload = {
        "body_digest": digest,
        "sender": {"address": f"{teacher}@example.org", "person_id": teacher, "role": "teacher"},
        "recipients": [party],
        "subject": f"About {message_id}",
        "guardians": list(guardians),
    }
    changes.append(Record(RecordKind.MESSAGE, message_id, payload, at))
    decision = {
        "action": "hold",
        "findings": [{"evidence": "meet me alone", "reason": "secrecy", "rule": "r"}],
    }
    changes.append(Record(RecordKind.DECISION, message_id, decision, at))
    await store.commit(changes)
    return digest


async def message_fields(store: Store, message_id: str) -> tuple[str | None, str | None]:
    message, decision = await store.records(message_ids=[message_id], kinds=["message", "decision"])
    return message.payload["subject"], decision.payload["findings"][0]["evidence"]


async def test_a_purge_removes_old_bodies_and_personal_values_and_the_archive_still_verifies(
    store: Store,
) -> None:
    old_body = await add_message(store, "m-old", b"old body", at=OLD)
    new_body = await add_message(store, "m-new", b"new body", at=NOW)
    await Notary(store, KEY).checkpoint()

    report = await Retention(store, retention_years=7).purge("records officer")

    assert report.messages == ["m-old"] and report.bodies == 1 and report.openings == 2
    assert await store.body(old_body) is None
    assert await message_fields(store, "m-old") == (None, None)
    assert await store.body(new_body) == b"new body"
    assert await message_fields(store, "m-new") == ("About m-new", "meet me alone")
    [tombstone] = await store.records(kinds=["archive.disposed"])
    assert tombstone.message_id == "m-old" and tombstone.payload["bodies"] == [old_body]
    assert tombstone.payload["operator"] == "records officer"
    await Notary(store, KEY).checkpoint()
    verdict = await verify(store, KEY.public_key())
    assert verdict.ok, verdict.problems  # the checkpoint signed before the purge included
    assert verdict.records == 5

    again = await Retention(store, retention_years=7).purge("records officer")
    assert again.messages == [] and await store.count_records("archive.disposed") == 1


async def test_a_dry_run_changes_nothing(store: Store) -> None:
    body = await add_message(store, "m-old", b"old body", at=OLD)
    report = await Retention(store, retention_years=7).purge("officer", dry_run=True)
    assert report.messages == ["m-old"]
    assert await store.body(body) == b"old body"
    assert await store.count_records("archive.disposed") == 0


@pytest.mark.parametrize("scope", ["person", "message"])
async def test_a_legal_hold_keeps_what_it_covers_until_released(store: Store, scope: str) -> None:
    held = await add_message(store, "m-held", b"held body", at=OLD, student="s-9")
    free = await add_message(store, "m-free", b"free body", at=OLD, student="s-2")
    retention = Retention(store, retention_years=7)
    await retention.place_hold("2026-017", scope, ["s-9" if scope == "person" else "m-held"], "counsel")

    report = await retention.purge("officer")
    assert report.messages == ["m-free"] and report.held == 1
    assert await store.body(held) == b"held body" and await store.body(free) is None
    assert await message_fields(store, "m-held") == ("About m-held", "meet me alone")

    released = await retention.release("2026-017", "counsel")
    assert [h.case_name for h in released] == ["2026-017"]
    assert await store.legal_holds() == []
    assert (await retention.purge("officer")).messages == ["m-held"]
    assert await store.body(held) is None
    kinds = [r.kind for r in await store.records(kinds=["legal_hold.placed", "legal_hold.released"])]
    assert kinds == ["legal_hold.placed", "legal_hold.released"]


async def test_a_hold_on_a_guardian_keeps_their_childrens_messages(store: Store) -> None:
    # A guardian is sent a copy of every message to their child: those messages concern them.
    held = await add_message(store, "m-child", b"to her child", at=OLD, student="s-9", guardians=("g-9",))
    free = await add_message(store, "m-other", b"to another", at=OLD, student="s-2", guardians=("g-2",))
    retention = Retention(store, retention_years=7)
    await retention.place_hold("2026-018", "person", ["g-9"], "counsel")

    report = await retention.purge("officer")
    assert report.messages == ["m-other"] and report.held == 1
    assert await store.body(held) == b"to her child" and await store.body(free) is None


async def test_a_body_a_kept_message_shares_stays(store: Store) -> None:
    shared = await add_message(store, "m-old", b"the same attachment", at=OLD)
    await add_message(store, "m-new", b"the same attachment", at=NOW)
    report = await Retention(store, retention_years=7).purge("officer")
    assert report.messages == ["m-old"] and report.shared == 1 and report.bodies == 0
    assert await store.body(shared) == b"the same attachment"
    assert await message_fields(store, "m-old") == (None, None)


async def test_nothing_leaves_by_another_path_and_a_disposal_cannot_be_undone(
    store: Store, tmp_path: Path
) -> None:
    await add_message(store, "m-old", b"old body", at=OLD)
    url = archive_url(tmp_path)
    for statement in ("DELETE FROM bodies", "DELETE FROM record_openings"):
        with pytest.raises(Exception, match="only by a recorded disposal"):
            raw_sql(url, statement)
    await Retention(store, retention_years=7).purge("officer")
    with pytest.raises(Exception, match="append-only"):
        raw_sql(url, "DELETE FROM disposals")


async def test_the_cli_places_lists_and_releases_holds_and_purges(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = await add_message(store, "m-old", b"old body", at=OLD, student="s-9")
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[archive]\nurl = "{archive_url(tmp_path)}"\n', encoding="utf-8"
    )

    def chaperone(*args: str) -> int:
        return main(["--config", str(config), "archive", *args])

    assert (
        await asyncio.to_thread(chaperone, "hold", "--case", "2026-017", "--by", "counsel", "--person", "s-9")
        == 0
    )
    capsys.readouterr()
    assert await asyncio.to_thread(chaperone, "holds") == 0
    [hold] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (hold["case_name"], hold["scope"], hold["subject"]) == ("2026-017", "person", "s-9")
    assert await asyncio.to_thread(chaperone, "purge", "--by", "officer") == 0
    assert "disposed of 0 messages" in capsys.readouterr().out
    assert await asyncio.to_thread(chaperone, "release", "--case", "2026-017", "--by", "counsel") == 0
    assert await asyncio.to_thread(chaperone, "purge", "--by", "officer", "--dry-run") == 0
    assert "would dispose of 1 messages" in capsys.readouterr().out
    assert await store.body(body) == b"old body"
    assert await asyncio.to_thread(chaperone, "purge", "--by", "officer") == 0
    assert await store.body(body) is None
    assert await asyncio.to_thread(chaperone, "release", "--case", "no-such-case", "--by", "counsel") == 1
