-- The office console (issue 12): accounts and their sessions.

-- One row per person who may open the console. `password_hash` is an argon2id PHC
-- string; `role` is viewer | staff | admin.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL DEFAULT ''
) STRICT;

-- A logged-in browser. The cookie carries a random token; only its SHA-256 is kept.
-- `csrf` is the token every POST of this session must carry.
CREATE TABLE sessions (
    token_sha256 TEXT    PRIMARY KEY,
    user_ref     INTEGER NOT NULL REFERENCES users (id),
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_ref);
