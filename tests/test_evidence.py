"""The archive as evidence, on both stores: checkpoints signed over the Merkle tree of every record, kept
in the archive and in a witness file; `verify` catches an insider's edit (hashes recomputed), removal,
insertion or reordering, a deleted checkpoint, and a forged signature; proofs check with the public key
and the standalone functions alone; indexes are gap-free in commit order even as transactions fail."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import merkle
from archive.changes import Changes, ReviewVerdict
from archive.checkpoints import Checkpoint, new_key_text, private_key, sign, tree_head, valid
from archive.models import Conflict, LogEntry
from archive.records import Record, RecordKind, leaf_hash
from archive.store import Store
from gateway.evidence import Notary, read_witness
from gateway.verification import verify, verify_openings
from tests.conftest import archive_url
from tests.mail import raw_sql

KEY = private_key(new_key_text())


async def add_records(store: Store, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        changes = Changes()
        changes.append(Record(RecordKind.NOTICE, f"m-{n}", {"to": [f"parent{n}@example.org"], "n": n}))
        await store.commit(changes)


def tamper(url: str, sqlite: str, postgresql: str) -> None:
    """An insider with the database's credentials: the append-only triggers out of the way first."""
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER IF EXISTS records_no_update")
        raw_sql(url, "DROP TRIGGER IF EXISTS records_no_delete")
        raw_sql(url, "DROP TRIGGER IF EXISTS checkpoints_no_delete")
        raw_sql(url, sqlite)
    else:
        off = "ALTER TABLE records DISABLE TRIGGER USER; ALTER TABLE checkpoints DISABLE TRIGGER USER"
        raw_sql(url, f"BEGIN; {off}; {postgresql}; COMMIT")


def hex_bytes(url: str, data: bytes) -> str:
    return f"X'{data.hex()}'" if url.startswith("sqlite") else f"'\\x{data.hex()}'::bytea"


async def test_checkpoints_sign_the_archive_and_verify_holds_it_to_them(store: Store, tmp_path: Path) -> None:
    witness = tmp_path / "witness" / "checkpoints.jsonl"
    notary = Notary(store, KEY, witness)
    await add_records(store, 5)
    first = await notary.checkpoint()
    assert first is not None and first.size == 5 and valid(first, KEY.public_key())
    assert await notary.checkpoint() is None  # nothing new
    await add_records(store, 3, start=5)
    second = await notary.checkpoint()
    assert second is not None and second.size == 8
    assert [c.size for c in await store.checkpoints()] == [5, 8] == [c.size for c in read_witness(witness)]
    verdict = await verify(store, KEY.public_key(), witness)
    assert verdict.ok and (verdict.records, verdict.checkpoints) == (8, 2), verdict.problems


async def test_an_edited_record_with_its_hash_recomputed_is_caught_by_the_checkpoint(
    store: Store, tmp_path: Path
) -> None:
    await add_records(store, 6)
    await Notary(store, KEY).checkpoint()
    [third] = [e for e in await store.log_entries(2, 1)]
    forged = third.canonical.replace(b'"n":2', b'"n":7')
    url = archive_url(tmp_path)
    tamper(url, *[f"UPDATE records SET canonical = {hex_bytes(url, forged)}, leaf_hash = "
                  f"{hex_bytes(url, leaf_hash(forged))} WHERE seq = 3"] * 2)  # fmt: skip
    verdict = await verify(store, KEY.public_key())
    assert not verdict.ok
    assert verdict.problems == ["records 1-6: the archive differs from the checkpoint signed "
                                f"{(await store.checkpoints())[0].signed_at} (a record changed, removed, "
                                "inserted or reordered)"]  # fmt: skip
    # Verifying from that checkpoint on catches it too: the stored hashes no longer rebuild its root.
    assert not (await verify(store, KEY.public_key(), since=6)).ok


async def test_verify_since_a_checkpoint_recomputes_only_what_came_after(
    store: Store, tmp_path: Path
) -> None:
    await add_records(store, 4)
    await Notary(store, KEY).checkpoint()
    await add_records(store, 3, start=4)
    await Notary(store, KEY).checkpoint()
    assert (await verify(store, KEY.public_key(), since=4)).ok
    assert (await verify(store, KEY.public_key(), since=5)).problems == [
        "there is no checkpoint of 5 records to verify from"
    ]
    [sixth] = await store.log_entries(5, 1)
    url = archive_url(tmp_path)
    tamper(
        url, *[f"UPDATE records SET canonical = {hex_bytes(url, sixth.canonical + b' ')} WHERE seq = 6"] * 2
    )
    verdict = await verify(store, KEY.public_key(), since=4)
    assert "record 6: its bytes do not match its leaf hash (changed)" in verdict.problems


