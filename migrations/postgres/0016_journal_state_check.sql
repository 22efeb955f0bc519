-- journal.state accepts only what db::journal::State knows (queued | done), as the state columns of 0015 do (PostgreSQL).
-- SQLite rebuilt the table; PostgreSQL adds the CHECK in place. A value no one knows
-- first becomes 'queued', so that the message is analysed again rather than lost.
UPDATE journal SET state = 'queued'
    WHERE state NOT IN ('queued', 'done');
ALTER TABLE journal
    ADD CONSTRAINT journal_state_check CHECK (state IN ('queued', 'done'));
