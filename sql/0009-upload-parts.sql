-- Resumable uploads keep their running SHA-256 and, on S3, send each part
-- as soon as it is whole (issue 16, docs/uploads.md).
--
-- uploads.sha_state: the SHA-256 of the upload's first upload_offset
-- bytes, in progress (common/shastate.h), so the last PATCH knows the
-- object's sha256 without reading it again. NULL for none yet (a new
-- upload). uploads.store_state names the store's multipart upload
-- (store.h, store_mp_begin) once the first part goes.
--
-- upload_parts: the parts of that multipart upload sent so far, each
-- S3_PART_BYTES of the upload in order (part 1 holds bytes [0, size));
-- the stage on disk keeps only the bytes after them.
ALTER TABLE uploads ADD COLUMN sha_state TEXT;

CREATE TABLE upload_parts (
	upload_id	TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
	part_number	INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
	size		INTEGER NOT NULL CHECK (size > 0),
	etag		TEXT NOT NULL,
	PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
