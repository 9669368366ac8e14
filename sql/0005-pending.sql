-- Crash-consistent publish (docs/decisions.md, "Publish and delete").
-- pending names the adapter's temporary object that holds the bytes this
-- row describes while they are not yet under the row's key: a PUT commits
-- its row with pending set, then publishes the object and clears it.
-- Readers open the pending object first; recovery (worker start,
-- filestorctl gc) finishes any publish a crash interrupted.
ALTER TABLE files ADD COLUMN pending TEXT;
CREATE INDEX files_pending ON files(pending) WHERE pending IS NOT NULL;
