"""The archive as evidence: every record a leaf of an RFC 9162 Merkle tree in index order, signed tree heads
(checkpoints) made every few seconds while records arrive, kept in the archive and appended to a witness
outside it, and ``verify``, which recomputes everything from the records' bytes.

A checkpoint protects every record up to its size: an insider who edits, removes, inserts or reorders a
record, even recomputing every hash, changes the root at that size, which no longer matches the signature;
one who also deletes the checkpoints from the database still faces the witness. What is newer than the
last checkpoint is the unprotected window (``[archive] checkpoint_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archive.changes import Changes
from archive.checkpoints import Checkpoint, sign, valid
from archive.merkle import Frontier
from archive.models import Conflict, LogEntry
from archive.records import leaf_hash
from archive.sealing import mismatched, openings_from
from archive.store import Store

log = structlog.get_logger("gateway.evidence")
_sha256 = hashlib.sha256  # a leaf is SHA-256(0x00 || canonical): archive.records.leaf_hash, inlined
_BATCH = 5_000


class EvidenceError(Exception):
    """The archive is not as its own records say: a checkpoint is not signed over it."""


async def entries(store: Store, after: int = 0) -> AsyncIterator[LogEntry]:
    """Every record after ``after``, in index order."""
    async for batch in batches(store, after):
        for entry in batch:
            yield entry


async def batches(store: Store, after: int = 0) -> AsyncIterator[list[LogEntry]]:
    """The records after ``after`` in index order, a batch at a time; the next is read while this one is
    used (the store reads on a thread of its own, or over the network)."""
    batch = await store.log_entries(after, _BATCH)
    while batch:
        following = asyncio.ensure_future(store.log_entries(batch[-1].seq, _BATCH))
        try:
            yield batch
        except BaseException:  # closed early (the reader had enough), or thrown into
            following.cancel()
            raise
        batch = await following


class Notary:
    """Signs checkpoints of this archive with the district's key, as records arrive."""

    def __init__(self, store: Store, key: Ed25519PrivateKey, witness: Path | None = None) -> None:
        self.store = store
        self.key = key
        self.witness = witness
        self.frontier = Frontier()
        self.signed_size = -1

    async def checkpoint(self) -> Checkpoint | None:
        """A checkpoint of the archive as it is now; None when nothing arrived since the last one."""
        if self.signed_size < 0:
            signed = await self.store.checkpoints()
            self.signed_size = signed[-1].size if signed else 0
        async for entry in entries(self.store, self.frontier.size):
            if entry.seq != self.frontier.size + 1 or leaf_hash(entry.canonical) != entry.leaf_hash:
                raise EvidenceError(f"record {entry.seq} is not as written: run `chaperone archive verify`")
            self.frontier.append(entry.leaf_hash)
        if self.frontier.size <= self.signed_size:
            return None
        checkpoint = sign(self.key, self.frontier.size, self.frontier.root())
        changes = Changes()
        changes.add_checkpoint(checkpoint)
        try:
            await self.store.commit(changes)
        except Conflict:  # another relay instance signed this size first
            return None
        self.signed_size = checkpoint.size
        if self.witness is not None:
            await asyncio.to_thread(append_to_witness, self.witness, checkpoint)
        return checkpoint

    async def run(self, every: float) -> None:
        """Checkpoint every ``every`` seconds while records arrive, until cancelled."""
        while True:
            try:
                made = await self.checkpoint()
                if made is not None:
                    log.debug("checkpoint signed", size=made.size)
            except EvidenceError:
                log.error("the archive does not verify: no checkpoint signed", exc_info=True)
            except Exception:
                log.exception("checkpoint not signed; trying again")
            await asyncio.sleep(every)


