-- Evidence (the record log and the bodies it names) and working state (queue, conversations, reviews)
-- live in separate schemas: the evidence is append-only, the working state changes with every attempt.
CREATE SCHEMA IF NOT EXISTS evidence;
CREATE SCHEMA IF NOT EXISTS working;

CREATE TABLE evidence.records (
    seq         BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    message_id  TEXT,
    recorded_at TEXT NOT NULL,                -- ISO 8601, UTC, microseconds: as in the canonical bytes
    canonical   BYTEA NOT NULL,               -- the exact bytes the leaf hash covers
    leaf_hash   BYTEA NOT NULL
);
CREATE INDEX records_by_message ON evidence.records(message_id, seq);
CREATE INDEX records_by_time ON evidence.records(kind, recorded_at);

CREATE TABLE evidence.bodies (
    digest  TEXT PRIMARY KEY,                 -- sha256:<hex> of content
    size    BIGINT NOT NULL,
    content BYTEA NOT NULL
);

CREATE TABLE working.conversations (
    token       TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    staff_email TEXT NOT NULL,
    student_ids TEXT[] NOT NULL,
    member_ids  TEXT[] NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE working.deliveries (
    delivery_id   TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipients    TEXT[] NOT NULL,
    headers       BYTEA NOT NULL,
    body_digest   TEXT NOT NULL,
    state         TEXT NOT NULL,
    not_before    DOUBLE PRECISION NOT NULL,
    expires_at    DOUBLE PRECISION NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    purpose       TEXT NOT NULL,
    claimed_by    TEXT,
    claim_until   DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_due ON working.deliveries(state, not_before);
CREATE INDEX deliveries_by_message ON working.deliveries(message_id);

CREATE TABLE working.reviews (
    message_id  TEXT PRIMARY KEY,
    action      TEXT NOT NULL,
    state       TEXT NOT NULL,
    sender      TEXT NOT NULL,
    subject     TEXT,
    reasons     TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    comment     TEXT
);
CREATE INDEX reviews_pending ON working.reviews(state, opened_at);

-- Append-only, whoever asks: row triggers refuse UPDATE and DELETE, statement triggers TRUNCATE, and
-- ENABLE ALWAYS keeps them firing under session_replication_role = replica.
CREATE FUNCTION evidence.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %.% refused: the archive is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON evidence.records
    FOR EACH ROW EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON evidence.records
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER bodies_append_only BEFORE UPDATE OR DELETE ON evidence.bodies
    FOR EACH ROW EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER bodies_no_truncate BEFORE TRUNCATE ON evidence.bodies
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER conversations_append_only BEFORE UPDATE OR DELETE ON working.conversations
    FOR EACH ROW EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER conversations_no_truncate BEFORE TRUNCATE ON working.conversations
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
ALTER TABLE evidence.records ENABLE ALWAYS TRIGGER records_append_only;
ALTER TABLE evidence.records ENABLE ALWAYS TRIGGER records_no_truncate;
ALTER TABLE evidence.bodies ENABLE ALWAYS TRIGGER bodies_append_only;
ALTER TABLE evidence.bodies ENABLE ALWAYS TRIGGER bodies_no_truncate;
ALTER TABLE working.conversations ENABLE ALWAYS TRIGGER conversations_append_only;
ALTER TABLE working.conversations ENABLE ALWAYS TRIGGER conversations_no_truncate;
