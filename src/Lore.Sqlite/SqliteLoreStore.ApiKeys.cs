namespace Lore.Sqlite;

// API keys (migration 0004). Work in progress: filled in by the serve work.
public sealed partial class SqliteLoreStore
{
    public Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("API keys are not implemented in the SQLite store yet.");

    public Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("API keys are not implemented in the SQLite store yet.");

    public Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("API keys are not implemented in the SQLite store yet.");

    public Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("API keys are not implemented in the SQLite store yet.");
}
