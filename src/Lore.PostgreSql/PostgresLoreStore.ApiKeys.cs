using Npgsql;

namespace Lore.PostgreSql;

// API keys: only the secret's hash is stored; a key is never updated except to be revoked.
public sealed partial class PostgresLoreStore
{
    private const string KeyColumns = "id, tenant, role, name, secret_hash, created_at, created_by, revoked_at, trust_units";

    private const string InsertKeySql = $"INSERT INTO api_keys ({KeyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);";

    private const string TrustKeySql = "UPDATE api_keys SET trust_units = $2 WHERE id = $1;";

    private const string GetKeySql = $"SELECT {KeyColumns} FROM api_keys WHERE id = $1;";

    private const string ListKeysSql = $"""SELECT {KeyColumns} FROM api_keys WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at COLLATE "C" DESC, position DESC;""";

    // Revoking twice keeps the first time: the audit log's record of when a key stopped working must not move.
    private const string RevokeKeySql = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1;";

    /// <summary>Stores a new key (its hash, never a secret); an id already stored throws <see cref="StoreConflictException"/> and changes nothing.</summary>
    public async Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(key.Id, nameof(key));
        ArgumentException.ThrowIfNullOrWhiteSpace(key.Tenant, nameof(key));
        if (!Enum.IsDefined(key.Role))
        {
            throw new ArgumentException($"API key '{key.Id}' has role {(int)key.Role}, which is not an ApiKeyRole; nothing was saved.", nameof(key));
        }

        if (key.SecretHash is null || key.SecretHash.Length != 64 || !key.SecretHash.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"API key '{key.Id}' has a secret hash that is not a lower-case hex SHA-256 (ApiKey.HashSecret); nothing was saved.", nameof(key));
        }

        await WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Sql(connection, transaction, InsertKeySql,
                key.Id, key.Tenant, PostgresText.Name(key.Role), key.Name ?? "", key.SecretHash, PostgresText.FromTimeUtc(key.CreatedAt),
                key.CreatedBy ?? "", key.RevokedAt is { } revoked ? PostgresText.FromTimeUtc(revoked) : null, key.TrustUnits);
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new StoreConflictException($"An API key with id '{key.Id}' is already stored; nothing was saved.");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The key with this id, revoked or not; null when unknown.</summary>
    public async Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetKeySql, keyId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadKey(reader) : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keys of a tenant (every tenant when null), newest first, revoked ones included.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default)
    {
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, ListKeysSql, tenant);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var keys = new List<ApiKey>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(ReadKey(reader));
            }

            return keys;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Revokes a key; false for an unknown id. Revoking twice keeps the first time.</summary>
    public async Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return await WriteAsync(async (connection, transaction) =>
        {
            await using var revoke = Sql(connection, transaction, RevokeKeySql, keyId, PostgresText.FromTimeUtc(at));
            return await revoke.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets whether the key may assert units; false for an unknown id.</summary>
    public async Task<bool> SetApiKeyTrustAsync(string keyId, bool trustUnits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return await WriteAsync(async (connection, transaction) =>
        {
            await using var trust = Sql(connection, transaction, TrustKeySql, keyId, trustUnits);
            return await trust.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static ApiKey ReadKey(NpgsqlDataReader r)
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
            CreatedAt = PostgresText.ToTime(r.GetString(5)),
            CreatedBy = r.GetString(6),
            RevokedAt = r.IsDBNull(7) ? null : PostgresText.ToTime(r.GetString(7)),
            TrustUnits = r.GetBoolean(8),
        };
    }
}
