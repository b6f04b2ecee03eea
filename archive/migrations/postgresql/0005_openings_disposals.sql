-- A record's sealed personal values and its salt (archive.sealing), kept beside the log under its leaf
-- hash: evidence's companion, not evidence. Only a disposal (below) may remove a row, never change one.
CREATE TABLE evidence.record_openings (
    leaf_hash BYTEA PRIMARY KEY,
    salt      BYTEA NOT NULL,
    openings  BYTEA NOT NULL                  -- JSON: {JSON pointer: value}
);

-- What was lawfully disposed of, each row written with the archive.disposed record that explains it, in
-- one transaction: a body ('body:sha256:<hex>') or a record's openings ('openings:<hex leaf hash>').
CREATE TABLE evidence.disposals (
    item        TEXT PRIMARY KEY,
    disposed_at TEXT NOT NULL
);
CREATE TRIGGER disposals_append_only BEFORE UPDATE OR DELETE ON evidence.disposals
    FOR EACH ROW EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER disposals_no_truncate BEFORE TRUNCATE ON evidence.disposals
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
ALTER TABLE evidence.disposals ENABLE ALWAYS TRIGGER disposals_append_only;
ALTER TABLE evidence.disposals ENABLE ALWAYS TRIGGER disposals_no_truncate;

-- Bodies and openings: never changed, never truncated, deleted only when a disposal names them.
CREATE FUNCTION evidence.dispose_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF TG_TABLE_NAME = 'bodies' THEN
            wanted := 'body:' || OLD.digest;
        ELSE
            wanted := 'openings:' || encode(OLD.leaf_hash, 'hex');
        END IF;
        IF EXISTS (SELECT 1 FROM evidence.disposals d WHERE d.item = wanted) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION '% on %.% refused: removed only by a recorded disposal', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER bodies_append_only ON evidence.bodies;
CREATE TRIGGER bodies_dispose_only BEFORE UPDATE OR DELETE ON evidence.bodies
    FOR EACH ROW EXECUTE FUNCTION evidence.dispose_only();
ALTER TABLE evidence.bodies ENABLE ALWAYS TRIGGER bodies_dispose_only;

CREATE TRIGGER openings_dispose_only BEFORE UPDATE OR DELETE ON evidence.record_openings
    FOR EACH ROW EXECUTE FUNCTION evidence.dispose_only();
CREATE TRIGGER openings_no_truncate BEFORE TRUNCATE ON evidence.record_openings
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
ALTER TABLE evidence.record_openings ENABLE ALWAYS TRIGGER openings_dispose_only;
ALTER TABLE evidence.record_openings ENABLE ALWAYS TRIGGER openings_no_truncate;

-- Legal holds are working state: placed and released (each mirrored by a record), they keep whatever
-- they cover from any disposal. A hold covers a person (staff member, student or guardian) or a message.
CREATE TABLE working.legal_holds (
    hold_id     TEXT PRIMARY KEY,
    case_name   TEXT NOT NULL,
    scope       TEXT NOT NULL,                -- person | message
    subject     TEXT NOT NULL,                -- a sourcedId, or a message id
    placed_by   TEXT NOT NULL,
    placed_at   TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT
);
CREATE INDEX legal_holds_in_force ON working.legal_holds(scope, subject) WHERE released_at IS NULL;
