-- no-transaction
-- Each state column accepts only the values its enum in db/ knows (messages.disposition,
-- cycle_rule and decided_by; items.status and kind; outbox.state). SQLite cannot add a
-- CHECK with ALTER TABLE, so each table is built again its way: a new table with the
-- CHECKs, the rows copied with an explicit column list (a value no enum knows becomes
-- one that a person looks at: a message held, an item refused, a mail failed), the old
-- table dropped, the new one renamed, the indexes made again. Rows keep their ids, so
-- items.message_ref, links.message_ref and adoptions' references stay as they were.
--
-- Foreign keys are off while the tables are swapped: with them on, dropping messages
-- would delete it under its items, and renaming would repoint the references to the
-- old table. PRAGMA foreign_keys does nothing inside a transaction, which is why this
-- file runs outside sqlx's and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE messages_new (
    id                 INTEGER PRIMARY KEY,
    raw_sha256         TEXT    NOT NULL UNIQUE,
    message_id         TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL DEFAULT '',
    from_addr          TEXT    NOT NULL DEFAULT '',
    subject            TEXT    NOT NULL DEFAULT '',
    received_at        INTEGER NOT NULL,
    processed_at       INTEGER NOT NULL,
    disposition        TEXT    NOT NULL
        CHECK (disposition IN ('package', 'held', 'unrelated', 'correspondence', 'rejected', 'dismissed', 'failed')),
    department         TEXT    NOT NULL DEFAULT '',
    cycle              TEXT    NOT NULL DEFAULT '',
    cycle_rule         TEXT    NOT NULL DEFAULT ''
        CHECK (cycle_rule IN ('named', 'received', 'rolled_over', 'manual', '')),
    sent_on_behalf     INTEGER NOT NULL DEFAULT 0,
    guessed_department TEXT    NOT NULL DEFAULT '',
    reason_code        TEXT    NOT NULL DEFAULT '',
    raw_path           TEXT    NOT NULL DEFAULT '',
    flags              TEXT    NOT NULL DEFAULT '',
    detail             TEXT    NOT NULL DEFAULT '',
    attachments_sha256 TEXT    NOT NULL DEFAULT '',
    decided_by         TEXT    NOT NULL DEFAULT ''
        CHECK (decided_by IN ('', 'approved'))
);
INSERT INTO messages_new (id, raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition,
    department, cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail,
    attachments_sha256, decided_by)
SELECT id, raw_sha256, message_id, source, from_addr, subject, received_at, processed_at,
    CASE WHEN disposition IN ('package', 'held', 'unrelated', 'correspondence', 'rejected', 'dismissed', 'failed')
         THEN disposition ELSE 'held' END,
    department, cycle,
    CASE WHEN cycle_rule IN ('named', 'received', 'rolled_over', 'manual', '') THEN cycle_rule ELSE '' END,
    sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail, attachments_sha256,
    CASE WHEN decided_by IN ('', 'approved') THEN decided_by ELSE '' END
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_department_cycle ON messages (department, cycle);
CREATE INDEX messages_cycle_disposition ON messages (cycle, disposition);

CREATE TABLE items_new (
    id               INTEGER PRIMARY KEY,
    message_ref      INTEGER NOT NULL REFERENCES messages (id),
    status           TEXT    NOT NULL
        CHECK (status IN ('accepted', 'duplicate', 'shared', 'rejected', 'decoration')),
    kind             TEXT    NOT NULL DEFAULT ''
        CHECK (kind IN ('photo', 'video', 'document', 'link', '')),
    category         TEXT    NOT NULL DEFAULT 'uncategorized',
    shown_name       TEXT    NOT NULL DEFAULT '',
    file_name        TEXT    NOT NULL DEFAULT '',
    size             INTEGER NOT NULL DEFAULT 0,
    sha256           TEXT    NOT NULL DEFAULT '',
    mime             TEXT    NOT NULL DEFAULT '',
    blob_path        TEXT    NOT NULL DEFAULT '',
    tree_path        TEXT    NOT NULL DEFAULT '',
    rejection_code   TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    flags            TEXT    NOT NULL DEFAULT '',
    url              TEXT    NOT NULL DEFAULT '',
    expires_at       INTEGER NOT NULL DEFAULT 0,
    duplicate_of     INTEGER NOT NULL DEFAULT 0,
    width            INTEGER NOT NULL DEFAULT 0,
    height           INTEGER NOT NULL DEFAULT 0,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    container        TEXT    NOT NULL DEFAULT '',
    codec            TEXT    NOT NULL DEFAULT '',
    captured_at      INTEGER NOT NULL DEFAULT 0,
    camera           TEXT    NOT NULL DEFAULT '',
    phash            TEXT    NOT NULL DEFAULT '',
    blur_centi       INTEGER NOT NULL DEFAULT -1,
    thumb_path       TEXT    NOT NULL DEFAULT '',
    similar_to       INTEGER NOT NULL DEFAULT 0,
    rendition_path   TEXT    NOT NULL DEFAULT '',
    category_manual  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO items_new (id, message_ref, status, kind, category, shown_name, file_name, size, sha256, mime, blob_path,
    tree_path, rejection_code, reason, flags, url, expires_at, duplicate_of, width, height, duration_ms, container, codec,
    captured_at, camera, phash, blur_centi, thumb_path, similar_to, rendition_path, category_manual)
SELECT id, message_ref,
    CASE WHEN status IN ('accepted', 'duplicate', 'shared', 'rejected', 'decoration') THEN status ELSE 'rejected' END,
    CASE WHEN kind IN ('photo', 'video', 'document', 'link', '') THEN kind ELSE '' END,
    category, shown_name, file_name, size, sha256, mime, blob_path, tree_path, rejection_code, reason, flags, url,
    expires_at, duplicate_of, width, height, duration_ms, container, codec, captured_at, camera, phash, blur_centi,
    thumb_path, similar_to, rendition_path, category_manual
FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_message ON items (message_ref);
CREATE INDEX items_sha256 ON items (sha256);
CREATE INDEX items_tree_path ON items (tree_path);
CREATE INDEX items_phash ON items (phash);

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    department      TEXT    NOT NULL DEFAULT '',
    cycle           TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    cc              TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    interrupted     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_new (id, key, kind, department, cycle, message_id, recipients, cc, subject, body, state, attempts,
    interrupted, next_attempt_at, last_error, created_at, sent_at)
SELECT id, key, kind, department, cycle, message_id, recipients, cc, subject, body,
    CASE WHEN state IN ('pending', 'sending', 'sent', 'failed') THEN state ELSE 'failed' END,
    attempts, interrupted, next_attempt_at, last_error, created_at, sent_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_state_next ON outbox (state, next_attempt_at);

COMMIT;
PRAGMA foreign_keys = ON;
