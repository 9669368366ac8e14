-- Mirrors sql/0007-uploads.sql for PostgreSQL (see 0001 for the types):
-- resumable uploads in progress (tus 1.0, issue 16; docs/uploads.md).
CREATE TABLE uploads (
	id		TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	creator_id	TEXT COLLATE "C" NOT NULL,
	key		TEXT COLLATE "C" NOT NULL,
	length		BIGINT CHECK (length IS NULL OR length >= 0),
	upload_offset	BIGINT NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
	expires_at	BIGINT NOT NULL,
	metadata	TEXT COLLATE "C" NOT NULL,
	content_type	TEXT COLLATE "C" NOT NULL,
	folder_id	TEXT COLLATE "C",
	store_state	TEXT COLLATE "C",
	created_at	BIGINT NOT NULL
);
CREATE INDEX uploads_expires ON uploads(expires_at);
