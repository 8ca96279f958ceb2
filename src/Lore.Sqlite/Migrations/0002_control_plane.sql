-- The control plane: a hash-chained audit log, one rollout row per tenant (which replaces active_snapshots, so
-- the stable snapshot and the active snapshot are one column), and the admission status of lessons.

-- Audit log: one chain for every tenant. sequence runs from 1 without gaps; hash covers previous_hash and this
-- row's content (AuditChain.ComputeHash), so editing, deleting or reordering a row breaks verification there.
-- at_ticks is DateTimeOffset.UtcTicks exactly, the value the hash was computed over.
CREATE TABLE audit_log (
    sequence      INTEGER PRIMARY KEY,
    at_ticks      INTEGER NOT NULL,
    tenant        TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    details_json  TEXT    NOT NULL,        -- json object
    previous_hash TEXT    NOT NULL,
    hash          TEXT    NOT NULL UNIQUE
);
CREATE INDEX ix_audit_log_tenant_sequence ON audit_log (tenant, sequence);

-- Defence in depth: the store has no method that edits or removes audit rows, and these triggers refuse it from
-- any SQL client too. Someone with write access to the file can still drop the triggers; hash verification of the
-- chain is what detects that kind of tampering.
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: audit entries cannot be updated');
END;

CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: audit entries cannot be deleted');
END;

-- A new row must extend the chain's head: the next sequence, linked to the head's hash.
CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
WHEN NEW.sequence <> COALESCE((SELECT MAX(sequence) FROM audit_log), 0) + 1
  OR NEW.previous_hash <> COALESCE(
         (SELECT hash FROM audit_log ORDER BY sequence DESC LIMIT 1),
         '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'audit_log is a chain: a new entry must follow the head (next sequence, head hash as previous_hash)');
END;

-- Rollouts: which snapshot each tenant is served. stable_snapshot_id is the active snapshot (the only place it is
-- kept); a candidate moves shadow -> canary -> promoted. version increases by one on every change (compare-and-swap).
CREATE TABLE rollouts (
    tenant                TEXT    PRIMARY KEY,
    stable_snapshot_id    TEXT    REFERENCES snapshots (id),
    candidate_snapshot_id TEXT    REFERENCES snapshots (id),
    stage                 TEXT    NOT NULL,           -- none | shadow | canary
    canary_share          REAL    NOT NULL,
    frozen                INTEGER NOT NULL,
    frozen_reason         TEXT,
    version               INTEGER NOT NULL,
    updated_at            TEXT    NOT NULL,
    updated_by            TEXT    NOT NULL,
    CHECK (stage IN ('none', 'shadow', 'canary')),
    CHECK (canary_share >= 0.0 AND canary_share <= 1.0),
    CHECK ((stage = 'none') = (candidate_snapshot_id IS NULL)),
    CHECK (version >= 1)
);

INSERT INTO rollouts (tenant, stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by)
SELECT tenant, snapshot_id, NULL, 'none', 0.0, 0, NULL, 1, strftime('%Y-%m-%dT%H:%M:%S.0000000+00:00', 'now'), 'migration:0002'
FROM active_snapshots;

DROP TABLE active_snapshots;

-- Lesson admission status (active | pendingReview | rejected | retired), as the store lists it: a lesson whose
-- retired_at is set counts as retired unless it was rejected. Lessons stored before this migration were admitted.
ALTER TABLE lessons ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
UPDATE lessons SET status = 'retired' WHERE retired_at IS NOT NULL;
CREATE INDEX ix_lessons_tenant_status ON lessons (tenant, status);
