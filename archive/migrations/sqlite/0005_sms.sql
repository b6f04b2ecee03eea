-- The SMS channel. Each queued copy says how it goes (e-mail or SMS).
ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';

-- Masked-number sessions (working state): who talks to whom through which relay number. A participant's
-- phone and the relay number name at most one active session (checked when a session is opened).
CREATE TABLE IF NOT EXISTS sms_sessions (
    session_id   TEXT PRIMARY KEY,
    relay_number TEXT NOT NULL,
    staff_id     TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    opened_at    REAL NOT NULL,
    last_active  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_participants (
    session_id   TEXT NOT NULL,
    relay_number TEXT NOT NULL,
    phone        TEXT NOT NULL,
    person_id    TEXT NOT NULL,
    PRIMARY KEY (session_id, phone, person_id)
);
CREATE INDEX IF NOT EXISTS sms_participants_by_phone ON sms_participants(phone, relay_number);

-- STOP and START, per recipient and relay number, as the carriers keep them.
CREATE TABLE IF NOT EXISTS sms_opt_outs (
    phone        TEXT NOT NULL,
    relay_number TEXT NOT NULL,
    opted_out    INTEGER NOT NULL,
    changed_at   REAL NOT NULL,
    PRIMARY KEY (phone, relay_number)
);

-- The provider's id of every text received: a webhook delivered twice is taken once.
CREATE TABLE IF NOT EXISTS received_texts (
    provider_id TEXT PRIMARY KEY,
    message_id  TEXT
);

-- When each relay number may send next (a US long code sends about one segment a second): shared by every
-- relay process, so that together they never push a burst into the provider's queue.
CREATE TABLE IF NOT EXISTS sms_send_slots (
    relay_number TEXT PRIMARY KEY,
    next_at      REAL NOT NULL
);
