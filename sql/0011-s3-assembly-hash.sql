-- The SHA-256 of an upload's assembly file as far as its parts are
-- written in order (docs/s3api.md, "Performance"): each UploadPart
-- extends it over the full parts now in place after hash_off, so that
-- Complete hashes only the rest instead of reading the whole object.
--
-- hash_off: bytes of the assembly hashed (a multiple of part_size);
-- hash_state: the SHA-256 in progress there (common/shastate.h), NULL
-- before any.
ALTER TABLE s3_uploads ADD COLUMN hash_off INTEGER NOT NULL DEFAULT 0;
ALTER TABLE s3_uploads ADD COLUMN hash_state TEXT;
