-- Every outbound mail, written before it is sent. `key` makes each one unique:
-- receipt:<message id>, digest:<date>, reminder:<department>:<cycle>:<step>.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    department      TEXT    NOT NULL DEFAULT '',
    cycle           TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    cc              TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL,
    -- the whole RFC 5322 message, so that a retry sends the very same bytes
    body            TEXT    NOT NULL,
    -- pending | sending | sent | failed
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- times a send was cut off between handing the mail over and recording it
    interrupted     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_state_next ON outbox (state, next_attempt_at);

-- Deadline extensions granted with `baosong extend`.
CREATE TABLE extensions (
    department TEXT    NOT NULL,
    cycle      TEXT    NOT NULL,
    -- the last day (local) the package counts as on time, YYYY-MM-DD
    until_date TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (department, cycle)
);
