-- Mirrors sql/0013-upload-stage-host.sql for PostgreSQL (see 0001 for
-- the types): the host whose stage holds a resumable upload's bytes after
-- its parts, and the running SHA-256 at the end of each part.
ALTER TABLE uploads ADD COLUMN stage_host TEXT COLLATE "C";
ALTER TABLE upload_parts ADD COLUMN sha_state TEXT COLLATE "C";
