"""``verify``: recompute the archive from its records' bytes and hold it to every checkpoint and the witness.

The records are walked in ranges of ``RANGE`` leaves, each range a complete subtree of the tree (RFC 9162
trees split at powers of two): a walk recomputes its leaves, checks their indexes and times, and returns
its subtrees' roots, and its partial roots at any checkpoint inside it. Putting the ranges' roots together
gives the tree at every checkpoint. A large archive's ranges are walked in worker processes of their own,
one per core, each reading the store for itself (``url``); a small one, or one whose indexes are broken, in
one walk here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive.backends import open_store
from archive.checkpoints import Checkpoint, valid
from archive.merkle import Frontier, fold
from archive.sealing import mismatched, openings_from
from archive.store import Store
from gateway.evidence import batches, read_witness

RANGE = 1 << 20  # leaves per walk in a worker process (a power of two: a complete subtree)
_BATCH = 5_000
_sha256 = hashlib.sha256  # a leaf is SHA-256(0x00 || canonical): archive.records.leaf_hash, inlined


@dataclass
class Verdict:
    records: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Walk:
    """What one walk over the records after index ``start`` found."""

    start: int
    size: int = 0
    first_time: str = ""
    latest_time: str = ""
    problems: list[str] = field(default_factory=list)
    stack: list[bytes] = field(default_factory=list)  # the walked leaves' subtree roots, largest first
    at: dict[int, list[bytes]] = field(default_factory=dict)  # the same at each checkpoint size inside


async def verify(
    store: Store,
    public: Ed25519PublicKey | None,
    witness: Path | None = None,
    *,
    since: int = 0,
    url: str | None = None,
    range_size: int = RANGE,
) -> Verdict:
    """Recompute the archive: every record's index (gap-free), bytes against its leaf hash, time never
    going back; the tree's root at every checkpoint, in the archive and in the witness, against its
    signature. Problems are listed in index order, about: the first names the first bad record it can.

    ``since``: the size of a checkpoint verified before. Its records are taken by their stored leaf
    hashes, which must still rebuild its signed root (so none was changed with its hash recomputed);
    only the records after it are recomputed from their bytes. ``url``: the store's, for worker
    processes to read it in ranges of ``range_size`` leaves (a power of two) when it holds more than two."""
    verdict = Verdict()
    heads = _checkpoints(await store.checkpoints(), witness, verdict)
    if since and not any(c.size == since for c in heads):
        verdict.problems.append(f"there is no checkpoint of {since} records to verify from")
        return verdict
    heads = [c for c in heads if c.size >= since]
    for head in heads:
        if public is not None and not valid(head, public):
            verdict.problems.append(f"checkpoint of {head.size} records: the signature is not the district's")
    verdict.checkpoints = len(heads)
    sizes = {c.size for c in heads}
    walks = None
    if url is not None and (count := await store.count_records()) > 2 * range_size:
        walks = await _walk_apart(url, count, range_size, since, sizes)
    if walks is None:  # small, or a range came out short (indexes broken): one walk, to name it exactly
        walks = [await _walk(store, 0, None, since, sizes)]
    _put_together(walks, heads, since, verdict)
    return verdict


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


def _checkpoints(stored: list[Checkpoint], witness: Path | None, verdict: Verdict) -> list[Checkpoint]:
    """The checkpoints in the archive and in the witness, smallest first; any that the witness has and the
    archive has not (or has otherwise) is a problem."""
    witnessed = read_witness(witness) if witness is not None else []
    kept = {c.size: c for c in stored}
    for missing in (c for c in witnessed if kept.get(c.size) != c):
        verdict.problems.append(
            f"checkpoint of {missing.size} records (signed {missing.signed_at}) is in the witness "
            "but not, or otherwise, in the archive"
        )
    both = {(c.size, c.root, c.signed_at, c.signature): c for c in [*stored, *witnessed]}
    return sorted(both.values(), key=lambda c: c.size)


async def _walk(store: Store, start: int, stop: int | None, since: int, sizes: set[int]) -> _Walk:
    """Recompute the records after index ``start`` (up to ``stop``, if given). Runs once per record."""
    found, frontier = _Walk(start), Frontier()
    last_seq, latest = start, ""
    async with contextlib.aclosing(batches(store, start)) as reading:
        async for batch in reading:
            if stop is not None and batch[0].seq > stop:
                break  # past the range: the reader is closed as the loop is left
            for seq, recorded_at, canonical, leaf in batch:
                if stop is not None and seq > stop:
                    break
                if seq != last_seq + 1:
                    found.problems.append(
                        f"record {last_seq + 1} is missing (the next is {seq}): removed or renumbered"
                    )
                last_seq = seq
                recomputed = leaf if seq <= since else _sha256(b"\x00" + canonical).digest()
                if recomputed != leaf:
                    found.problems.append(f"record {seq}: its bytes do not match its leaf hash (changed)")
                if not found.first_time:
                    found.first_time = recorded_at
                if recorded_at < latest:
                    if seq > since:
                        found.problems.append(f"record {seq}: recorded before the record ahead of it")
                else:
                    latest = recorded_at
                frontier.append(recomputed)
                if start + frontier.size in sizes:
                    found.at[start + frontier.size] = frontier.stack()
    found.size, found.latest_time, found.stack = frontier.size, latest, frontier.stack()
    return found


async def _walk_apart(url: str, count: int, size: int, since: int, sizes: set[int]) -> list[_Walk] | None:
    """The ranges walked in worker processes, one per core; None if one came out short."""
    starts = list(range(0, count, size))
    # The last range runs to the end, whatever was appended since the count.
    stops: list[int | None] = [*starts[1:], None]
    spawn = multiprocessing.get_context("spawn")  # never fork a process with a store's threads in it
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1), mp_context=spawn) as pool:
        ranges = [
            (url, start, stop, since, {s for s in sizes if s > start and (stop is None or s <= stop)})
            for start, stop in zip(starts, stops, strict=True)
        ]
        walks = await asyncio.gather(*(loop.run_in_executor(pool, _walk_in_process, *r) for r in ranges))
    if any(w.size != size for w in walks[:-1]):
        return None
    return list(walks)


def _walk_in_process(url: str, start: int, stop: int | None, since: int, sizes: set[int]) -> _Walk:
    async def run() -> _Walk:
        store = open_store(url)
        await store.start()
        try:
            return await _walk(store, start, stop, since, sizes)
        finally:
            await store.close()

    return asyncio.run(run())


def _put_together(walks: list[_Walk], heads: list[Checkpoint], since: int, verdict: Verdict) -> None:
    """The walks in order: their problems, the time across their edges, and the tree at every checkpoint."""
    tree, latest, agreed = Frontier(), "", 0
    pending = list(heads)
    for walk in walks:
        verdict.problems += walk.problems
        if walk.first_time and walk.first_time < latest and walk.start + 1 > since:
            verdict.problems.append(f"record {walk.start + 1}: recorded before the record ahead of it")
        latest = max(latest, walk.latest_time)
        while pending and pending[0].size <= walk.start + walk.size:
            head = pending.pop(0)
            if head.root != fold(tree.stack() + walk.at.get(head.size, [])):
                verdict.problems.append(
                    f"records {agreed + 1}-{head.size}: the archive differs from the checkpoint "
                    f"signed {head.signed_at} (a record changed, removed, inserted or reordered)"
                )
            else:
                agreed = head.size
        heights = [h for h in range(walk.size.bit_length() - 1, -1, -1) if walk.size >> h & 1]
        for root, height in zip(walk.stack, heights, strict=True):  # one subtree per set bit of its size
            tree.append_subtree(root, height)
    verdict.records = tree.size
    for head in pending:
        verdict.problems.append(
            f"a checkpoint signed {head.signed_at} covers {head.size} records; "
            f"the archive has {tree.size}: records were removed"
        )
