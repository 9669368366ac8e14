-- S3 multipart uploads on disk write their parts into one assembly file
-- at their final offsets, so that Complete publishes it without a copy
-- (docs/s3api.md, "Performance").
--
-- s3_uploads.assembly: the temporary object (files.pending's kind) the
-- parts are written into, NULL when the store has none (S3). part_size:
-- the size of the first part written into it; part N goes at offset
-- (N-1) * part_size when it is no larger, else into its own object.
-- s3_parts.part_offset: where the part's bytes start in its pending object
-- (0 for a part in its own object). A row whose md5 is '' claims its
-- range while the part is being written (s3mp_claim).
ALTER TABLE s3_uploads ADD COLUMN assembly TEXT;
ALTER TABLE s3_uploads ADD COLUMN part_size INTEGER;
ALTER TABLE s3_parts ADD COLUMN part_offset INTEGER NOT NULL DEFAULT 0;
CREATE INDEX s3_uploads_assembly ON s3_uploads(assembly);
