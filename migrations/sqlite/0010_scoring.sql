-- Scoring (issue 13). Dates of adoptions and ledger entries are calendar days
-- (TEXT 'YYYY-MM-DD', local time); every recorded-at time is Unix seconds.

-- One row per recorded use (采用) of a submitted photo or video. `work_ref` is the
-- original item the adopted copy resolves to (through near_duplicate, reused and
-- shared_work links); a work scores once, at its highest level.
CREATE TABLE adoptions (
    id          INTEGER PRIMARY KEY,
    item_ref    INTEGER NOT NULL REFERENCES items (id),
    work_ref    INTEGER NOT NULL REFERENCES items (id),
    -- banner | city | province
    level       TEXT    NOT NULL,
    adopted_on  TEXT    NOT NULL,
    channel     TEXT    NOT NULL DEFAULT '',
    url         TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX adoptions_work ON adoptions (work_ref);
CREATE INDEX adoptions_on ON adoptions (adopted_on);

-- Points that do not come through the mailbox: 矩阵响应 deductions, awards, cases …
-- `points_centi` is the value as entered, in hundredths; `doubled` marks a case that
-- caused negative public opinion (the rubric doubles it).
CREATE TABLE score_entries (
    id           INTEGER PRIMARY KEY,
    department   TEXT    NOT NULL,
    item         TEXT    NOT NULL,
    points_centi INTEGER NOT NULL,
    doubled      INTEGER NOT NULL DEFAULT 0,
    entry_on     TEXT    NOT NULL,
    work         TEXT    NOT NULL DEFAULT '',
    note         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX score_entries_on ON score_entries (entry_on);

-- Every manual change, written in the same transaction as the change itself.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    who     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL DEFAULT '',
    before  TEXT    NOT NULL DEFAULT '',
    after   TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_at ON audit (at);
