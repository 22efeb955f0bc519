-- The intake journal: raw mail made durable (data/raw) and queued for analysis, in
-- the same transaction that moves the IMAP cursor past it. Workers take entries in
-- `id` order, analyse them and mark them done in the transaction that records the
-- message. An entry whose analysis fails waits `next_attempt_at` and is tried again,
-- up to a bounded number of tries; then its message is recorded as failed.
CREATE TABLE journal (
    id              INTEGER PRIMARY KEY,
    raw_sha256      TEXT    NOT NULL UNIQUE,
    raw_path        TEXT    NOT NULL,
    -- "imap:…/UID=7", "path/to/a.eml", "box.mbox#3"
    source          TEXT    NOT NULL DEFAULT '',
    -- INTERNALDATE when the source knows it; 0: read it from the headers
    received_at     INTEGER NOT NULL DEFAULT 0,
    enqueued_at     INTEGER NOT NULL,
    -- queued | done (the messages row says what became of it)
    state           TEXT    NOT NULL DEFAULT 'queued',
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    -- the messages row it became
    message_ref     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX journal_state_next ON journal (state, next_attempt_at, id);
