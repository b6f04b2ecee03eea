-- A record's sealed personal values and its salt (archive.sealing), kept beside the log under its leaf
-- hash: evidence's companion, not evidence. Only a disposal (below) may remove a row, never change one.
CREATE TABLE IF NOT EXISTS record_openings (
    leaf_hash BLOB PRIMARY KEY,
    salt      BLOB NOT NULL,
    openings  BLOB NOT NULL                   -- JSON: {JSON pointer: value}
);

-- What was lawfully disposed of, each row written with the archive.disposed record that explains it, in
-- one transaction: a body ("body:sha256:<hex>") or a record's openings ("openings:<hex leaf hash>").
CREATE TABLE IF NOT EXISTS disposals (
    item        TEXT PRIMARY KEY,
    disposed_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS disposals_no_update BEFORE UPDATE ON disposals
BEGIN SELECT RAISE(ABORT, 'disposals are append-only'); END;
CREATE TRIGGER IF NOT EXISTS disposals_no_delete BEFORE DELETE ON disposals
BEGIN SELECT RAISE(ABORT, 'disposals are append-only'); END;

CREATE TRIGGER IF NOT EXISTS openings_no_update BEFORE UPDATE ON record_openings
BEGIN SELECT RAISE(ABORT, 'sealed values are immutable'); END;
CREATE TRIGGER IF NOT EXISTS openings_disposal_only BEFORE DELETE ON record_openings
WHEN NOT EXISTS (SELECT 1 FROM disposals WHERE item = 'openings:' || lower(hex(OLD.leaf_hash)))
BEGIN SELECT RAISE(ABORT, 'sealed values are removed only by a recorded disposal'); END;

-- A body is no longer undeletable: it may go, by a recorded disposal only.
DROP TRIGGER IF EXISTS bodies_no_delete;
CREATE TRIGGER IF NOT EXISTS bodies_disposal_only BEFORE DELETE ON bodies
WHEN NOT EXISTS (SELECT 1 FROM disposals WHERE item = 'body:' || OLD.digest)
BEGIN SELECT RAISE(ABORT, 'archived bodies are removed only by a recorded disposal'); END;

-- Legal holds are working state: placed and released (each mirrored by a record), they keep whatever
-- they cover from any disposal. A hold covers a person (staff member, student or guardian) or a message.
CREATE TABLE IF NOT EXISTS legal_holds (
    hold_id     TEXT PRIMARY KEY,
    case_name   TEXT NOT NULL,
    scope       TEXT NOT NULL,                -- person | message
    subject     TEXT NOT NULL,                -- a sourcedId, or a message id
    placed_by   TEXT NOT NULL,
    placed_at   TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT
);
CREATE INDEX IF NOT EXISTS legal_holds_in_force ON legal_holds(scope, subject) WHERE released_at IS NULL;
