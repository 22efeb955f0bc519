-- 超大附件 (issue 19): the files that arrive as QQ or 163 links, a queue of their own
-- beside the journal. One row per link of a counted package (held mail gets its rows
-- when it is approved; refused mail never does). A download claims a row with a lease;
-- when the file is in, the row says where its original is (raw/ab/<sha256>.orig, kept
-- like raw mail: reprocess reads it, verify checks it by its hash) and the message is
-- queued in the journal to be recorded again, in the transaction that ends the row.
CREATE TABLE links (
    id              INTEGER PRIMARY KEY,
    message_ref     INTEGER NOT NULL REFERENCES messages (id),
    url             TEXT    NOT NULL,
    -- qq | 163
    provider        TEXT    NOT NULL,
    -- the name and size the mail's caption gives (size 0: not given)
    name            TEXT    NOT NULL DEFAULT '',
    caption_size    INTEGER NOT NULL DEFAULT 0,
    -- when the provider deletes the file: the caption's date, or an estimate
    expires_at      INTEGER NOT NULL DEFAULT 0,
    expiry_guessed  INTEGER NOT NULL DEFAULT 0 CHECK (expiry_guessed IN (0, 1)),
    state           TEXT    NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'fetched', 'needs_office', 'taken_in', 'expired')),
    tries           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    -- a download in progress holds the row until then (renewed while it runs)
    lease_until     INTEGER NOT NULL DEFAULT 0,
    -- why it failed, last: a stable code and the Chinese words
    reason_code     TEXT    NOT NULL DEFAULT '',
    detail          TEXT    NOT NULL DEFAULT '',
    -- the file, once in
    sha256          TEXT    NOT NULL DEFAULT '',
    original_path   TEXT    NOT NULL DEFAULT '',
    file_name       TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    done_at         INTEGER NOT NULL DEFAULT 0,
    -- who took it in by hand ('' when fetched)
    taken_in_by     TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    UNIQUE (message_ref, url)
) STRICT;
CREATE INDEX links_due ON links (state, next_attempt_at);
CREATE INDEX links_url ON links (url);
