"""What a unit of work writes to the archive, and writing it ready-made.

Several relay processes share one archive and take turns to write (archive.sqlite). Whatever a unit
does while it holds the turn holds every other process up, so the relay builds its units beforehand:
``PreparedWrites`` takes the same calls as the live ``Writer`` (append a record, keep a body, run a
statement) and only collects the rows, with their canonical JSON and hashes already made; in the
transaction, ``apply`` runs nothing but the statements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from archive.records import Record, body_digest, leaf_hash

if TYPE_CHECKING:
    from archive.sqlite import Writer

INSERT_RECORDS = "INSERT INTO records(kind, message_id, recorded_at, canonical, leaf_hash) VALUES "
INSERT_RECORD = INSERT_RECORDS + "(?,?,?,?,?)"
_ROWS_PER_INSERT = 200  # 5 parameters a row, well under SQLite's limit of 32766
INSERT_BODY = "INSERT OR IGNORE INTO bodies(digest, size, content) VALUES (?,?,?)"


class ArchiveWriter(Protocol):
    """Appending to the archive: ``Writer`` inside a transaction, or ``PreparedWrites`` before one."""

    def append(self, record: Record) -> object: ...

    def put_body(self, content: bytes) -> str: ...

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> object: ...


def record_row(record: Record) -> tuple[str, str | None, str, bytes, bytes]:
    recorded_at = record.recorded_at_text
    canonical = record.canonical(recorded_at)
    return str(record.kind), record.message_id, recorded_at, canonical, leaf_hash(canonical)


def body_row(content: bytes) -> tuple[str, int, bytes]:
    return body_digest(content), len(content), content


class PreparedWrites:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.records: list[tuple[str, str | None, str, bytes, bytes]] = []  # in the order appended

    def append(self, record: Record) -> None:
        self.records.append(record_row(record))

    def put_body(self, content: bytes) -> str:
        row = body_row(content)
        self.statements.append((INSERT_BODY, row))
        return row[0]

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.statements.append((sql, params))

    def apply(self, writer: Writer) -> None:
        """Inside the transaction (the archive's writer thread). The records go in last, as one
        statement: no other table refers to them, and each statement costs the writer a turn of the GIL."""
        execute = writer.connection.execute
        for sql, params in self.statements:
            execute(sql, params)
        for start in range(0, len(self.records), _ROWS_PER_INSERT):
            rows = self.records[start : start + _ROWS_PER_INSERT]
            values = ",".join(["(?,?,?,?,?)"] * len(rows))
            execute(INSERT_RECORDS + values, [field for row in rows for field in row])
