-- Mirrors sql/0008-s3.sql for PostgreSQL (see 0001 for the types): the
-- S3-compatible endpoint (issue 24, docs/s3api.md), what the columns hold
-- is said there.
CREATE TABLE s3_keys (
	access_key_id	TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	user_id		TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name		TEXT COLLATE "C" NOT NULL DEFAULT '',
	secret_sealed	BYTEA NOT NULL,
	created_at	BIGINT NOT NULL,
	revoked_at	BIGINT
);
CREATE INDEX s3_keys_tenant ON s3_keys(tenant_id);

-- files.md5, files.meta: the S3 ETag and x-amz-meta-* of an object
-- written through /s3. Both go on any update of sha256. SQLite's trigger
-- runs after the update and clears them with a second UPDATE; here a
-- BEFORE trigger clears them in the row being written, with the same
-- net effect: an UPDATE (or upsert) that sets sha256 leaves md5 and meta
-- NULL, even if it sets them too (s3.c sets them in a later UPDATE,
-- common/files.c file_s3_set).
ALTER TABLE files ADD COLUMN md5 TEXT COLLATE "C";
ALTER TABLE files ADD COLUMN meta TEXT COLLATE "C";
CREATE FUNCTION files_s3_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.md5 := NULL;
	NEW.meta := NULL;
	RETURN NEW;
END;
$$;
CREATE TRIGGER files_s3_reset BEFORE UPDATE OF sha256 ON files
	FOR EACH ROW EXECUTE FUNCTION files_s3_reset();

-- Multipart uploads and their parts (pending objects until Complete).
CREATE TABLE s3_uploads (
	id		TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	user_id		TEXT COLLATE "C" NOT NULL,
	key		TEXT COLLATE "C" NOT NULL,
	content_type	TEXT COLLATE "C" NOT NULL,
	meta		TEXT COLLATE "C",
	created_at	BIGINT NOT NULL
);
CREATE INDEX s3_uploads_key ON s3_uploads(tenant_id, key);

CREATE TABLE s3_parts (
	upload_id	TEXT COLLATE "C" NOT NULL REFERENCES s3_uploads(id) ON DELETE CASCADE,
	part_number	BIGINT NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
	size		BIGINT NOT NULL,
	md5		TEXT COLLATE "C" NOT NULL,
	pending		TEXT COLLATE "C" NOT NULL,
	created_at	BIGINT NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);
CREATE INDEX s3_parts_pending ON s3_parts(pending);
