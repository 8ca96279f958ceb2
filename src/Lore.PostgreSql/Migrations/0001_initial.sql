-- Lore's PostgreSQL schema: the same records as the SQLite store, shaped for many hosts writing at once.
-- The migrator runs this inside one transaction, holding an advisory lock, with search_path set to Lore's schema
-- (PostgresStoreOptions.Schema, "lore" by default), so every name below lives in that schema.
--
-- Conventions shared with the SQLite store, so both engines give back exactly what they were given:
-- * Times are ISO-8601 text ("O" format): an episode keeps the offset it was recorded with, to the tick (100 ns,
--   finer than timestamptz's microsecond). Columns a query orders by are written in UTC, so text order (COLLATE "C")
--   is time order.
-- * JSON columns hold records in LoreJson's one shape, as text: the store never queries inside them, and the audit
--   log's details must come back byte for byte (the hash covers them), which jsonb would not do.

-- ---------------------------------------------------------------------------------------------------------------
-- Episodes, steps and outcomes: time-partitioned.
--
-- episodes, steps and outcomes are partitioned by RANGE on "month": the first day of the UTC month in which the
-- episode started (its StartedAt; for steps and outcomes, their episode's). One partition per month and table,
-- named <table>_yYYYYmMM, created on demand before rows for a new month are written (CREATE TABLE, then ATTACH
-- PARTITION: attaching takes only a SHARE UPDATE EXCLUSIVE lock on the parent, so it never waits for an open import
-- and never blocks readers, where CREATE TABLE ... PARTITION OF would take an ACCESS EXCLUSIVE lock). An episode's
-- rows in all three tables share its month, so dropping one month's three partitions erases those episodes whole
-- (retention: deleting every episode of an old month drops its partitions instead of deleting rows).
--
-- Uniqueness across partitions: PostgreSQL enforces a unique index on a partitioned table only if it includes the
-- partition key, so "episode ids are unique" cannot be an index of episodes. episode_registry, NOT partitioned, has
-- one slim row per stored episode: its id (UNIQUE, across every month), its sequence (the order of arrival,
-- assigned here, never reused), its tenant, its month (which partition holds its rows), whether it has ended, and
-- its learning-worker lease. Every write starts by inserting or locking the registry row, so a duplicate id fails
-- there whatever month it started in; reads page through the registry's (tenant, sequence) index and fetch rows by
-- (month, sequence) from the partitions. Erasure deletes the registry row with the episode's rows, in one transaction.
-- ---------------------------------------------------------------------------------------------------------------

CREATE TABLE episode_registry (
    sequence         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               text    NOT NULL,
    tenant           text    NOT NULL,
    month            date    NOT NULL,
    ended            boolean NOT NULL,
    -- The lease (see LeaseEpisodesAsync): live while processed_at IS NULL and lease_expires_at lies in the future.
    -- It lives on this row, which exists for every episode, so that FOR NO KEY UPDATE SKIP LOCKED can claim
    -- episodes nobody has leased yet and a concurrent grant is re-checked against the row's new version.
    lease_worker     text,
    lease_token      text,
    lease_expires_at bigint,                     -- UTC ticks
    lease_attempts   integer NOT NULL DEFAULT 0,
    processed_at     text,                       -- UTC, ISO-8601; set once, never leased again
    CONSTRAINT episode_registry_id_unique UNIQUE (id),
    CHECK (month = date_trunc('month', month)::date),
    CHECK (lease_attempts >= 0)
);
CREATE INDEX ix_episode_registry_tenant_sequence ON episode_registry (tenant, sequence);
CREATE INDEX ix_episode_registry_month ON episode_registry (month);
-- What learning workers lease from: ended, never-processed episodes of a tenant, oldest first.
CREATE INDEX ix_episode_registry_open ON episode_registry (tenant, sequence) WHERE ended AND processed_at IS NULL;

CREATE TABLE episodes (
    month               date   NOT NULL,
    sequence            bigint NOT NULL,
    id                  text   NOT NULL,
    tenant              text   NOT NULL,
    unit_key            text   NOT NULL,
    task                text   NOT NULL,
    labels              text   NOT NULL,     -- json object
    started_at          text   NOT NULL,
    ended_at            text,
    snapshot_id         text,
    injected_lesson_ids text   NOT NULL,     -- json array
    origin              text   NOT NULL,
    arm                 text,
    PRIMARY KEY (month, sequence)
) PARTITION BY RANGE (month);

-- Steps and outcomes keep their arrival order through ids drawn from one sequence each (a partitioned table
-- cannot own an identity column in PostgreSQL 15).
CREATE SEQUENCE step_ids AS bigint;
CREATE TABLE steps (
    month            date    NOT NULL,
    episode_sequence bigint  NOT NULL,
    id               bigint  NOT NULL DEFAULT nextval('step_ids'),
    idx              integer NOT NULL,
    kind             text    NOT NULL,
    tool_name        text,
    tool_failed      boolean NOT NULL,
    payload          text    NOT NULL,       -- json Step
    PRIMARY KEY (month, episode_sequence, id)
) PARTITION BY RANGE (month);
ALTER SEQUENCE step_ids OWNED BY steps.id;

CREATE SEQUENCE outcome_ids AS bigint;
CREATE TABLE outcomes (
    month            date             NOT NULL,
    episode_sequence bigint           NOT NULL,
    id               bigint           NOT NULL DEFAULT nextval('outcome_ids'),
    score            double precision NOT NULL,
    source           text             NOT NULL,
    actor            text,
    comment          text,
    at               text             NOT NULL,
    PRIMARY KEY (month, episode_sequence, id)
) PARTITION BY RANGE (month);
ALTER SEQUENCE outcome_ids OWNED BY outcomes.id;

-- ---------------------------------------------------------------------------------------------------------------
-- Learned state and the control plane: small tables, not partitioned.
-- ---------------------------------------------------------------------------------------------------------------

-- Lessons: the latest version of each lesson by id. status is the status the lesson is listed under.
CREATE TABLE lessons (
    id         text PRIMARY KEY,
    tenant     text NOT NULL,
    kind       text NOT NULL,
    retired_at text,
    status     text NOT NULL,
    json       text NOT NULL,                -- json Lesson
    CHECK (status IN ('active', 'pendingReview', 'rejected', 'retired'))
);
CREATE INDEX ix_lessons_tenant_status ON lessons (tenant, status);

-- Snapshots: immutable and content-addressed. position breaks ties between equal creation times (arrival order).
CREATE TABLE snapshots (
    id           text    PRIMARY KEY,
    tenant       text    NOT NULL,
    parent_id    text,
    created_at   text    NOT NULL,           -- UTC
    created_by   text    NOT NULL,
    reason       text    NOT NULL,
    lesson_count integer NOT NULL,
    json         text    NOT NULL,           -- json Snapshot
    position     bigint  GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX ix_snapshots_tenant_created ON snapshots (tenant, created_at COLLATE "C", position);

-- Rollouts: which snapshot each tenant is served. stable_snapshot_id IS the active snapshot (the only place it is
-- kept); a candidate moves shadow -> canary -> promoted. version increases by one on every change
-- (compare-and-swap), and every change notifies channel lore_changes in its transaction, so other hosts hear of it
-- at commit.
CREATE TABLE rollouts (
    tenant                text             PRIMARY KEY,
    stable_snapshot_id    text             REFERENCES snapshots (id),
    candidate_snapshot_id text             REFERENCES snapshots (id),
    stage                 text             NOT NULL,
    canary_share          double precision NOT NULL,
    frozen                boolean          NOT NULL,
    frozen_reason         text,
    version               bigint           NOT NULL,
    updated_at            text             NOT NULL,
    updated_by            text             NOT NULL,
    CHECK (stage IN ('none', 'shadow', 'canary')),
    CHECK (canary_share >= 0.0 AND canary_share <= 1.0),
    CHECK ((stage = 'none') = (candidate_snapshot_id IS NULL)),
    CHECK (version >= 1)
);

-- Learning runs: the "why" behind each snapshot learning created.
CREATE TABLE learning_runs (
    id          text   PRIMARY KEY,
    tenant      text   NOT NULL,
    finished_at text   NOT NULL,             -- UTC
    json        text   NOT NULL,             -- json LearningRun
    position    bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX ix_learning_runs_tenant_finished ON learning_runs (tenant, finished_at COLLATE "C", position);

-- Named progress markers (for example the last episode sequence a learner has read).
CREATE TABLE cursors (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
);

-- API keys for lore serve: only the SHA-256 of the secret is stored. Revoked keys stay, with the time.
CREATE TABLE api_keys (
    id          text   PRIMARY KEY,
    tenant      text   NOT NULL,
    role        text   NOT NULL,
    name        text   NOT NULL,
    secret_hash text   NOT NULL,
    created_at  text   NOT NULL,             -- UTC
    created_by  text   NOT NULL,
    revoked_at  text,                        -- UTC
    position    bigint GENERATED ALWAYS AS IDENTITY,
    CHECK (role IN ('agent', 'reviewer', 'admin')),
    CHECK (length(secret_hash) = 64)
);
CREATE INDEX ix_api_keys_tenant_created ON api_keys (tenant, created_at COLLATE "C", position);

-- ---------------------------------------------------------------------------------------------------------------
-- The audit log: one hash chain for every tenant. sequence runs from 1 without gaps; hash covers previous_hash and
-- the row's content (AuditChain.ComputeHash), so editing, deleting or reordering a row breaks verification there.
-- at_ticks is DateTimeOffset.UtcTicks exactly, the value the hash was computed over. The store appends under a
-- SHARE ROW EXCLUSIVE lock on the table (appends queue, reads go on), reading the head in the same transaction.
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE audit_log (
    sequence      bigint PRIMARY KEY,
    at_ticks      bigint NOT NULL,
    tenant        text   NOT NULL,
    actor         text   NOT NULL,
    action        text   NOT NULL,
    subject       text   NOT NULL,
    reason        text   NOT NULL,
    details_json  text   NOT NULL,           -- json object, byte for byte as given
    previous_hash text   NOT NULL,
    hash          text   NOT NULL UNIQUE
);
CREATE INDEX ix_audit_log_tenant_sequence ON audit_log (tenant, sequence);

-- Defence in depth: the store has no method that edits or removes audit rows, and these triggers refuse it from any
-- SQL client (TRUNCATE included). A superuser can still disable triggers; verifying the chain detects that kind of
-- tampering.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: audit entries cannot be %d', lower(TG_OP)
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- A new row must extend the chain's head: the next sequence, linked to the head's hash.
-- search_path is fixed to Lore's schema at creation, so the check reads this audit_log whoever inserts.
CREATE FUNCTION audit_log_check_head() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    head_sequence bigint;
    head_hash     text;
BEGIN
    SELECT sequence, hash INTO head_sequence, head_hash FROM audit_log ORDER BY sequence DESC LIMIT 1;
    IF NEW.sequence <> COALESCE(head_sequence, 0) + 1
       OR NEW.previous_hash <> COALESCE(head_hash, '0000000000000000000000000000000000000000000000000000000000000000') THEN
        RAISE EXCEPTION 'audit_log is a chain: a new entry must follow the head (next sequence, head hash as previous_hash)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_head();
