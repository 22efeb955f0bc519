-- Where each watched IMAP folder has been read up to. Advanced in the same
-- transaction as the records of the message at last_uid.
CREATE TABLE imap_cursors (
    account                 TEXT    NOT NULL,
    folder                  TEXT    NOT NULL,
    uid_validity            INTEGER NOT NULL,
    last_uid                INTEGER NOT NULL DEFAULT 0,
    skipped_before_backfill INTEGER NOT NULL DEFAULT 0,
    updated_at              INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder)
);

-- The mailbox's health, for `status` and the digest.
CREATE TABLE mailbox_health (
    account       TEXT    NOT NULL PRIMARY KEY,
    last_ok_at    INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    last_error_at INTEGER NOT NULL DEFAULT 0
);
