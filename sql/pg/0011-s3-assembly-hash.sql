-- Mirrors sql/0011-s3-assembly-hash.sql for PostgreSQL (see 0001 for the
-- types): the SHA-256 of an upload's assembly file so far
-- (docs/s3api.md, "Performance").
ALTER TABLE s3_uploads ADD COLUMN hash_off BIGINT NOT NULL DEFAULT 0;
ALTER TABLE s3_uploads ADD COLUMN hash_state TEXT COLLATE "C";
