-- Agents and their enrollment tokens (DESIGN §9).
--
-- secret_hash: SHA-256 of the agent secret ("fsa_..."), shown once at
-- enrollment. allowed_roots: JSON array of absolute, normalized paths.
-- tunnel_hostname: as the admin gave it, lower-cased (a bare DNS name, or
-- an origin http(s)://host[:port]); it is kept when the tunnel is
-- disabled so that the admin sees what it was.
-- tunnel_key: the 32-byte signing key, AES-256-GCM under a key derived
-- from AUTH_SECRET (common/agent.c): nonce (12) || ciphertext (32) ||
-- tag (16). NULL while the tunnel is disabled.

CREATE TABLE agents (
	id		TEXT PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	name		TEXT NOT NULL,
	secret_hash	BLOB NOT NULL UNIQUE,
	allowed_roots	TEXT NOT NULL,
	tunnel_hostname	TEXT,
	tunnel_key	BLOB,
	tunnel_enabled	INTEGER NOT NULL DEFAULT 0
			    CHECK (tunnel_enabled IN (0, 1)),
	created_at	INTEGER NOT NULL,
	last_seen_at	INTEGER,
	CHECK (tunnel_enabled = 0 OR
	    (tunnel_hostname IS NOT NULL AND tunnel_key IS NOT NULL))
);
CREATE INDEX agents_tenant ON agents(tenant_id);

-- token_hash: SHA-256 of the one-time token ("fse_..."). used_at and
-- agent_id are set by the enrollment that spends it.
CREATE TABLE agent_enroll_tokens (
	token_hash	BLOB PRIMARY KEY,
	tenant_id	TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	used_at		INTEGER,
	agent_id	TEXT REFERENCES agents(id) ON DELETE SET NULL
);
CREATE INDEX agent_enroll_tokens_tenant ON agent_enroll_tokens(tenant_id);
