-- Learning workers: leases on ended episodes, so that several workers (in several processes) process each episode
-- exactly once, and a learning lock per tenant, so that only one of them at a time consolidates and publishes.

-- One row per episode a worker has ever leased. A lease is live while processed_at is NULL and expires_at lies in
-- the future; an expired one is granted again (attempts + 1, a new token), and completing with the old token is
-- refused. processed_at set means done for good: the episode is never leased again. Erasing an episode erases its
-- lease row with it.
CREATE TABLE episode_leases (
    episode_sequence INTEGER PRIMARY KEY REFERENCES episodes (sequence) ON DELETE CASCADE,
    tenant           TEXT    NOT NULL,
    worker           TEXT    NOT NULL,
    token            TEXT    NOT NULL,
    expires_at       INTEGER NOT NULL,     -- UTC ticks
    attempts         INTEGER NOT NULL,
    processed_at     TEXT,                 -- UTC, ISO-8601
    CHECK (attempts >= 1)
);
CREATE INDEX ix_episode_leases_tenant_open ON episode_leases (tenant, processed_at, episode_sequence);

-- The learning lock: at most one holder per tenant whose expires_at lies in the future. The holder renews it while
-- it works, so a holder that dies lets it lapse and another worker takes it.
CREATE TABLE learning_locks (
    tenant     TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL            -- UTC ticks
);
