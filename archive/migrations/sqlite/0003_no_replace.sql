-- INSERT OR REPLACE deletes the row it replaces without firing a DELETE trigger (unless the connection
-- turned recursive_triggers on, which the relay does and an intruder's sqlite3 shell need not): so a
-- record may only be inserted after the last one, a body already kept is never written again, and a
-- conversation's token is never reused.
CREATE TRIGGER IF NOT EXISTS records_append_at_end BEFORE INSERT ON records
WHEN NEW.seq <> -1 AND NEW.seq <= (SELECT COALESCE(MAX(seq), 0) FROM records)  -- -1: not given, the next
BEGIN SELECT RAISE(ABORT, 'archive records are append-only: a record goes after the last one'); END;
CREATE TRIGGER IF NOT EXISTS bodies_written_once BEFORE INSERT ON bodies
WHEN EXISTS (SELECT 1 FROM bodies WHERE digest = NEW.digest)
BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER IF NOT EXISTS conversations_token_once BEFORE INSERT ON conversations
WHEN EXISTS (SELECT 1 FROM conversations WHERE token = NEW.token)
BEGIN SELECT RAISE(ABORT, 'conversations are append-only: a token is opened once'); END;
