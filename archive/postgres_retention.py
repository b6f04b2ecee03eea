"""The PostgreSQL statements for retention: legal holds, lawful disposals, and what a purge reads."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from archive.changes import Changes
from archive.models import Conflict, LegalHold

# A copy or a review in one of these states is finished: nothing will act on it again.
FINISHED_COPIES = ["sent", "failed", "rejected"]
FINISHED_REVIEWS = ["approved", "rejected", "seen"]
_HOLD_COLUMNS = "hold_id, case_name, scope, subject, placed_by, placed_at, released_by, released_at"


async def apply(connection: Any, changes: Changes) -> None:
    if changes.holds:
        await connection.executemany(
            f"INSERT INTO working.legal_holds({_HOLD_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",  # noqa: S608
            [
                (h.hold_id, h.case_name, h.scope, h.subject, h.placed_by, h.placed_at, h.released_by,
                 h.released_at)
                for h in changes.holds
            ],
        )  # fmt: skip
    for hold_id, by, at in changes.releases:
        status = await connection.execute(
            "UPDATE working.legal_holds SET released_by = $1, released_at = $2"
            " WHERE hold_id = $3 AND released_at IS NULL",
            by, at, hold_id,
        )  # fmt: skip
        if status != "UPDATE 1":
            raise Conflict(f"legal hold {hold_id} is not in force")
    for disposal in changes.disposals:
        # The disposals rows first: the triggers let a body or an opening go only when one names it.
        await connection.execute(
            "INSERT INTO evidence.disposals(item, disposed_at) SELECT unnest($1::text[]), $2"
            " ON CONFLICT (item) DO NOTHING",
            disposal.items(), disposal.disposed_at,
        )  # fmt: skip
        await connection.execute(
            "DELETE FROM evidence.bodies WHERE digest = ANY($1::text[])", list(disposal.bodies)
        )
        await connection.execute(
            "DELETE FROM evidence.record_openings WHERE leaf_hash = ANY($1::bytea[])", list(disposal.openings)
        )
        ids = list(disposal.message_ids)
        await connection.execute(
            "DELETE FROM working.deliveries WHERE message_id = ANY($1::text[]) AND state = ANY($2::text[])",
            ids, FINISHED_COPIES,
        )  # fmt: skip
        await connection.execute(
            "DELETE FROM working.reviews WHERE message_id = ANY($1::text[]) AND state = ANY($2::text[])",
            ids, FINISHED_REVIEWS,
        )  # fmt: skip


async def legal_holds(connection: Any, in_force: bool) -> list[LegalHold]:
    where = " WHERE released_at IS NULL" if in_force else ""
    rows = await connection.fetch(
        f"SELECT {_HOLD_COLUMNS} FROM working.legal_holds{where} ORDER BY placed_at, hold_id"  # noqa: S608
    )
    return [LegalHold(*row) for row in rows]


async def sealed_leaves(
    connection: Any, message_ids: Collection[str], unlinked_before: str | None
) -> list[bytes]:
    rows = await connection.fetch(
        "SELECT leaf_hash FROM evidence.records JOIN evidence.record_openings USING (leaf_hash)"
        " WHERE message_id = ANY($1::text[])"
        " OR ($2::text IS NOT NULL AND message_id IS NULL AND recorded_at < $2)"
        " ORDER BY seq",
        sorted(message_ids), unlinked_before,
    )  # fmt: skip
    return [bytes(r["leaf_hash"]) for r in rows]


async def disposed(connection: Any, items: Collection[str]) -> set[str]:
    rows = await connection.fetch(
        "SELECT item FROM evidence.disposals WHERE item = ANY($1::text[])", sorted(items)
    )
    return {r["item"] for r in rows}
