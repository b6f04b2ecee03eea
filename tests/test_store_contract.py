"""The store interface's contract, on both backends: what the gateway relies on whichever store holds the
archive. Each test gets an empty archive of its own (a SQLite file, or a PostgreSQL database)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.backends import open_store
from archive.changes import Changes, DeliveryUpdate, ReviewVerdict
from archive.models import Conflict, DeliveryState, QueuedDelivery, ReviewEntry, StoredConversation
from archive.records import Record, RecordKind
from archive.store import Store
from gateway.cli import main
from gateway.config import ConfigError, load_settings
from tests.conftest import archive_url
from tests.mail import raw_sql


def copy(number: int, *, not_before: float = 0.0, state: str = DeliveryState.PENDING) -> QueuedDelivery:
    return QueuedDelivery(
        delivery_id=f"d-{number:04d}",
        message_id=f"m-{number % 3}",
        envelope_from="dreyes@nusd.example.org",
        recipients=("spatel@students.nusd.example.org",),
        headers=b"Subject: hi\r\n",
        body_digest="sha256:none",
        not_before=not_before or time.time() - 1,
        expires_at=time.time() + 3600,
        attempts=0,
        purpose="family",
        state=state,
    )


async def queue(store: Store, *copies: QueuedDelivery) -> None:
    changes = Changes()
    for planned in copies:
        changes.enqueue(planned)
    await store.commit(changes)


async def test_a_unit_commits_whole_and_reads_back_as_models(store: Store) -> None:
    changes = Changes()
    digest = changes.put_body(b"From: a\r\n\r\nbody \x00 bytes")
    changes.put_body(b"From: a\r\n\r\nbody \x00 bytes")  # the same body twice is kept once
    changes.append(Record(RecordKind.MESSAGE, "m-1", {"body_digest": digest, "subject": "Lab"}))
    changes.append(Record(RecordKind.DECISION, "m-1", {"action": "deliver"}))
    changes.append(Record(RecordKind.REFUSAL, None, {"stage": "RCPT"}))
    await store.commit(changes)

    assert await store.body(digest) == b"From: a\r\n\r\nbody \x00 bytes"
    assert await store.body("sha256:missing") is None
    about = await store.records(message_ids=["m-1"])
    assert [(r.kind, r.payload) for r in about] == [
        ("message", {"body_digest": digest, "subject": "Lab"}),
        ("decision", {"action": "deliver"}),
    ]
    assert [r.kind for r in await store.records(kinds=["smtp.refusal"])] == ["smtp.refusal"]
    assert await store.count_records() == 3
    assert await store.count_records("decision") == 1
    seqs = [r.seq for r in await store.records()]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


async def test_a_failed_guard_rolls_back_the_whole_unit(store: Store) -> None:
    await queue(store, copy(1))
    changes = Changes()
    changes.append(Record(RecordKind.DELIVERY_DONE, "m-1", {"delivery_id": "d-0001"}))
    changes.update_delivery(
        DeliveryUpdate("d-0001", DeliveryState.SENT, (), not_before=0, attempts=1, expect_claim="someone")
    )
    with pytest.raises(Conflict):
        await store.commit(changes)
    assert await store.count_records() == 0
    assert [c.state for c in await store.copies("m-1")] == ["pending"]


async def test_two_workers_never_claim_the_same_copy(store: Store) -> None:
    await queue(store, *(copy(n) for n in range(60)))
    claims = await asyncio.gather(
        *(store.claim_due(time.time(), 7, claimant=f"w{n}", lease_seconds=60) for n in range(12))
    )
    taken = [d.delivery_id for claim in claims for d, _ in claim]
    assert len(taken) == len(set(taken)) == 60
    assert await store.claim_due(time.time(), 10, claimant="late", lease_seconds=60) == []


async def test_a_claim_is_kept_until_its_lease_runs_out_and_guards_the_outcome(store: Store) -> None:
    await queue(store, copy(1))
    now = time.time()
    [(first, _)] = await store.claim_due(now, 5, claimant="w1", lease_seconds=60)
    assert first.claimed_by == "w1"
    assert await store.claim_due(now + 30, 5, claimant="w2", lease_seconds=60) == []
    [(second, _)] = await store.claim_due(now + 61, 5, claimant="w2", lease_seconds=60)
    assert second.claimed_by == "w2"

    late = Changes()  # w1 answers after its lease ran out and w2 took the copy: refused
    late.update_delivery(DeliveryUpdate("d-0001", "sent", (), not_before=now, attempts=1, expect_claim="w1"))
    with pytest.raises(Conflict):
        await store.commit(late)
    done = Changes()
    done.update_delivery(DeliveryUpdate("d-0001", "sent", (), not_before=now, attempts=1, expect_claim="w2"))
    await store.commit(done)
    [sent] = await store.copies("m-1")
    assert (sent.state, sent.attempts, sent.claimed_by) == ("sent", 1, None)


async def test_claims_of_a_stopped_worker_can_be_released(store: Store) -> None:
    await queue(store, copy(1), copy(2))
    now = time.time()
    await store.claim_due(now, 5, claimant="host:1:gone", lease_seconds=600)
    assert await store.claimants(now) == {"host:1:gone"}
    assert await store.release_claims({"host:1:gone"}) == 2
    assert len(await store.claim_due(now, 5, claimant="host:2:new", lease_seconds=600)) == 2


async def test_due_copies_come_oldest_first_with_their_bodies(store: Store) -> None:
    changes = Changes()
    digest = changes.put_body(b"Subject: x\r\n\r\nhello")
    now = time.time()
    for number, age in ((1, 5), (2, 50), (3, 20)):
        changes.enqueue(replace(copy(number), not_before=now - age, body_digest=digest))
    changes.enqueue(copy(4, not_before=now + 600))  # not due yet
    changes.enqueue(copy(5, state=DeliveryState.HELD))
    await store.commit(changes)
    due = await store.claim_due(now, 10, claimant="w", lease_seconds=60)
    assert [d.delivery_id for d, _ in due] == ["d-0002", "d-0003", "d-0001"]
    assert {raw for _, raw in due} == {b"Subject: x\r\n\r\nhello"}
    assert await store.next_due_at() == pytest.approx(now - 50)


async def test_a_review_is_decided_once(store: Store) -> None:
    changes = Changes()
    changes.open_review(
        ReviewEntry("m-1", "hold", "pending", "dreyes@nusd.example.org", "Lab", "why", "2026-12-05")
    )
    await store.commit(changes)
    assert [r.message_id for r in await store.reviews(["pending"])] == ["m-1"]
    first = Changes()
    first.decide_review(
        ReviewVerdict("m-1", "approved", "abrooks@nusd.example.org", "2026-12-05T10:00", "ok")
    )
    await store.commit(first)
    again = Changes()
    again.decide_review(
        ReviewVerdict("m-1", "rejected", "tnguyen@nusd.example.org", "2026-12-05T10:01", "no")
    )
    with pytest.raises(Conflict):
        await store.commit(again)
    decided = await store.review("m-1")
    assert decided is not None and (decided.state, decided.decided_by) == (
        "approved",
        "abrooks@nusd.example.org",
    )
    assert await store.reviews(["pending"]) == []


async def test_a_conversation_stays_open_while_replies_pass_through_it(store: Store) -> None:
    token, other = "a" * 24, "b" * 24
    opened = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    changes = Changes()
    changes.open_conversation(
        StoredConversation(token, "m-1", "t-reyes", "dreyes@x", ("s-1",), ("s-1", "g-1"), opened)
    )
    reply_at = opened + timedelta(days=50, minutes=1)
    history = [  # four months of other mail, with the reply and another conversation's in their places
        Record(
            RecordKind.MESSAGE,
            f"m-x{hour}",
            {"conversation": None},
            recorded_at=opened + timedelta(hours=hour),
        )
        for hour in range(0, 24 * 120, 6)
    ]
    history.append(Record(RecordKind.MESSAGE, "m-2", {"conversation": token}, recorded_at=reply_at))
    history.append(
        Record(RecordKind.MESSAGE, "m-3", {"conversation": other}, recorded_at=opened + timedelta(days=100))
    )
    for record in sorted(history, key=lambda r: r.recorded_at):
        changes.append(record)
    await store.commit(changes)

    found = await store.conversation(token)
    assert found is not None and found.member_ids == ("s-1", "g-1") and found.created_at == opened
    assert await store.conversation("c" * 24) is None
    assert await store.used_since(found, opened + timedelta(days=1))  # the reply on day 50
    assert await store.used_since(found, reply_at)
    assert not await store.used_since(found, reply_at + timedelta(seconds=1))  # only another's after


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records SET kind = 'edited'",
        "DELETE FROM records",
        "UPDATE bodies SET size = 0",
        "DELETE FROM bodies",
        "DELETE FROM conversations",
        "DELETE FROM record_openings",
        "UPDATE record_openings SET openings = salt",
    ],
)
async def test_the_evidence_refuses_changes_behind_the_relays_back(
    store: Store, tmp_path: Path, statement: str
) -> None:
    changes = Changes()
    changes.put_body(b"x")
    changes.append(Record(RecordKind.REFUSAL, None, {"n": 1, "address": "sam@example.org"}))
    changes.open_conversation(StoredConversation("a" * 24, "m-1", "t", "e", (), (), datetime.now(UTC)))
    await store.commit(changes)
    with pytest.raises(Exception, match=r"append-only|immutable|only by a recorded disposal"):
        raw_sql(archive_url(tmp_path), statement)
    assert await store.count_records() == 1


async def test_postgres_refuses_truncate_and_replica_mode_cannot_skip_the_triggers(
    store: Store, tmp_path: Path, archive_backend: str
) -> None:
    url = archive_url(tmp_path)
    changes = Changes()
    changes.append(Record(RecordKind.REFUSAL, None, {"n": 1}))
    await store.commit(changes)
    if archive_backend == "sqlite":
        # SQLite's way around a DELETE trigger: INSERT OR REPLACE deletes the row it replaces.
        with pytest.raises(Exception, match="append-only"):
            raw_sql(
                url,
                "INSERT OR REPLACE INTO records(seq, kind, recorded_at, canonical, leaf_hash)"
                " SELECT seq, 'x', recorded_at, canonical, leaf_hash FROM records",
            )
    else:
        with pytest.raises(Exception, match="append-only"):
            raw_sql(url, "TRUNCATE records")
        with pytest.raises(Exception, match="append-only"):
            raw_sql(url, "SET session_replication_role = replica; DELETE FROM records")
    assert await store.count_records() == 1


async def test_db_upgrade_applies_each_migration_once(store_backend: None, tmp_path: Path) -> None:
    config = tmp_path / "chaperone.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[archive]\nurl = "{archive_url(tmp_path)}"\n', encoding="utf-8"
    )
    first = open_store(archive_url(tmp_path))
    await first.start()
    await first.close()
    assert first.newly_applied  # a new archive gets the whole schema
    assert await asyncio.to_thread(main, ["--config", str(config), "db", "upgrade"]) == 0
    again = open_store(archive_url(tmp_path))
    await again.start()
    await again.close()
    assert again.newly_applied == []


def test_an_archive_url_of_an_unknown_kind_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "chaperone.toml"
    config.write_text('[archive]\nurl = "mysql://db/chaperone"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"url"):
        load_settings(config)


async def test_a_ring_wakes_the_delivery_process_answering_for_the_archive(store: Store) -> None:
    woken = asyncio.Event()
    answering, ringing = store.doorbell(), store.doorbell()
    await answering.answer(woken.set)
    try:
        ringing.ring()
        async with asyncio.timeout(5):
            await woken.wait()
    finally:
        await ringing.close()
        await answering.close()


def test_config_check_masks_the_archive_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "chaperone.toml"
    config.write_text(
        '[archive]\nurl = "postgresql://chaperone:s3cret@db.example.org/chaperone"\n', encoding="utf-8"
    )
    assert main(["--config", str(config), "config", "check"]) == 0
    shown = capsys.readouterr().out
    assert "s3cret" not in shown and "postgresql://chaperone:***@db.example.org/chaperone" in shown
