-- Identity, roles, permissions, API keys and sessions (DESIGN §4).
-- Ids are lower-case UUIDs; times are epoch seconds (INTEGER).

CREATE TABLE tenants (
	id		TEXT PRIMARY KEY,
	name		TEXT NOT NULL,
	created_at	INTEGER NOT NULL
);

CREATE TABLE users (
	id		TEXT PRIMARY KEY,
	email		TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash	TEXT,		-- NULL: cannot log in (API keys only)
	created_at	INTEGER NOT NULL
);

-- admin_access: the role may use admin-only endpoints (agents, ...).
CREATE TABLE roles (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,
	admin_access	INTEGER NOT NULL DEFAULT 0 CHECK (admin_access IN (0, 1)),
	created_at	INTEGER NOT NULL,
	UNIQUE (tenant_id, name)
);

CREATE TABLE memberships (
	user_id		TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	role_id		TEXT NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
	created_at	INTEGER NOT NULL,
	PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant ON memberships(tenant_id);

-- condition: the DSL JSON text, or NULL for "always".
CREATE TABLE permissions (
	id		INTEGER PRIMARY KEY,
	role_id		TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
	collection	TEXT NOT NULL CHECK (collection IN
			    ('system_files', 'system_folders', 'agent_files')),
	action		TEXT NOT NULL CHECK (action IN
			    ('create', 'read', 'update', 'delete')),
	condition	TEXT
);
CREATE INDEX permissions_role ON permissions(role_id, collection, action);

-- key_hash: SHA-256 of the whole "fs_..." key. The key itself is never
-- stored.
CREATE TABLE api_keys (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	user_id		TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name		TEXT NOT NULL DEFAULT '',
	key_hash	BLOB NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL,
	revoked_at	INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

-- token_hash: SHA-256 of the cookie value.
CREATE TABLE sessions (
	token_hash	BLOB PRIMARY KEY,
	user_id		TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);
