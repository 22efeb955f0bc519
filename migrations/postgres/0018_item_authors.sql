-- Who made each work (issue 23): one row per author of an item, in the order named (PostgreSQL).
-- A work by several people is shared evenly among its rows (the share is 1/rows, never
-- stored, so it cannot disagree with them). An item without rows is 未署名.
-- `source` is how the author was found: a person assigned them ('manual', kept by
-- reprocess), a name in the file or folder name, the photo's EXIF, or the sender.
-- A person is known by `number` (警号) when the roster gives one, else by `name` within
-- `department`, which is the department the work was sent under: past credit stays
-- there when the person moves.
CREATE TABLE item_authors (
    item_ref    BIGINT  NOT NULL REFERENCES items (id) DEFERRABLE INITIALLY IMMEDIATE,
    position    BIGINT  NOT NULL DEFAULT 0,
    name        TEXT    NOT NULL,
    number      TEXT    NOT NULL DEFAULT '',
    department  TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL CHECK (source IN ('manual', 'file_name', 'exif', 'sender')),
    PRIMARY KEY (item_ref, position)
);

CREATE INDEX item_authors_by_number ON item_authors (number) WHERE number <> '';
CREATE INDEX item_authors_by_name ON item_authors (department, name);
