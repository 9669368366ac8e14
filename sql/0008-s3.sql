-- The S3-compatible endpoint (issue 24, docs/s3api.md).
--
-- s3_keys: SigV4 credentials. access_key_id is public ("FS" and 18 of
-- A-Z2-7); the secret is needed in the clear to verify a signature, so it
-- is kept sealed: AES-256-GCM under the agent key-encryption key derived
-- from AUTH_SECRET, with "s3:<access key id>" as associated data, so a
-- sealed secret opens only on its own row (nonce 12 || ct 32 || tag 16).
-- Like api_keys, a key belongs to one member (tenant, user) whose
-- permissions apply to every S3 call.
CREATE TABLE s3_keys (
	access_key_id	TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	user_id		TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name		TEXT NOT NULL DEFAULT '',
	secret_sealed	BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	revoked_at	INTEGER
);
CREATE INDEX s3_keys_tenant ON s3_keys(tenant_id);

-- files.md5: the S3 ETag of an object written through /s3 (the MD5 of a
-- single PUT, "md5-of-md5s-N" of a multipart upload), beside sha256.
-- files.meta: its x-amz-meta-* user metadata, a JSON object. Both go
-- when the bytes are replaced by a write that does not set them (a REST
-- PUT, a tus upload): any update of sha256.
ALTER TABLE files ADD COLUMN md5 TEXT;
ALTER TABLE files ADD COLUMN meta TEXT;
CREATE TRIGGER files_s3_reset AFTER UPDATE OF sha256 ON files
BEGIN
	UPDATE files SET md5 = NULL, meta = NULL WHERE key = NEW.key;
END;

-- Multipart uploads: the upload, then its parts, each a temporary object
-- of the store (pending, like files.pending) until Complete concatenates
-- them into one published object, or Abort drops them.
CREATE TABLE s3_uploads (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	user_id		TEXT NOT NULL,
	key		TEXT NOT NULL,
	content_type	TEXT NOT NULL,
	meta		TEXT,
	created_at	INTEGER NOT NULL
);
CREATE INDEX s3_uploads_key ON s3_uploads(tenant_id, key);

CREATE TABLE s3_parts (
	upload_id	TEXT NOT NULL REFERENCES s3_uploads(id) ON DELETE CASCADE,
	part_number	INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
	size		INTEGER NOT NULL,
	md5		TEXT NOT NULL,
	pending		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE INDEX s3_parts_pending ON s3_parts(pending);
