-- A message's identity beyond its raw bytes: the SHA-256 of its kept attachments' SHA-256s (PostgreSQL).
-- The sorted set, one per line. A mail with the Message-ID of a recorded one is a
-- re-delivery only from the same sender with the same set; '' on rows recorded before
-- this column (their set is read from their items).
ALTER TABLE messages ADD COLUMN attachments_sha256 TEXT NOT NULL DEFAULT '';
-- items.status gains 'shared': a photo or video another department sent first in the
-- same month (flag shared_work); kept and listed, counted for the first sender only.
