-- Files and folders (DESIGN §5).
-- files.key is the physical key "tenants/<tid>/<logical key>" (NFC).
-- folders.owner_id is not in DESIGN §5: it lets the owner-scoped
-- "authenticated" role manage its own folders (docs/decisions.md).

CREATE TABLE folders (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,
	owner_id	TEXT REFERENCES users(id) ON DELETE SET NULL,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE UNIQUE INDEX folders_tenant_name ON folders(tenant_id, name);

CREATE TABLE files (
	key		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	size		INTEGER NOT NULL CHECK (size >= 0),
	content_type	TEXT NOT NULL,
	sha256		TEXT NOT NULL,
	acl		TEXT NOT NULL DEFAULT 'private'
			    CHECK (acl IN ('private', 'public')),
	owner_id	TEXT REFERENCES users(id) ON DELETE SET NULL,
	folder_id	TEXT REFERENCES folders(id) ON DELETE RESTRICT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX files_folder ON files(folder_id);
CREATE INDEX files_tenant ON files(tenant_id);
