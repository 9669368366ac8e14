-- Mirrors sql/0006-relay.sql for PostgreSQL (see 0001 for the types):
-- which relay holds each agent's WebSocket (issue 15, docs/relay.md).
CREATE TABLE agent_relays (
	agent_id	TEXT COLLATE "C" PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
	relay		TEXT COLLATE "C" NOT NULL,
	conn		TEXT COLLATE "C" NOT NULL,
	connected_at	BIGINT NOT NULL
);
CREATE INDEX agent_relays_relay ON agent_relays(relay);
