-- The WS relay (issue 15, docs/relay.md): which relay holds each agent's
-- WebSocket. A relay writes its row when an agent connects and deletes it
-- (by conn, so that a newer connection's row survives) when it goes; on
-- start a relay drops the rows its previous run left. relay is the
-- address other hosts reach that relay at (RELAY_PEER_ADDR), '' on a
-- single host. An agent with a row is "online".
CREATE TABLE agent_relays (
	agent_id	TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
	relay		TEXT NOT NULL,
	conn		TEXT NOT NULL,
	connected_at	INTEGER NOT NULL
);
CREATE INDEX agent_relays_relay ON agent_relays(relay);
