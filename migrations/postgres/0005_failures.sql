-- What went wrong, for a message refused as processing_failed or recorded as failed (PostgreSQL).
-- processing_failed: a panic's message; failed: its analysis failed every time it was
-- tried, the last error.
ALTER TABLE messages ADD COLUMN detail TEXT NOT NULL DEFAULT '';
