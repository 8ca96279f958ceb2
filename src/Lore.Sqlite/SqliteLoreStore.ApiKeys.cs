using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// API keys (migration 0004): only the secret's hash is stored; a key is never updated except to be revoked.
public sealed partial class SqliteLoreStore
{
    private const int SqliteConstraint = 19;

    private const string InsertKeySql = """
        INSERT INTO api_keys (id, tenant, role, name, secret_hash, created_at, created_by, revoked_at, trust_units)
        VALUES ($id, $tenant, $role, $name, $secret_hash, $created_at, $created_by, $revoked_at, $trust_units);
        """;

    private const string KeyColumns = "id, tenant, role, name, secret_hash, created_at, created_by, revoked_at, trust_units";

    private const string GetKeySql = $"SELECT {KeyColumns} FROM api_keys WHERE id = $id;";

    private const string ListKeysSql = $"SELECT {KeyColumns} FROM api_keys WHERE ($tenant IS NULL OR tenant = $tenant) ORDER BY created_at DESC, rowid DESC;";

    // Revoking twice keeps the first time: the audit log's record of when a key stopped working must not move.
    private const string TrustKeySql = "UPDATE api_keys SET trust_units = $trust_units WHERE id = $id;";

    private const string RevokeKeySql = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $at) WHERE id = $id;";

    /// <summary>Stores a new key (its hash, never a secret); an id already stored throws <see cref="StoreConflictException"/> and changes nothing.</summary>
    public Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(key.Id, nameof(key));
        ArgumentException.ThrowIfNullOrWhiteSpace(key.Tenant, nameof(key));
        if (!Enum.IsDefined(key.Role))
        {
            throw new ArgumentException($"API key '{key.Id}' has role {(int)key.Role}, which is not an ApiKeyRole; nothing was saved.", nameof(key));
        }

        if (key.SecretHash.Length != 64 || !key.SecretHash.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"API key '{key.Id}' has a secret hash that is not a lower-case hex SHA-256 (ApiKey.HashSecret); nothing was saved.", nameof(key));
        }

        return WriteAsync(transaction =>
        {
            using var insert = WriteCommand(transaction, InsertKeySql);
            insert.Parameters.AddWithValue("$id", key.Id);
            insert.Parameters.AddWithValue("$tenant", key.Tenant);
            insert.Parameters.AddWithValue("$role", SqliteText.Name(key.Role));
            insert.Parameters.AddWithValue("$name", key.Name);
            insert.Parameters.AddWithValue("$secret_hash", key.SecretHash);
            insert.Parameters.AddWithValue("$created_at", SqliteText.FromTimeUtc(key.CreatedAt));
            insert.Parameters.AddWithValue("$created_by", key.CreatedBy);
            insert.Parameters.AddWithValue("$revoked_at", key.RevokedAt is { } revoked ? SqliteText.FromTimeUtc(revoked) : DBNull.Value);
            insert.Parameters.AddWithValue("$trust_units", key.TrustUnits ? 1L : 0L);
            try
            {
                insert.ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint && e.Message.Contains("api_keys.id", StringComparison.Ordinal))
            {
                throw new StoreConflictException($"An API key with id '{key.Id}' is already stored; nothing was saved. ({e.Message})");
            }
        }, cancellationToken);
    }

    /// <summary>The key with this id, revoked or not; null when unknown.</summary>
    public async Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetKeySql);
        command.Parameters.AddWithValue("$id", keyId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadKey(reader) : null;
    }

    /// <summary>Keys of a tenant (every tenant when null), newest first, revoked ones included.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, ListKeysSql);
        command.Parameters.AddWithValue("$tenant", SqliteText.OrNull(tenant));
        using var reader = command.ExecuteReader();
        var keys = new List<ApiKey>();
        while (reader.Read())
        {
            keys.Add(ReadKey(reader));
        }

        return keys;
    }

    /// <summary>Revokes a key; false for an unknown id. Revoking twice keeps the first time.</summary>
    public Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return WriteAsync(transaction =>
        {
            using var revoke = WriteCommand(transaction, RevokeKeySql);
            revoke.Parameters.AddWithValue("$id", keyId);
            revoke.Parameters.AddWithValue("$at", SqliteText.FromTimeUtc(at));
            return revoke.ExecuteNonQuery() > 0;
        }, cancellationToken);
    }

    /// <summary>Sets whether the key may assert units; false for an unknown id.</summary>
    public Task<bool> SetApiKeyTrustAsync(string keyId, bool trustUnits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return WriteAsync(transaction =>
        {
            using var trust = WriteCommand(transaction, TrustKeySql);
            trust.Parameters.AddWithValue("$id", keyId);
            trust.Parameters.AddWithValue("$trust_units", trustUnits ? 1L : 0L);
            return trust.ExecuteNonQuery() > 0;
        }, cancellationToken);
    }

    private static ApiKey ReadKey(SqliteDataReader r)
    {
        var id = r.GetString(0);
        return new ApiKey
        {
            Id = id,
            Tenant = r.GetString(1),
            Role = r.GetString(2) switch
            {
                "agent" => ApiKeyRole.Agent,
                "reviewer" => ApiKeyRole.Reviewer,
                "admin" => ApiKeyRole.Admin,
                var other => throw new InvalidDataException($"API key '{id}' is stored with unknown role '{other}'."),
            },
            Name = r.GetString(3),
            SecretHash = r.GetString(4),
            CreatedAt = SqliteText.ToTime(r.GetString(5)),
            CreatedBy = r.GetString(6),
            RevokedAt = r.IsDBNull(7) ? null : SqliteText.ToTime(r.GetString(7)),
            TrustUnits = r.GetInt64(8) == 1,
        };
    }
}
