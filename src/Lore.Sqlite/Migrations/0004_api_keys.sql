-- API keys for lore serve: each bound to one tenant and one role. Only the SHA-256 of the secret is stored, so a
-- copy of this file cannot be used to call Lore. Revoked keys stay (with the time) so the audit log's actors resolve.
CREATE TABLE api_keys (
    id          TEXT    PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    role        TEXT    NOT NULL,          -- agent | reviewer | admin
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,          -- lower-case hex SHA-256 of the secret
    created_at  TEXT    NOT NULL,          -- ISO-8601 UTC, so text order is time order
    created_by  TEXT    NOT NULL,
    revoked_at  TEXT,
    CHECK (role IN ('agent', 'reviewer', 'admin')),
    CHECK (length(secret_hash) = 64)
);
CREATE INDEX ix_api_keys_tenant_created ON api_keys (tenant, created_at);
