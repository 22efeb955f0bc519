-- What examining a photo or video found (0 or '' when unknown) (PostgreSQL).
ALTER TABLE items ADD COLUMN width BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN height BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN duration_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN container TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN codec TEXT NOT NULL DEFAULT '';
-- EXIF DateTimeOriginal or the video's creation time, Unix seconds
ALTER TABLE items ADD COLUMN captured_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN camera TEXT NOT NULL DEFAULT '';
-- 64-bit perceptual hash, hex
ALTER TABLE items ADD COLUMN phash TEXT NOT NULL DEFAULT '';
-- variance of the Laplacian on the working copy, hundredths; -1 when not measured
ALTER TABLE items ADD COLUMN blur_centi BIGINT NOT NULL DEFAULT -1;
ALTER TABLE items ADD COLUMN thumb_path TEXT NOT NULL DEFAULT '';
-- the earlier item a near_duplicate or reused photo resembles
ALTER TABLE items ADD COLUMN similar_to BIGINT NOT NULL DEFAULT 0;
CREATE INDEX items_phash ON items (phash);
