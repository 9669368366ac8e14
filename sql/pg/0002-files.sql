-- Mirrors sql/0002-files.sql for PostgreSQL (see 0001 for the types).
-- files.key is the physical key "tenants/<tid>/<logical key>" (NFC).
-- SQLite's WITHOUT ROWID has no counterpart: the table is keyed by key
-- either way.

CREATE TABLE folders (
	id		TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name		TEXT COLLATE "C" NOT NULL,
	owner_id	TEXT COLLATE "C" REFERENCES users(id) ON DELETE SET NULL,
	created_at	BIGINT NOT NULL,
	updated_at	BIGINT NOT NULL
);
CREATE UNIQUE INDEX folders_tenant_name ON folders(tenant_id, name);

CREATE TABLE files (
	key		TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	size		BIGINT NOT NULL CHECK (size >= 0),
	content_type	TEXT COLLATE "C" NOT NULL,
	sha256		TEXT COLLATE "C" NOT NULL,
	acl		TEXT COLLATE "C" NOT NULL DEFAULT 'private'
			    CHECK (acl IN ('private', 'public')),
	owner_id	TEXT COLLATE "C" REFERENCES users(id) ON DELETE SET NULL,
	folder_id	TEXT COLLATE "C" REFERENCES folders(id) ON DELETE RESTRICT,
	created_at	BIGINT NOT NULL,
	updated_at	BIGINT NOT NULL
);
CREATE INDEX files_folder ON files(folder_id);
CREATE INDEX files_tenant ON files(tenant_id);