async def test_a_removed_record_and_removed_checkpoints_are_caught_by_the_witness(
    store: Store, tmp_path: Path
) -> None:
    witness = tmp_path / "witness.jsonl"
    await add_records(store, 6)
    await Notary(store, KEY, witness).checkpoint()
    url = archive_url(tmp_path)
    tamper(url, "DELETE FROM records WHERE seq = 6", "DELETE FROM records WHERE seq = 6")
    tamper(url, "DELETE FROM checkpoints", "DELETE FROM checkpoints")
    verdict = await verify(store, KEY.public_key(), witness)
    assert verdict.problems[0].startswith("checkpoint of 6 records (signed ")
    assert "is in the witness but not, or otherwise, in the archive" in verdict.problems[0]
    assert verdict.problems[-1].endswith("covers 6 records; the archive has 5: records were removed")
    # Without the witness, a gap in the middle still shows.
    tamper(url, "DELETE FROM records WHERE seq = 2", "DELETE FROM records WHERE seq = 2")
    alone = await verify(store, KEY.public_key())
    assert alone.problems == ["record 2 is missing (the next is 3): removed or renumbered"]


async def test_a_checkpoint_signed_with_another_key_is_not_the_district_s(store: Store) -> None:
    await add_records(store, 3)
    other = private_key(new_key_text())
    await Notary(store, other).checkpoint()
    verdict = await verify(store, KEY.public_key())
    assert verdict.problems == ["checkpoint of 3 records: the signature is not the district's"]


async def test_proofs_check_with_the_public_key_and_the_standalone_functions(store: Store) -> None:
    await add_records(store, 7)
    notary = Notary(store, KEY)
    old = await notary.checkpoint()
    await add_records(store, 6, start=7)
    new = await notary.checkpoint()
    assert old is not None and new is not None and valid(new, KEY.public_key())
    leaves = [e.leaf_hash for e in await store.log_entries(0, 100)]
    proof = merkle.inclusion_proof(4, leaves)
    assert merkle.verify_inclusion(4, new.size, leaves[4], proof, new.root)
    assert not merkle.verify_inclusion(4, new.size, leaves[5], proof, new.root)
    consistency = merkle.consistency_proof(old.size, leaves)
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, consistency)


async def test_indexes_stay_gap_free_in_commit_order_while_transactions_fail(store: Store) -> None:
    async def one(n: int) -> None:
        changes = Changes()
        changes.append(Record(RecordKind.NOTICE, f"m-{n}", {"n": n}))
        if n % 3 == 0:  # a guarded change that fails: the unit, its record included, rolls back
            changes.decide_review(ReviewVerdict(f"m-{n}", "approved", "x", "2026-01-01", ""))
        await store.commit(changes)

    outcomes = await asyncio.gather(*(one(n) for n in range(60)), return_exceptions=True)
    assert sum(isinstance(o, Conflict) for o in outcomes) == 20
    entries = await store.log_entries(0, 1000)
    assert [e.seq for e in entries] == list(range(1, 41))
    times = [e.recorded_at for e in entries]
    assert times == sorted(times)  # made in one order, committed in another: time never goes back
    assert (await verify(store, None)).ok
    assert {json.loads(e.canonical)["payload"]["n"] % 3 for e in entries} == {1, 2}


# --- verify, as a property: any single change to the records' bytes, order or number is caught ---------


class _Log:
    """The records and checkpoints as plain lists, for the property test of ``verify``'s reasoning."""

    def __init__(self, entries: list[LogEntry], heads: list[Checkpoint]) -> None:
        self.entries, self.heads = entries, heads

    async def log_entries(self, after: int, limit: int) -> list[LogEntry]:
        return [e for e in self.entries if e.seq > after][:limit]

    async def checkpoints(self) -> list[Checkpoint]:
        return self.heads


