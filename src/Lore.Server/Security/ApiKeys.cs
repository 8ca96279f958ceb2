namespace Lore.Server.Security;

/// <summary>A key just created: the stored record (hash only) and the secret string, shown once and never again.</summary>
/// <param name="Key">The stored record.</param>
/// <param name="Secret">What a client presents: <c>lore_{id}_{secret}</c>.</param>
internal sealed record IssuedApiKey(ApiKey Key, string Secret);

/// <summary>
/// Creating and revoking API keys, audited: the one implementation behind <c>lore keys</c> and <c>/api/keys</c>, so a
/// key made either way is stored and recorded the same. The audit entry names the key by id only, never its secret.
/// </summary>
internal static class ApiKeys
{
    /// <summary>Issues and stores a new key of the tenant, and audits its creation by <paramref name="actor"/>.</summary>
    public static async Task<IssuedApiKey> CreateAsync(ILoreStore store, string tenant, ApiKeyRole role, string name, string actor, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentNullException.ThrowIfNull(time);
        var (key, secret) = ApiKeyAuthentication.Issue(tenant, role, name.Trim(), actor, time.GetUtcNow());
        await store.SaveApiKeyAsync(key, cancellationToken).ConfigureAwait(false);
        await new AuditTrail(store, time).RecordAsync(
            tenant,
            actor,
            AuditActions.ApiKeyCreated,
            key.Id,
            $"API key '{key.Name}' created with role {LorePolicies.RoleName(role)}",
            new { key = key.Id, role = LorePolicies.RoleName(role), name = key.Name },
            CancellationToken.None).ConfigureAwait(false);
        return new IssuedApiKey(key, secret);
    }

    /// <summary>
    /// Revokes a key of <paramref name="tenant"/> (any tenant when null) and audits it; returns null when no such key
    /// exists for that tenant (another tenant's key is reported as unknown). Revoking a revoked key changes nothing.
    /// </summary>
    public static async Task<ApiKey?> RevokeAsync(ILoreStore store, string keyId, string? tenant, string actor, string reason, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var key = await store.GetApiKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (key is null || (tenant is not null && key.Tenant != tenant))
        {
            return null;
        }

        if (key.RevokedAt is not null)
        {
            return key;
        }

        var now = time.GetUtcNow();
        await store.RevokeApiKeyAsync(keyId, now, cancellationToken).ConfigureAwait(false);
        await new AuditTrail(store, time).RecordAsync(
            key.Tenant,
            actor,
            AuditActions.ApiKeyRevoked,
            key.Id,
            reason.Trim(),
            new { key = key.Id, role = LorePolicies.RoleName(key.Role), name = key.Name },
            CancellationToken.None).ConfigureAwait(false);
        return await store.GetApiKeyAsync(keyId, cancellationToken).ConfigureAwait(false) ?? key with { RevokedAt = now };
    }

    /// <summary>A key as listings show it: everything but the hash.</summary>
    public static ApiKeyView View(ApiKey key) => new(key.Id, key.Tenant, LorePolicies.RoleName(key.Role), key.Name, key.CreatedAt, key.CreatedBy, key.RevokedAt);
}

/// <summary>An API key as the API and the CLI show it: never the secret or its hash.</summary>
internal sealed record ApiKeyView(string Id, string Tenant, string Role, string Name, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? RevokedAt);
