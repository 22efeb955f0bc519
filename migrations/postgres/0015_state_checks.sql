-- Each state column accepts only the values its enum in db/ knows (messages, items, outbox) (PostgreSQL).
-- messages.disposition, cycle_rule and decided_by; items.status and kind; outbox.state.
-- SQLite rebuilt each table to add its CHECKs; PostgreSQL adds them in place, so rows,
-- ids, column order, indexes and the foreign keys that point at these tables stay as
-- they are, and the whole file runs in the migration's own transaction. As in SQLite, a
-- value no enum knows first becomes one that a person looks at: a message held, an item
-- refused, a mail failed.
UPDATE messages SET disposition = 'held'
    WHERE disposition NOT IN ('package', 'held', 'unrelated', 'correspondence', 'rejected', 'dismissed', 'failed');
UPDATE messages SET cycle_rule = ''
    WHERE cycle_rule NOT IN ('named', 'received', 'rolled_over', 'manual', '');
UPDATE messages SET decided_by = ''
    WHERE decided_by NOT IN ('', 'approved');
ALTER TABLE messages
    ADD CONSTRAINT messages_disposition_check
        CHECK (disposition IN ('package', 'held', 'unrelated', 'correspondence', 'rejected', 'dismissed', 'failed')),
    ADD CONSTRAINT messages_cycle_rule_check
        CHECK (cycle_rule IN ('named', 'received', 'rolled_over', 'manual', '')),
    ADD CONSTRAINT messages_decided_by_check
        CHECK (decided_by IN ('', 'approved'));

UPDATE items SET status = 'rejected'
    WHERE status NOT IN ('accepted', 'duplicate', 'shared', 'rejected', 'decoration');
UPDATE items SET kind = ''
    WHERE kind NOT IN ('photo', 'video', 'document', 'link', '');
ALTER TABLE items
    ADD CONSTRAINT items_status_check
        CHECK (status IN ('accepted', 'duplicate', 'shared', 'rejected', 'decoration')),
    ADD CONSTRAINT items_kind_check
        CHECK (kind IN ('photo', 'video', 'document', 'link', ''));

UPDATE outbox SET state = 'failed'
    WHERE state NOT IN ('pending', 'sending', 'sent', 'failed');
ALTER TABLE outbox
    ADD CONSTRAINT outbox_state_check
        CHECK (state IN ('pending', 'sending', 'sent', 'failed'));
