-- A resumable upload may go on from any front end (issue 18,
-- docs/scale-out.md, docs/uploads.md "More than one host").
--
-- uploads.stage_host: the host (the id in <data dir>/.uploads/.host)
-- whose stage holds the upload's bytes after its parts, [sum of the
-- parts' sizes, upload_offset). NULL for rows older than it: the host
-- that has the stage file. A PATCH at the end of the parts on another
-- host takes the upload over there (upload_take_over).
--
-- upload_parts.sha_state: the upload's SHA-256 in progress at the end of
-- this part (common/shastate.h), where a takeover resumes the running
-- hash. NULL for parts older than it: such an upload stays on its host.
ALTER TABLE uploads ADD COLUMN stage_host TEXT;
ALTER TABLE upload_parts ADD COLUMN sha_state TEXT;
