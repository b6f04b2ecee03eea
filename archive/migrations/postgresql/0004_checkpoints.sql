-- Signed tree heads (archive.checkpoints): evidence, append-only like the records they sign.
CREATE TABLE evidence.checkpoints (
    size      BIGINT PRIMARY KEY,
    root      BYTEA NOT NULL,
    signed_at TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BYTEA NOT NULL
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON evidence.checkpoints
    FOR EACH ROW EXECUTE FUNCTION evidence.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON evidence.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION evidence.refuse_change();
ALTER TABLE evidence.checkpoints ENABLE ALWAYS TRIGGER checkpoints_append_only;
ALTER TABLE evidence.checkpoints ENABLE ALWAYS TRIGGER checkpoints_no_truncate;
