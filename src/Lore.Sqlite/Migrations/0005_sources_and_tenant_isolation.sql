-- Sources you can trust, and tenants without side channels.
--
-- 1. episodes.source: who vouches for the episode as evidence ("" = captured by the host itself, trusted;
--    "key:ID" or "key:ID/unit:UNIT" = sent through an API key). Episodes stored before this change were captured
--    before keys could be told apart, and keep "" as they were counted.
-- 2. Episode ids are unique per tenant, not across the store: another tenant's id must not answer "already taken".
--    SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt (the migrator runs this with foreign
--    keys off and checks them before committing); sequences, and the AUTOINCREMENT high-water mark that keeps
--    deleted episodes' sequences from being reused, are kept.
-- 3. api_keys.trust_units: whether an admin trusts the key to assert units (each unit its own source).
-- 4. audit_tenant_chain: each tenant's own hash chain over its audit entries (tenant_sequence 1, 2, 3... without
--    gaps), written with each global entry, so a tenant lists and verifies its log without seeing other tenants'
--    activity. Rows for entries written before this migration are added by the migrator right after this script.

CREATE TABLE episodes_v5 (
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
    UNIQUE (tenant, id)
);

INSERT INTO episodes_v5 (sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source)
SELECT sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, ''
FROM episodes;

CREATE TABLE episodes_v5_high_water AS SELECT seq FROM sqlite_sequence WHERE name = 'episodes';

DROP TABLE episodes;
ALTER TABLE episodes_v5 RENAME TO episodes;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'episodes', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'episodes');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM episodes_v5_high_water), 0), COALESCE((SELECT MAX(sequence) FROM episodes), 0))
WHERE name = 'episodes';
DROP TABLE episodes_v5_high_water;

CREATE INDEX ix_episodes_tenant_sequence ON episodes (tenant, sequence);
CREATE INDEX ix_episodes_id ON episodes (id);

ALTER TABLE api_keys ADD COLUMN trust_units INTEGER NOT NULL DEFAULT 0 CHECK (trust_units IN (0, 1));

CREATE TABLE audit_tenant_chain (
    sequence        INTEGER PRIMARY KEY,   -- the global entry (checked on insert; verification cross-checks the two chains)
    tenant          TEXT    NOT NULL,
    tenant_sequence INTEGER NOT NULL,
    previous_hash   TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    UNIQUE (tenant, tenant_sequence)
);

CREATE TRIGGER audit_tenant_chain_append_only_update BEFORE UPDATE ON audit_tenant_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_tenant_chain is append-only: audit entries cannot be updated');
END;

CREATE TRIGGER audit_tenant_chain_append_only_delete BEFORE DELETE ON audit_tenant_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_tenant_chain is append-only: audit entries cannot be deleted');
END;

-- A new row must extend its tenant's head: the tenant's next position, linked to its head's hash, for an entry of that tenant.
CREATE TRIGGER audit_tenant_chain_extends_head BEFORE INSERT ON audit_tenant_chain
WHEN NEW.tenant_sequence <> COALESCE((SELECT MAX(tenant_sequence) FROM audit_tenant_chain WHERE tenant = NEW.tenant), 0) + 1
  OR NEW.previous_hash <> COALESCE(
         (SELECT hash FROM audit_tenant_chain WHERE tenant = NEW.tenant ORDER BY tenant_sequence DESC LIMIT 1),
         '0000000000000000000000000000000000000000000000000000000000000000')
  OR NEW.tenant <> (SELECT tenant FROM audit_log WHERE sequence = NEW.sequence)
BEGIN
    SELECT RAISE(ABORT, 'audit_tenant_chain is a chain per tenant: a new entry must follow its tenant''s head');
END;
