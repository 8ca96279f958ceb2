-- Sources you can trust, and tenants without side channels (SQLite's 0005).
--
-- 1. episodes.source: who vouches for the episode as evidence ('' = captured by the host itself, trusted;
--    'key:ID' or 'key:ID/unit:UNIT' = sent through an API key). Episodes stored before keep '' as they were counted.
-- 2. Episode ids are unique per tenant: the registry's UNIQUE (id) becomes UNIQUE (tenant, id), so another tenant's
--    id is never "already taken"; an index on id alone keeps lookups by id cheap.
-- 3. api_keys.trust_units: whether an admin trusts the key to assert units (each unit its own source).
-- 4. audit_tenant_chain: each tenant's own hash chain over its audit entries (tenant_sequence 1, 2, 3... without
--    gaps), written with each global entry under the same lock, so a tenant lists and verifies its log without
--    seeing other tenants' activity. Rows for entries written before are added by the migrator after this script.

ALTER TABLE episodes ADD COLUMN source text NOT NULL DEFAULT '';

ALTER TABLE episode_registry DROP CONSTRAINT episode_registry_id_unique;
ALTER TABLE episode_registry ADD CONSTRAINT episode_registry_tenant_id_unique UNIQUE (tenant, id);
CREATE INDEX ix_episode_registry_id ON episode_registry (id);

ALTER TABLE api_keys ADD COLUMN trust_units boolean NOT NULL DEFAULT false;

CREATE TABLE audit_tenant_chain (
    sequence        bigint PRIMARY KEY,   -- the global entry (checked on insert; verification cross-checks the two chains)
    tenant          text   NOT NULL,
    tenant_sequence bigint NOT NULL,
    previous_hash   text   NOT NULL,
    hash            text   NOT NULL,
    CONSTRAINT audit_tenant_chain_position UNIQUE (tenant, tenant_sequence)
);

CREATE TRIGGER audit_tenant_chain_append_only BEFORE UPDATE OR DELETE ON audit_tenant_chain
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_tenant_chain_no_truncate BEFORE TRUNCATE ON audit_tenant_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- A new row must extend its tenant's head: the tenant's next position, linked to its head's hash, for an entry of that tenant.
CREATE FUNCTION audit_tenant_chain_check_head() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    head_sequence bigint;
    head_hash     text;
    entry_tenant  text;
BEGIN
    SELECT tenant_sequence, hash INTO head_sequence, head_hash FROM audit_tenant_chain
    WHERE tenant = NEW.tenant ORDER BY tenant_sequence DESC LIMIT 1;
    SELECT tenant INTO entry_tenant FROM audit_log WHERE sequence = NEW.sequence;
    IF NEW.tenant_sequence <> COALESCE(head_sequence, 0) + 1
       OR NEW.previous_hash <> COALESCE(head_hash, '0000000000000000000000000000000000000000000000000000000000000000')
       OR entry_tenant IS DISTINCT FROM NEW.tenant THEN
        RAISE EXCEPTION 'audit_tenant_chain is a chain per tenant: a new entry must follow its tenant''s head'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_tenant_chain_extends_head BEFORE INSERT ON audit_tenant_chain
    FOR EACH ROW EXECUTE FUNCTION audit_tenant_chain_check_head();
