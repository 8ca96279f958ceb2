-- Lore's first schema. Every table a store needs; JSON columns hold records in LoreJson's one shape, while the
-- columns beside them carry what queries filter, order or join on.
-- Timestamps are ISO-8601 text ("O" format): an episode keeps the offset it was recorded with; ordering columns
-- (snapshots.created_at, learning_runs.finished_at) are stored in UTC so that text order is time order.

-- Episodes: one row per attempt; sequence is the order of arrival that incremental learning reads past.
CREATE TABLE episodes (
    sequence            INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT    NOT NULL UNIQUE,
    tenant              TEXT    NOT NULL,
    unit_key            TEXT    NOT NULL,
    task                TEXT    NOT NULL,
    labels              TEXT    NOT NULL,   -- json object
    started_at          TEXT    NOT NULL,
    ended_at            TEXT,
    snapshot_id         TEXT,
    injected_lesson_ids TEXT    NOT NULL,   -- json array
    origin              TEXT    NOT NULL,
    arm                 TEXT
);
CREATE INDEX ix_episodes_tenant_sequence ON episodes (tenant, sequence);

-- Steps: appended in arrival order (the rowid), read back per range of episode sequences.
CREATE TABLE steps (
    id               INTEGER PRIMARY KEY,
    episode_sequence INTEGER NOT NULL REFERENCES episodes (sequence),
    idx              INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    tool_name        TEXT,
    tool_failed      INTEGER NOT NULL,
    payload          TEXT    NOT NULL      -- json Step
);
CREATE INDEX ix_steps_episode ON steps (episode_sequence);

-- Outcomes: several per episode, in the order they arrived.
CREATE TABLE outcomes (
    id               INTEGER PRIMARY KEY,
    episode_sequence INTEGER NOT NULL REFERENCES episodes (sequence),
    score            REAL    NOT NULL,
    source           TEXT    NOT NULL,
    actor            TEXT,
    comment          TEXT,
    at               TEXT    NOT NULL
);
CREATE INDEX ix_outcomes_episode ON outcomes (episode_sequence);

-- Lessons: the latest version of each lesson by id.
CREATE TABLE lessons (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    retired_at TEXT,
    json       TEXT NOT NULL               -- json Lesson
);
CREATE INDEX ix_lessons_tenant_kind ON lessons (tenant, kind);

-- Snapshots: immutable and content-addressed; the json holds the lessons and settings served.
CREATE TABLE snapshots (
    id           TEXT    PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    parent_id    TEXT,
    created_at   TEXT    NOT NULL,         -- UTC
    created_by   TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    lesson_count INTEGER NOT NULL,
    json         TEXT    NOT NULL          -- json Snapshot
);
CREATE INDEX ix_snapshots_tenant_created ON snapshots (tenant, created_at);

-- The snapshot each tenant is served; rollback is an update of one row.
CREATE TABLE active_snapshots (
    tenant      TEXT PRIMARY KEY,
    snapshot_id TEXT NOT NULL REFERENCES snapshots (id)
);

-- Learning runs: the "why" behind each snapshot learning created.
CREATE TABLE learning_runs (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    finished_at TEXT NOT NULL,             -- UTC
    json        TEXT NOT NULL              -- json LearningRun
);
CREATE INDEX ix_learning_runs_tenant_finished ON learning_runs (tenant, finished_at);

-- Named progress markers (for example the last episode sequence a learner has read).
CREATE TABLE cursors (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
