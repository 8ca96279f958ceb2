-- The shared rollout tally (issue 17): one row per judged canary episode, written by whichever host judged it, so
-- every host evaluates the same sums and makes the same decision. Keyed by (tenant, candidate, episode) so a retried
-- write counts an episode once; the canary share names the period (a share change moves units between arms).
CREATE TABLE rollout_outcomes (
    sequence              INTEGER PRIMARY KEY,
    tenant                TEXT    NOT NULL,
    candidate_snapshot_id TEXT    NOT NULL,
    episode_id            TEXT    NOT NULL,
    canary_share          REAL    NOT NULL,
    arm                   TEXT    NOT NULL,
    slice                 TEXT    NOT NULL,
    unit_key              TEXT    NOT NULL,
    score                 REAL    NOT NULL,
    CHECK (arm IN ('baseline', 'candidate')),
    CHECK (score >= 0 AND score <= 1),
    CHECK (canary_share >= 0 AND canary_share <= 1),
    UNIQUE (tenant, candidate_snapshot_id, episode_id)
);
