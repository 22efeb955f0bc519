-- One row per message seen, whatever became of it. Times are Unix seconds.
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    raw_sha256         TEXT    NOT NULL UNIQUE,
    message_id         TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL DEFAULT '',
    from_addr          TEXT    NOT NULL DEFAULT '',
    subject            TEXT    NOT NULL DEFAULT '',
    received_at        INTEGER NOT NULL,
    processed_at       INTEGER NOT NULL,
    -- package | held | unrelated | correspondence | rejected | dismissed
    disposition        TEXT    NOT NULL,
    department         TEXT    NOT NULL DEFAULT '',
    cycle              TEXT    NOT NULL DEFAULT '',
    -- named | received | rolled_over | manual
    cycle_rule         TEXT    NOT NULL DEFAULT '',
    sent_on_behalf     INTEGER NOT NULL DEFAULT 0,
    guessed_department TEXT    NOT NULL DEFAULT '',
    reason_code        TEXT    NOT NULL DEFAULT '',
    raw_path           TEXT    NOT NULL DEFAULT '',
    flags              TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_department_cycle ON messages (department, cycle);
CREATE INDEX messages_cycle_disposition ON messages (cycle, disposition);

-- One row per file, refused file or external link found in a message.
CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    message_ref    INTEGER NOT NULL REFERENCES messages (id),
    -- accepted | duplicate | rejected
    status         TEXT    NOT NULL,
    -- photo | video | document | link, or '' when refused before typing
    kind           TEXT    NOT NULL DEFAULT '',
    -- '1' … '10' or 'uncategorized'
    category       TEXT    NOT NULL DEFAULT 'uncategorized',
    shown_name     TEXT    NOT NULL DEFAULT '',
    file_name      TEXT    NOT NULL DEFAULT '',
    size           INTEGER NOT NULL DEFAULT 0,
    sha256         TEXT    NOT NULL DEFAULT '',
    mime           TEXT    NOT NULL DEFAULT '',
    blob_path      TEXT    NOT NULL DEFAULT '',
    tree_path      TEXT    NOT NULL DEFAULT '',
    rejection_code TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL DEFAULT '',
    flags          TEXT    NOT NULL DEFAULT '',
    url            TEXT    NOT NULL DEFAULT '',
    expires_at     INTEGER NOT NULL DEFAULT 0,
    duplicate_of   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_message ON items (message_ref);
CREATE INDEX items_sha256 ON items (sha256);
CREATE INDEX items_tree_path ON items (tree_path);

-- Senders the office approved with --remember-sender, on top of the roster file.
CREATE TABLE remembered_senders (
    address       TEXT    NOT NULL PRIMARY KEY,
    department    TEXT    NOT NULL,
    remembered_at INTEGER NOT NULL
);
