-- One index on episode ids instead of two (issue 15).
--
-- Schema 5 made episode ids unique per tenant with UNIQUE (tenant, id) and added a second index on id alone for the
-- lookups that name no tenant. Every episode a capture starts was written into both, and on the proxy's hot path their
-- pages were about 14 of the 36 a capture commit wrote to the WAL. UNIQUE (id, tenant) answers both lookups (id
-- alone is its prefix) and keeps the same rule, so the table is rebuilt with it and the second index goes. SQLite
-- cannot change a table's constraint in place; the rebuild keeps every row, sequence and the AUTOINCREMENT high-water
-- mark that keeps erased episodes' sequences from being reused (as in 0005).

CREATE TABLE episodes_v11 (
    sequence            INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT    NOT NULL,
    tenant              TEXT    NOT NULL,
    unit_key            TEXT    NOT NULL,
    task                TEXT    NOT NULL,
    labels              TEXT    NOT NULL,   -- json object
    started_at          TEXT    NOT NULL,
    ended_at            TEXT,
    snapshot_id         TEXT,
    injected_lesson_ids TEXT    NOT NULL,   -- json array
    origin              TEXT    NOT NULL,
    arm                 TEXT,
    source              TEXT    NOT NULL DEFAULT '',
    end_reason          TEXT,
    import_id           TEXT,
    UNIQUE (id, tenant)
);

INSERT INTO episodes_v11 (sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source, end_reason, import_id)
SELECT sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source, end_reason, import_id
FROM episodes;

CREATE TABLE episodes_v11_high_water AS SELECT seq FROM sqlite_sequence WHERE name = 'episodes';

DROP TABLE episodes;
ALTER TABLE episodes_v11 RENAME TO episodes;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'episodes', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'episodes');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM episodes_v11_high_water), 0), COALESCE((SELECT MAX(sequence) FROM episodes), 0))
WHERE name = 'episodes';
DROP TABLE episodes_v11_high_water;

CREATE INDEX ix_episodes_tenant_sequence ON episodes (tenant, sequence);
CREATE INDEX ix_episodes_open ON episodes (tenant, sequence) WHERE ended_at IS NULL;
CREATE INDEX ix_episodes_staged ON episodes (import_id, sequence) WHERE import_id IS NOT NULL;
