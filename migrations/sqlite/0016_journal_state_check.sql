-- journal.state accepts only what db::journal::State knows (queued | done), as the
-- state columns of 0015 do. The table is built again with the CHECK (nothing refers
-- to it, so this runs in sqlx's transaction); a value no one knows becomes 'queued',
-- so that the message is analysed again rather than lost. It stays STRICT.
CREATE TABLE journal_new (
    id              INTEGER PRIMARY KEY,
    raw_sha256      TEXT    NOT NULL UNIQUE,
    raw_path        TEXT    NOT NULL,
    source          TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL DEFAULT 0,
    enqueued_at     INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done')),
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    message_ref     INTEGER NOT NULL DEFAULT 0,
    redo            INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO journal_new (id, raw_sha256, raw_path, source, received_at, enqueued_at, state, tries, next_attempt_at,
    last_error, message_ref, redo)
SELECT id, raw_sha256, raw_path, source, received_at, enqueued_at,
    CASE WHEN state IN ('queued', 'done') THEN state ELSE 'queued' END,
    tries, next_attempt_at, last_error, message_ref, redo
FROM journal;
DROP TABLE journal;
ALTER TABLE journal_new RENAME TO journal;
CREATE INDEX journal_state_next ON journal (state, next_attempt_at, id);
