-- JPEG renditions of photos, people's decisions kept by reprocess, and redo journal entries (PostgreSQL).
-- A JPEG rendition of a photo Windows cannot open itself (HEIC): stored under
-- renditions/, filed in the tree next to the original as "<tree name>.jpg".
ALTER TABLE items ADD COLUMN rendition_path TEXT NOT NULL DEFAULT '';

-- What people decided, which `reprocess` keeps: 'approved' when a held message was
-- approved for its department (reassign is cycle_rule 'manual'; a dismissal is the
-- disposition 'dismissed').
ALTER TABLE messages ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
-- 1 when a person chose the item's category (recategorize).
ALTER TABLE items ADD COLUMN category_manual BIGINT NOT NULL DEFAULT 0;
-- 1 for an entry that decides its recorded message (message_ref) again by the current
-- rules (`reprocess`); such entries go through the same workers as new mail.
ALTER TABLE journal ADD COLUMN redo BIGINT NOT NULL DEFAULT 0;
