-- Resumable uploads (tus 1.0, issue 16; docs/uploads.md). One row per
-- upload in progress: whose it is (tenant and creator: anyone else gets
-- 404), where it goes (key: the physical key), how far it got (offset:
-- bytes made durable), how long it may take (expires_at), what the client
-- said (metadata: the Upload-Metadata header as sent, echoed by HEAD;
-- content_type and folder_id from it), and the storage adapter's state of
-- it (store_state: on S3 the multipart upload id and its parts). The bytes
-- wait in <data dir>/.uploads/<id>. length is NULL until a client that
-- deferred it says it.
CREATE TABLE uploads (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	creator_id	TEXT NOT NULL,
	key		TEXT NOT NULL,
	length		INTEGER CHECK (length IS NULL OR length >= 0),
	upload_offset	INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
	expires_at	INTEGER NOT NULL,
	metadata	TEXT NOT NULL,
	content_type	TEXT NOT NULL,
	folder_id	TEXT,
	store_state	TEXT,
	created_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_expires ON uploads(expires_at);