def _log(count: int) -> tuple[list[LogEntry], Checkpoint]:
    entries = []
    for n in range(1, count + 1):
        canonical = json.dumps({"n": n, "to": f"p{n}@example.org"}).encode()
        entries.append(LogEntry(n, f"2026-01-01T00:00:{n:02d}", canonical, leaf_hash(canonical)))
    return entries, sign(KEY, count, merkle.root([e.leaf_hash for e in entries]))


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 40), st.data())
def test_any_single_change_removal_or_reordering_fails_verify(count: int, data: st.DataObject) -> None:
    entries, head = _log(count)
    how = data.draw(st.sampled_from(["byte", "remove", "swap", "insert", "rehash"]))
    at = data.draw(st.integers(0, count - 1))
    if how in ("byte", "rehash"):
        canonical = bytearray(entries[at].canonical)
        offset = data.draw(st.integers(0, len(canonical) - 1))
        canonical[offset] ^= data.draw(st.integers(1, 255))
        changed = bytes(canonical)
        entries[at] = LogEntry(entries[at].seq, entries[at].recorded_at, changed,
                               leaf_hash(changed) if how == "rehash" else entries[at].leaf_hash)  # fmt: skip
    elif how == "remove":
        del entries[at]
    elif how == "swap":
        other = (at + 1) % count
        a, b = entries[at], entries[other]
        entries[at] = LogEntry(a.seq, a.recorded_at, b.canonical, b.leaf_hash)
        entries[other] = LogEntry(b.seq, b.recorded_at, a.canonical, a.leaf_hash)
    else:
        extra = b'{"n": "inserted"}'
        entries.insert(at, LogEntry(at + 1, entries[at].recorded_at, extra, leaf_hash(extra)))
        entries = [LogEntry(n, e.recorded_at, e.canonical, e.leaf_hash) for n, e in enumerate(entries, 1)]
    verdict = asyncio.run(verify(cast(Store, _Log(entries, [head])), KEY.public_key()))
    assert not verdict.ok, how


def test_a_checkpoint_s_signed_bytes_name_the_format_size_root_and_time() -> None:
    head = sign(KEY, 3, b"\x01" * 32)
    assert head.signed_bytes() == tree_head(3, b"\x01" * 32, head.signed_at)
    assert head.signed_bytes().startswith(b"chaperone-checkpoint/1\n3\n" + base64.b64encode(b"\x01" * 32))
    assert Checkpoint.from_json(head.to_json()) == head
    with pytest.raises(ValueError):
        Checkpoint.from_json({**head.to_json(), "format": "other/1"})


async def test_a_kept_personal_value_changed_beside_the_log_is_caught(store: Store, tmp_path: Path) -> None:
    await add_records(store, 3)  # each seals its "to" address
    verdict = await verify(store, KEY.public_key())
    await verify_openings(store, verdict)
    assert verdict.ok, verdict.problems
    url = archive_url(tmp_path)
    forged = hex_bytes(url, b'{"/to":["insider@example.org"]}')
    second = "(SELECT leaf_hash FROM records WHERE seq = 2)"
    change = f"UPDATE record_openings SET openings = {forged} WHERE leaf_hash = {second}"
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER openings_no_update")
        raw_sql(url, change)
    else:
        raw_sql(url, f"BEGIN; ALTER TABLE record_openings DISABLE TRIGGER USER; {change}; COMMIT")
    verdict = await verify(store, KEY.public_key())
    assert verdict.ok  # the tree does not cover the kept values ...
    await verify_openings(store, verdict)
    assert verdict.problems == [
        "record 2: its kept personal values /to are not the ones its leaf committed to (changed)"
    ]  # ... their commitments in the leaves do


@pytest.mark.parametrize("damage", ["none", "rehash", "remove"])
async def test_walking_the_archive_in_ranges_apart_finds_what_one_walk_finds(
    store: Store, tmp_path: Path, damage: str
) -> None:
    await add_records(store, 13)
    await Notary(store, KEY).checkpoint()
    await add_records(store, 14, start=13)
    await Notary(store, KEY).checkpoint()
    url = archive_url(tmp_path)
    if damage == "rehash":
        [entry] = await store.log_entries(9, 1)
        forged = entry.canonical.replace(b'"n":9', b'"n":90')
        tamper(url, *[f"UPDATE records SET canonical = {hex_bytes(url, forged)}, leaf_hash = "
                      f"{hex_bytes(url, leaf_hash(forged))} WHERE seq = 10"] * 2)  # fmt: skip
    elif damage == "remove":
        tamper(url, *["DELETE FROM records WHERE seq = 20"] * 2)
    whole = await verify(store, KEY.public_key())
    apart = await verify(store, KEY.public_key(), url=url, range_size=8)  # 4 ranges, in worker processes
    assert apart == whole
    assert whole.ok == (damage == "none")
