-- The shared rollout tally (issue 17): one row per judged canary episode, written by whichever host judged it, so
-- every host evaluates the same sums and makes the same decision. Keyed by (tenant, candidate, episode) so a retried
-- write or a second host counts an episode once; the canary share names the period (a share change moves units
-- between arms). Not partitioned: a rollout's rows are read whole, and they are few next to the episodes.
CREATE TABLE rollout_outcomes (
    sequence              bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant                text             NOT NULL,
    candidate_snapshot_id text             NOT NULL,
    episode_id            text             NOT NULL,
    canary_share          double precision NOT NULL,
    arm                   text             NOT NULL,
    slice                 text             NOT NULL,
    unit_key              text             NOT NULL,
    score                 double precision NOT NULL,
    CHECK (arm IN ('baseline', 'candidate')),
    CHECK (score >= 0.0 AND score <= 1.0),
    CHECK (canary_share >= 0.0 AND canary_share <= 1.0),
    UNIQUE (tenant, candidate_snapshot_id, episode_id)
);
