-- IMAP read cursors and mailbox health (PostgreSQL).
-- Where each watched IMAP folder has been read up to. Advanced in the same
-- transaction as the records of the message at last_uid.
CREATE TABLE imap_cursors (
    account                 TEXT    NOT NULL,
    folder                  TEXT    NOT NULL,
    uid_validity            BIGINT  NOT NULL,
    last_uid                BIGINT  NOT NULL DEFAULT 0,
    skipped_before_backfill BIGINT  NOT NULL DEFAULT 0,
    updated_at              BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder)
);

-- The mailbox's health, for `status` and the digest.
CREATE TABLE mailbox_health (
    account       TEXT    NOT NULL PRIMARY KEY,
    last_ok_at    BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    last_error_at BIGINT  NOT NULL DEFAULT 0
);
