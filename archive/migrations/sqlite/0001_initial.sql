-- The archive: append-only. No code path updates or deletes these rows; the triggers make sure of it.
CREATE TABLE IF NOT EXISTS records (
    seq         INTEGER PRIMARY KEY,          -- gap-free: single writer, rows are never deleted
    kind        TEXT NOT NULL,
    message_id  TEXT,
    recorded_at TEXT NOT NULL,
    canonical   BLOB NOT NULL,                -- the exact bytes the leaf hash covers
    leaf_hash   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_message ON records(message_id, seq);

CREATE TABLE IF NOT EXISTS bodies (
    digest  TEXT PRIMARY KEY,                 -- sha256:<hex> of content
    size    INTEGER NOT NULL,
    content BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS conversations (
    token       TEXT PRIMARY KEY,             -- unguessable; the local part of c-<token>@relay domain
    message_id  TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    staff_email TEXT NOT NULL,
    student_ids TEXT NOT NULL,                -- JSON list
    member_ids  TEXT NOT NULL,                -- JSON list: students and guardians who may reply
    created_at  TEXT NOT NULL
);

CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'archive records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'archive records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS bodies_no_update BEFORE UPDATE ON bodies
BEGIN SELECT RAISE(ABORT, 'archived bodies are immutable'); END;
CREATE TRIGGER IF NOT EXISTS bodies_no_delete BEFORE DELETE ON bodies
BEGIN SELECT RAISE(ABORT, 'archived bodies are immutable'); END;
CREATE TRIGGER IF NOT EXISTS conversations_no_update BEFORE UPDATE ON conversations
BEGIN SELECT RAISE(ABORT, 'conversations are append-only'); END;
CREATE TRIGGER IF NOT EXISTS conversations_no_delete BEFORE DELETE ON conversations
BEGIN SELECT RAISE(ABORT, 'conversations are append-only'); END;

-- The delivery queue is working state, not evidence: its rows change as attempts are made, and every
-- change is mirrored by an appended record above in the same transaction.
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id   TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipients    TEXT NOT NULL,              -- JSON list of addresses still to deliver
    headers       BLOB NOT NULL,              -- header block that replaces the original's To/Cc
    body_digest   TEXT NOT NULL,              -- the original bytes, in bodies
    state         TEXT NOT NULL,              -- pending | held | sent | failed
    not_before    REAL NOT NULL,              -- epoch seconds: quiet-hours release or next retry
    expires_at    REAL NOT NULL,              -- give up and send a DSN after this
    attempts      INTEGER NOT NULL DEFAULT 0,
    purpose       TEXT NOT NULL               -- family | staff | supervisors | dsn | reply
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, not_before);

-- The review queue is working state too: held and flagged messages waiting for a supervisor. Each change
-- is mirrored by a review.opened / review.decided record in the same transaction.
CREATE TABLE IF NOT EXISTS reviews (
    message_id  TEXT PRIMARY KEY,
    action      TEXT NOT NULL,                -- hold (nothing sent yet) | flag (sent, listed for review)
    state       TEXT NOT NULL,                -- pending | approved | rejected | seen
    sender      TEXT NOT NULL,
    subject     TEXT,
    reasons     TEXT NOT NULL,                -- the decision explained, for the list
    opened_at   TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    comment     TEXT
);
CREATE INDEX IF NOT EXISTS reviews_pending ON reviews(state, opened_at);
