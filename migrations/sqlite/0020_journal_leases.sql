-- Journal leases (issue 25): an entry is claimed by one worker (`claimed_by`, a name
-- unique to the process) until `lease_until` (Unix seconds on the database's clock),
-- renewed while the worker works on it. An expired lease lets another worker take it.
ALTER TABLE journal ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
-- The oldest queued entries, by id: what a worker claims, and what an entry waits for
-- before it is decided (db::journal::ahead).
CREATE INDEX journal_state_id ON journal (state, id);
