-- Crash recovery (issue 16; SQLite's 0008): an episode still open when the process capturing it died is ended at
-- recovery as 'abandoned'. end_reason says so (NULL: running, or ended by its capture); an end written later by a
-- capture that was alive after all clears it again. The partial index finds open episodes without a scan.
ALTER TABLE episodes ADD COLUMN end_reason text;
CREATE INDEX ix_episode_registry_unended ON episode_registry (tenant, sequence) WHERE NOT ended;
