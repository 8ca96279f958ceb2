-- One index on episode ids instead of two (issue 15; SQLite's 0011).
--
-- Migration 0002 made ids unique per tenant with UNIQUE (tenant, id) and added an index on id alone for the look-ups
-- by id, which is how this store finds a batch's episodes (id = ANY(...)). Every registered episode was written into
-- both. UNIQUE (id, tenant) keeps the same rule and serves those look-ups itself (id is its prefix), so it replaces both.
ALTER TABLE episode_registry ADD CONSTRAINT episode_registry_id_tenant_unique UNIQUE (id, tenant);
ALTER TABLE episode_registry DROP CONSTRAINT episode_registry_tenant_id_unique;
DROP INDEX ix_episode_registry_id;
