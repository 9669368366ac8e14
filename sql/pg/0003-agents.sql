-- Mirrors sql/0003-agents.sql for PostgreSQL (see 0001 for the types):
-- agents and their enrollment tokens (DESIGN §9). What the columns hold
-- is said there.

CREATE TABLE agents (
	id		TEXT COLLATE "C" PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name		TEXT COLLATE "C" NOT NULL,
	secret_hash	BYTEA NOT NULL UNIQUE,
	allowed_roots	TEXT COLLATE "C" NOT NULL,
	tunnel_hostname	TEXT COLLATE "C",
	tunnel_key	BYTEA,
	tunnel_enabled	BIGINT NOT NULL DEFAULT 0
			    CHECK (tunnel_enabled IN (0, 1)),
	created_at	BIGINT NOT NULL,
	last_seen_at	BIGINT,
	CHECK (tunnel_enabled = 0 OR
	    (tunnel_hostname IS NOT NULL AND tunnel_key IS NOT NULL))
);
CREATE INDEX agents_tenant ON agents(tenant_id);

CREATE TABLE agent_enroll_tokens (
	token_hash	BYTEA PRIMARY KEY,
	tenant_id	TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	created_at	BIGINT NOT NULL,
	expires_at	BIGINT NOT NULL,
	used_at		BIGINT,
	agent_id	TEXT COLLATE "C" REFERENCES agents(id) ON DELETE SET NULL
);
CREATE INDEX agent_enroll_tokens_tenant ON agent_enroll_tokens(tenant_id);
