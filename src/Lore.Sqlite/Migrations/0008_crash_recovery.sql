-- Crash safety (issue 16).
--
-- 1. An episode still open when the process capturing it died is ended at recovery as 'abandoned'. end_reason says
--    so (NULL: running, or ended by its capture); an end written later by a capture that was alive after all clears
--    it again. The partial index makes finding open episodes cheap however many have ended.
-- 2. Staged imports: a file is written in bounded batches, each its own short transaction, so the write lock is
--    never held for long; its episodes carry the import's id (import_id) and stay invisible to every read until one
--    last transaction publishes them all (import_id set to NULL). imports records who is importing, so that the
--    rows of an import whose process died are found and removed, never published.
ALTER TABLE episodes ADD COLUMN end_reason TEXT;
CREATE INDEX ix_episodes_open ON episodes (tenant, sequence) WHERE ended_at IS NULL;

ALTER TABLE episodes ADD COLUMN import_id TEXT;
CREATE INDEX ix_episodes_staged ON episodes (import_id, sequence) WHERE import_id IS NOT NULL;

CREATE TABLE imports (
    id           TEXT    PRIMARY KEY,
    owner_host   TEXT    NOT NULL,
    owner_pid    INTEGER NOT NULL,
    started_at   TEXT    NOT NULL,     -- UTC, ISO-8601
    heartbeat_at INTEGER NOT NULL      -- UTC ticks: written with every batch
);
