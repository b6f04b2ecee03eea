-- The search index: a view of the archive for supervisors and investigators, rebuildable from the records
-- and bodies (`chaperone archive reindex`), never evidence. One row per message; entry order is arrival order.
CREATE TABLE IF NOT EXISTS search_messages (
    entry       INTEGER PRIMARY KEY,          -- also the rowid of its search_text row
    message_id  TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    channel     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    action      TEXT NOT NULL,
    categories  TEXT NOT NULL,                -- JSON list
    sender_id   TEXT NOT NULL,
    keys        TEXT NOT NULL,                -- JSON list: person:<id>, school:<id>
    thread      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_by_thread ON search_messages(thread, entry);
CREATE INDEX IF NOT EXISTS search_by_time ON search_messages(recorded_at);
-- Who and which school each message concerns: scopes and filters read this, newest first.
CREATE TABLE IF NOT EXISTS search_keys (
    key   TEXT NOT NULL,
    entry INTEGER NOT NULL,
    PRIMARY KEY (key, entry)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(
    subject, body, attachments, tokenize = 'unicode61 remove_diacritics 2'
);
