-- Mirrors sql/0009-upload-parts.sql for PostgreSQL (see 0001 for the
-- types): a resumable upload's running SHA-256 and the S3 parts it has
-- sent (issue 16, docs/uploads.md).
ALTER TABLE uploads ADD COLUMN sha_state TEXT COLLATE "C";

CREATE TABLE upload_parts (
	upload_id	TEXT COLLATE "C" NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
	part_number	BIGINT NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
	size		BIGINT NOT NULL CHECK (size > 0),
	etag		TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);
