"""The PostgreSQL statements for the search index (tsvector with GIN): kept with each message's commit,
emptied of a message when it is disposed of, and read newest first."""

from __future__ import annotations

import unicodedata
from typing import Any

from archive.changes import Changes
from archive.models import SearchHit, SearchQuery

_HIT_COLUMNS = (
    "entry, message_id, recorded_at, channel, direction, action, categories, sender_id, keys, thread, subject"
)


async def apply(connection: Any, changes: Changes) -> None:
    if changes.indexed:
        await connection.executemany(
            "INSERT INTO search.messages(message_id, recorded_at, channel, direction, action, categories,"
            " sender_id, keys, thread, subject, body, attachments, document)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
            " setweight(to_tsvector('simple', $13), 'A') || to_tsvector('simple', $14))"
            " ON CONFLICT (message_id) DO NOTHING",
            [
                (e.message_id, e.recorded_at, e.channel, e.direction, e.action, list(e.categories),
                 e.sender_id, list(e.keys), e.thread, _text(e.subject), _text(e.body), _text(e.attachments),
                 folded(e.subject), folded(f"{e.body} {e.attachments}"))
                for e in changes.indexed
            ],
        )  # fmt: skip
    ids = [m for disposal in changes.disposals for m in disposal.message_ids]
    if ids:
        await connection.execute("DELETE FROM search.messages WHERE message_id = ANY($1::text[])", ids)


async def search(connection: Any, query: SearchQuery) -> list[SearchHit]:
    where: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if query.words:
        phrases = " ".join('"' + folded(word).replace('"', " ") + '"' for word in query.words)
        where.append(f"document @@ websearch_to_tsquery('simple', {param(phrases)})")
    if query.keys:
        where.append(f"keys @> {param(list(query.keys))}::text[]")
    if query.scope is not None:
        where.append(f"keys && {param(list(query.scope))}::text[]")
    for column, value in (
        ("channel", query.channel),
        ("direction", query.direction),
        ("thread", query.thread),
    ):
        if value is not None:
            where.append(f"{column} = {param(value)}")
    if query.message_ids:
        where.append(f"message_id = ANY({param(list(query.message_ids))}::text[])")
    if query.actions:
        where.append(f"action = ANY({param(list(query.actions))}::text[])")
    if query.category is not None:
        where.append(f"{param(query.category)} = ANY(categories)")
    if query.since is not None:
        where.append(f"recorded_at >= {param(query.since)}")
    if query.until is not None:
        where.append(f"recorded_at < {param(query.until)}")
    if query.older_than is not None:
        where.append(f"entry < {param(query.older_than)}")
    order = "ASC" if query.thread is not None else "DESC"
    sql = f"SELECT {_HIT_COLUMNS} FROM search.messages"  # noqa: S608 - placeholders only
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY entry {order} LIMIT {param(query.limit)}"
    rows = await connection.fetch(sql, *params)
    return [
        SearchHit(
            r["entry"],
            r["message_id"],
            r["recorded_at"],
            r["channel"],
            r["direction"],
            r["action"],
            tuple(r["categories"]),
            r["sender_id"],
            tuple(r["keys"]),
            r["thread"],
            r["subject"],
        )
        for r in rows
    ]


def _text(value: str) -> str:
    return value.replace("\x00", "")  # PostgreSQL text holds no NUL


def folded(text: str) -> str:
    """Lower case without accents, as SQLite's unicode61 tokenizer (remove_diacritics 2) compares words:
    "Autobús" and "autobus" are one word. PostgreSQL's unaccent is an extension a district may not have."""
    decomposed = unicodedata.normalize("NFKD", _text(text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
