-- Failed logins, counted so that passwords cannot be guessed at speed.
-- One row per scope: an email in a tenant ("u\n<email>\n<tenant or *>")
-- or a client address ("a\n<address>"). failures counts those inside the
-- window that began at window_start (epoch seconds); a full count locks
-- the scope until the window ends. In the database, so that every worker
-- of every program sees the same count.
CREATE TABLE login_failures (
	scope		TEXT PRIMARY KEY,
	window_start	INTEGER NOT NULL,
	failures	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_failures_age ON login_failures(window_start);
