-- Mirrors sql/0005-pending.sql for PostgreSQL: files.pending, the
-- temporary object of a publish not yet finished.
ALTER TABLE files ADD COLUMN pending TEXT COLLATE "C";
CREATE INDEX files_pending ON files(pending) WHERE pending IS NOT NULL;
