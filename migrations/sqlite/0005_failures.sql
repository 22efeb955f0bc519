-- What went wrong, for a message refused as processing_failed (a panic's message) or
-- recorded as failed (its analysis failed every time it was tried: the last error).
ALTER TABLE messages ADD COLUMN detail TEXT NOT NULL DEFAULT '';
