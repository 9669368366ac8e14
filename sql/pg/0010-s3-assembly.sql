-- Mirrors sql/0010-s3-assembly.sql for PostgreSQL (see 0001 for the
-- types): S3 multipart parts written into one assembly file at their
-- final offsets (docs/s3api.md, "Performance").
ALTER TABLE s3_uploads ADD COLUMN assembly TEXT COLLATE "C";
ALTER TABLE s3_uploads ADD COLUMN part_size BIGINT;
ALTER TABLE s3_parts ADD COLUMN part_offset BIGINT NOT NULL DEFAULT 0;
CREATE INDEX s3_uploads_assembly ON s3_uploads(assembly);
