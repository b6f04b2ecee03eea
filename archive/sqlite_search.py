"""The SQLite statements for the search index (FTS5): kept with each message's commit, emptied of a message
when it is disposed of, and read newest first. Called on the store's threads, inside its transactions."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from archive.changes import Changes
from archive.models import SearchHit, SearchQuery

_HIT_COLUMNS = (
    "m.entry, m.message_id, m.recorded_at, m.channel, m.direction, m.action, m.categories, m.sender_id,"
    " m.keys, m.thread, t.subject"
)


def apply(connection: sqlite3.Connection, changes: Changes) -> None:
    for entry in changes.indexed:
        cursor = connection.execute(
            "INSERT OR IGNORE INTO search_messages(message_id, recorded_at, channel, direction, action,"
            " categories, sender_id, keys, thread) VALUES (?,?,?,?,?,?,?,?,?)",
            (entry.message_id, entry.recorded_at, entry.channel, entry.direction, entry.action,
             json.dumps(entry.categories), entry.sender_id, json.dumps(entry.keys), entry.thread),
        )  # fmt: skip
        if cursor.rowcount != 1:
            continue  # indexed already (a reindex over a live index)
        row = cursor.lastrowid
        connection.execute(
            "INSERT INTO search_text(rowid, subject, body, attachments) VALUES (?,?,?,?)",
            (row, entry.subject, entry.body, entry.attachments),
        )
        connection.executemany(
            "INSERT OR IGNORE INTO search_keys(key, entry) VALUES (?,?)", [(k, row) for k in entry.keys]
        )
    for disposal in changes.disposals:
        for message_id in disposal.message_ids:
            unindex(connection, message_id)


def unindex(connection: sqlite3.Connection, message_id: str) -> None:
    found = connection.execute(
        "SELECT entry FROM search_messages WHERE message_id = ?", (message_id,)
    ).fetchone()
    if found is None:
        return
    connection.execute("DELETE FROM search_text WHERE rowid = ?", found)
    connection.execute("DELETE FROM search_keys WHERE entry = ?", found)
    connection.execute("DELETE FROM search_messages WHERE entry = ?", found)


def search(connection: sqlite3.Connection, query: SearchQuery) -> list[SearchHit]:
    where: list[str] = []
    params: list[Any] = []
    if query.words:
        where.append("search_text MATCH ?")
        # Each word a phrase, quotes doubled: no FTS5 syntax gets through (and a NUL would end the string).
        phrases = (word.replace("\x00", " ").replace('"', '""') for word in query.words)
        params.append(" ".join(f'"{phrase}"' for phrase in phrases))
    for key in query.keys:
        where.append("m.entry IN (SELECT entry FROM search_keys WHERE key = ?)")
        params.append(key)
    if query.scope is not None:
        marks = ",".join("?" * len(query.scope)) or "NULL"
        where.append(f"m.entry IN (SELECT entry FROM search_keys WHERE key IN ({marks}))")  # noqa: S608
        params.extend(query.scope)
    for column, value in (
        ("channel", query.channel),
        ("direction", query.direction),
        ("thread", query.thread),
    ):
        if value is not None:
            where.append(f"m.{column} = ?")
            params.append(value)
    if query.message_ids:
        where.append(f"m.message_id IN ({','.join('?' * len(query.message_ids))})")
        params.extend(query.message_ids)
    if query.actions:
        where.append(f"m.action IN ({','.join('?' * len(query.actions))})")
        params.extend(query.actions)
    if query.category is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(m.categories) WHERE value = ?)")
        params.append(query.category)
    if query.since is not None:
        where.append("m.recorded_at >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("m.recorded_at < ?")
        params.append(query.until)
    if query.older_than is not None:
        where.append("m.entry < ?")
        params.append(query.older_than)
    # FTS5 walks its matches in descending rowid (arrival) order itself, so a common word's newest page
    # costs a page, not every match; a thread reads oldest first.
    order = "ASC" if query.thread is not None else "DESC"
    source = (
        "search_text t JOIN search_messages m ON m.entry = t.rowid"
        if query.words
        else "search_messages m JOIN search_text t ON t.rowid = m.entry"
    )
    sql = f"SELECT {_HIT_COLUMNS} FROM {source}"  # noqa: S608 - placeholders only
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {'t.rowid' if query.words else 'm.entry'} {order} LIMIT ?"
    params.append(query.limit)
    return [_hit(row) for row in connection.execute(sql, params)]


def _hit(row: tuple[Any, ...]) -> SearchHit:
    entry, message_id, at, channel, direction, action, categories, sender, keys, thread, subject = row
    return SearchHit(
        entry, message_id, at, channel, direction, action, tuple(json.loads(categories)), sender,
        tuple(json.loads(keys)), thread, subject,
    )  # fmt: skip
