-- Sending held per account after the SMTP server refused the login or TLS failed (PostgreSQL).
-- 530, 534, 535: a wrong or changed 授权码. Queued mail stays as it was (pending); sending
-- is tried again at next_try_at (every 30 minutes) or when a person runs
-- `baosong outbox flush`. One row per sending account, removed once the server
-- accepts the login again. `status` and the digest show it.
CREATE TABLE outbox_hold (
    account     TEXT    NOT NULL PRIMARY KEY,
    -- what went wrong and what to do, in Chinese
    reason      TEXT    NOT NULL DEFAULT '',
    since       BIGINT  NOT NULL DEFAULT 0,
    last_try_at BIGINT  NOT NULL DEFAULT 0,
    next_try_at BIGINT  NOT NULL DEFAULT 0
);
