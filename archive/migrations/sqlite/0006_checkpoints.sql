-- Signed tree heads (archive.checkpoints): evidence, append-only like the records they sign.
CREATE TABLE IF NOT EXISTS checkpoints (
    size      INTEGER PRIMARY KEY,           -- the tree size signed; one checkpoint per size
    root      BLOB NOT NULL,
    signed_at TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_replace BEFORE INSERT ON checkpoints
WHEN NEW.size <= (SELECT COALESCE(MAX(size), -1) FROM checkpoints)
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: a checkpoint signs a larger tree than the last'); END;
