namespace Lore.Server.Security;

/// <summary>A key just created: the stored record (hash only) and the secret string, shown once and never again.</summary>
/// <param name="Key">The stored record.</param>
/// <param name="Secret">What a client presents: <c>lore_{id}_{secret}</c>.</param>
public sealed record IssuedApiKey(ApiKey Key, string Secret);

/// <summary>
/// Creating and revoking API keys, audited: the one implementation behind <c>lore keys</c> and <c>/api/keys</c>, so a
/// key made either way is stored and recorded the same. The audit entry names the key by id only, never its secret.
/// Public so a host (the <c>lore</c> tool, or an app that maps Lore) provisions keys without going through HTTP.
/// </summary>
public static class ApiKeys
{
    /// <summary>Issues and stores a new key of the tenant, and audits its creation by <paramref name="actor"/>.</summary>
    public static Task<IssuedApiKey> CreateAsync(ILoreStore store, string tenant, ApiKeyRole role, string name, string actor, TimeProvider time, CancellationToken cancellationToken = default)
        => CreateAsync(store, tenant, role, name, actor, time, trustUnits: false, cancellationToken);

    /// <summary>Issues, stores and audits a new key that may (or may not) assert units.</summary>
    /// <remarks>
    /// <paramref name="trustUnits"/> lets the key assert units (each unit it names counts as its own evidence source);
    /// give it only to a backend that authenticates its own end users.
    /// </remarks>
    public static async Task<IssuedApiKey> CreateAsync(ILoreStore store, string tenant, ApiKeyRole role, string name, string actor, TimeProvider time, bool trustUnits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentNullException.ThrowIfNull(time);
        var (key, secret) = ApiKeyAuthentication.Issue(tenant, role, name.Trim(), actor, time.GetUtcNow());
        key = key with { TrustUnits = trustUnits };
        await store.SaveApiKeyAsync(key, cancellationToken).ConfigureAwait(false);
        await new AuditTrail(store, time).RecordAsync(
            tenant,
            actor,
            AuditActions.ApiKeyCreated,
            key.Id,
            $"API key '{key.Name}' created with role {LorePolicies.RoleName(role)}{(trustUnits ? ", trusted to assert units" : "")}",
            new { key = key.Id, role = LorePolicies.RoleName(role), name = key.Name, trustUnits },
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

    /// <summary>
    /// Sets whether a key of <paramref name="tenant"/> (any tenant when null) may assert units, and audits the change
    /// with its reason; returns null when no such key exists for that tenant. Setting the trust it already has
    /// changes nothing and records nothing. Episodes already stored keep the source they were recorded with.
    /// </summary>
    public static async Task<ApiKey?> SetTrustAsync(ILoreStore store, string keyId, string? tenant, bool trustUnits, string actor, string reason, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentNullException.ThrowIfNull(time);
        var key = await store.GetApiKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (key is null || (tenant is not null && key.Tenant != tenant))
        {
            return null;
        }

        if (key.TrustUnits == trustUnits)
        {
            return key;
        }

        await store.SetApiKeyTrustAsync(keyId, trustUnits, cancellationToken).ConfigureAwait(false);
        await new AuditTrail(store, time).RecordAsync(
            key.Tenant,
            actor,
            AuditActions.ApiKeyTrustChanged,
            key.Id,
            reason.Trim(),
            new { key = key.Id, name = key.Name, trustUnits, was = key.TrustUnits },
            CancellationToken.None).ConfigureAwait(false);
        return key with { TrustUnits = trustUnits };
    }

    /// <summary>A key as listings show it: everything but the hash.</summary>
    public static ApiKeyView View(ApiKey key) => new(key.Id, key.Tenant, LorePolicies.RoleName(key.Role), key.Name, key.CreatedAt, key.CreatedBy, key.RevokedAt, key.TrustUnits);
}

/// <summary>An API key as the API and the CLI show it: never the secret or its hash.</summary>
/// <param name="Id">The key's id (the <c>{id}</c> in <c>lore_{id}_{secret}</c>), safe to show and log.</param>
/// <param name="Tenant">The tenant the key acts for; it never reaches another tenant's data.</param>
/// <param name="Role">"agent", "reviewer" or "admin".</param>
/// <param name="Name">What the key was made for, as its creator named it.</param>
/// <param name="CreatedAt">When the key was created.</param>
/// <param name="CreatedBy">Who created it.</param>
/// <param name="RevokedAt">When it was revoked; null while it still authenticates.</param>
/// <param name="TrustUnits">Whether the key may assert units (each a source of its own) or counts as one source.</param>
public sealed record ApiKeyView(string Id, string Tenant, string Role, string Name, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? RevokedAt, bool TrustUnits);
