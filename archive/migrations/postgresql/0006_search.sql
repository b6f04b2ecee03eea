-- The search index: a view of the archive for supervisors and investigators, rebuildable from the records
-- and bodies (`chaperone archive reindex`), never evidence. One row per message; entry order is arrival order.
CREATE SCHEMA IF NOT EXISTS search;
CREATE TABLE search.messages (
    entry       BIGSERIAL PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    channel     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    action      TEXT NOT NULL,
    categories  TEXT[] NOT NULL,
    sender_id   TEXT NOT NULL,
    keys        TEXT[] NOT NULL,              -- person:<id>, school:<id>
    thread      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attachments TEXT NOT NULL,
    -- The words, folded (lower case, no accents: archive.postgres_search) and parsed with 'simple': no
    -- stemming, so English and Spanish match alike, word for word, as SQLite's FTS5 does.
    document    TSVECTOR NOT NULL
);
CREATE INDEX messages_document ON search.messages USING GIN (document);
CREATE INDEX messages_keys ON search.messages USING GIN (keys);
CREATE INDEX messages_thread ON search.messages (thread, entry);
CREATE INDEX messages_time ON search.messages (recorded_at);
