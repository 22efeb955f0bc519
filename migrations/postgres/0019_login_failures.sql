-- Console login failures (issue 25), kept in the database so that console instances on one database share the limit (PostgreSQL).
-- `key` is 'ip:<address>' or 'user:<name>'; `at` when the login failed (Unix seconds).
-- Rows older than the window are deleted as failures are added.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
