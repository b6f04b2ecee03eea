"""The archive as evidence: every record a leaf of an RFC 9162 Merkle tree in index order, signed tree heads
(checkpoints) made every few seconds while records arrive, kept in the archive and appended to a witness
outside it; ``gateway.verification`` recomputes everything from the records' bytes.

A checkpoint protects every record up to its size: an insider who edits, removes, inserts or reorders a
record, even recomputing every hash, changes the root at that size, which no longer matches the signature;
one who also deletes the checkpoints from the database still faces the witness. What is newer than the
last checkpoint is the unprotected window (``[archive] checkpoint_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from pathlib import Path

import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive.changes import Changes
from archive.checkpoints import Checkpoint, sign
from archive.merkle import Frontier
from archive.models import Conflict, LogEntry
from archive.records import leaf_hash
from archive.store import Store

log = structlog.get_logger("gateway.evidence")
_BATCH = 5_000


class EvidenceError(Exception):
    """The archive is not as its own records say: a checkpoint is not signed over it."""


async def entries(store: Store, after: int = 0) -> AsyncGenerator[LogEntry, None]:
    """Every record after ``after``, in index order."""
    async for batch in batches(store, after):
        for entry in batch:
            yield entry


async def batches(store: Store, after: int = 0) -> AsyncGenerator[list[LogEntry], None]:
    """The records after ``after`` in index order, a batch at a time; the next is read while this one is
    used (the store reads on a thread of its own, or over the network)."""
    batch = await store.log_entries(after, _BATCH)
    while batch:
        following = asyncio.ensure_future(store.log_entries(batch[-1].seq, _BATCH))
        try:
            yield batch
        except BaseException:  # closed early (the reader had enough), or thrown into
            following.cancel()
            following.add_done_callback(_retrieved)  # its end, whatever it was, is of no interest now
            raise
        batch = await following


def _retrieved(read: asyncio.Future[list[LogEntry]]) -> None:
    if not read.cancelled():
        read.exception()


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