def append_to_witness(path: Path, checkpoint: Checkpoint) -> None:
    """One JSON line, written with O_APPEND and fsynced: the witness is only ever appended to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, orjson.dumps(checkpoint.to_json()) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def read_witness(path: Path) -> list[Checkpoint]:
    found = []
    with contextlib.suppress(FileNotFoundError), path.open("rb") as witness:
        for line in witness:
            if line.strip():
                found.append(Checkpoint.from_json(orjson.loads(line)))
    return found


@dataclass
class Verdict:
    records: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_openings(store: Store, verdict: Verdict) -> None:
    """Hold every kept personal value to the commitment its leaf made (archive.sealing): a value changed
    beside the log is caught, though the tree does not cover it."""
    after = 0
    while batch := await store.sealed_entries(after, _BATCH):
        for seq, canonical, salt, openings in batch:
            payload = orjson.loads(canonical)["payload"]
            changed = mismatched(payload, salt, openings_from(openings))
            if changed:
                verdict.problems.append(
                    f"record {seq}: its kept personal values {', '.join(changed)} are not the ones its leaf "
                    "committed to (changed)"
                )
        after = batch[-1].seq


async def verify(
    store: Store, public: Ed25519PublicKey | None, witness: Path | None = None, *, since: int = 0
) -> Verdict:
    """Recompute the archive: every record's index (gap-free), bytes against its leaf hash, time never
    going back; the tree's root at every checkpoint, in the archive and in the witness, against its
    signature. Problems are listed in index order: the first names the first bad record it can.

    ``since``: the size of a checkpoint verified before. Its records are taken by their stored leaf
    hashes, which must still rebuild its signed root (so none was changed with its hash recomputed);
    only the records after it are recomputed from their bytes."""
    verdict = Verdict()
    stored = await store.checkpoints()
    witnessed = read_witness(witness) if witness is not None else []
    kept = {c.size: c for c in stored}
    for missing in (c for c in witnessed if kept.get(c.size) != c):
        verdict.problems.append(
            f"checkpoint of {missing.size} records (signed {missing.signed_at}) is in the witness "
            "but not, or otherwise, in the archive"
        )
    heads = sorted({(c.size, c.root, c.signed_at, c.signature): c for c in [*stored, *witnessed]}.values(),
                   key=lambda c: c.size)  # fmt: skip
    if since and not any(c.size == since for c in heads):
        verdict.problems.append(f"there is no checkpoint of {since} records to verify from")
        return verdict
    heads = [c for c in heads if c.size >= since]
    for head in heads:
        if public is not None and not valid(head, public):
            verdict.problems.append(f"checkpoint of {head.size} records: the signature is not the district's")
    verdict.checkpoints = len(heads)
    frontier, last_time, last_seq, agreed = Frontier(), "", 0, 0
    pending = list(heads)
    next_head = pending[0].size if pending else 0
    async for batch in batches(store):  # a plain loop over each batch: this runs once per record
        for seq, recorded_at, canonical, leaf in batch:
            if seq != last_seq + 1:
                verdict.problems.append(
                    f"record {last_seq + 1} is missing (the next is {seq}): removed or renumbered"
                )
            last_seq = seq
            recomputed = leaf if seq <= since else _sha256(b"\x00" + canonical).digest()
            if recomputed != leaf:
                verdict.problems.append(f"record {seq}: its bytes do not match its leaf hash (changed)")
            if recorded_at < last_time:
                if seq > since:
                    verdict.problems.append(f"record {seq}: recorded before the record ahead of it")
            else:
                last_time = recorded_at
            frontier.append(recomputed)
            if frontier.size == next_head:
                while pending and pending[0].size == frontier.size:
                    head = pending.pop(0)
                    if head.root != frontier.root():
                        verdict.problems.append(
                            f"records {agreed + 1}-{head.size}: the archive differs from the checkpoint "
                            f"signed {head.signed_at} (a record changed, removed, inserted or reordered)"
                        )
                    else:
                        agreed = head.size
                next_head = pending[0].size if pending else 0
    verdict.records = frontier.size
    for head in pending:
        verdict.problems.append(
            f"a checkpoint signed {head.signed_at} covers {head.size} records; "
            f"the archive has {frontier.size}: records were removed"
        )
    return verdict
