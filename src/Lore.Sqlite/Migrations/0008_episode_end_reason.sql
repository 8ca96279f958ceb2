-- Crash recovery (issue 16): an episode still open when the process capturing it died is ended at recovery as
-- 'abandoned'. end_reason says so (NULL: running, or ended by its capture); an end written later by a capture that
-- was alive after all clears it again. The partial index makes finding open episodes cheap however many have ended.
ALTER TABLE episodes ADD COLUMN end_reason TEXT;
CREATE INDEX ix_episodes_open ON episodes (tenant, sequence) WHERE ended_at IS NULL;
