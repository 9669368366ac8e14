-- Mirrors sql/0004-login-limits.sql for PostgreSQL (see 0001 for the
-- types): failed logins, one row per scope.
CREATE TABLE login_failures (
	scope		TEXT COLLATE "C" PRIMARY KEY,
	window_start	BIGINT NOT NULL,
	failures	BIGINT NOT NULL
);
CREATE INDEX login_failures_age ON login_failures(window_start);
