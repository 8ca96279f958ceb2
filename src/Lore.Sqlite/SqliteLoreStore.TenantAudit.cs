using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Each tenant's own audit chain (migration 0005): written beside every global entry, read by tenants.
public sealed partial class SqliteLoreStore
{
    private const string TenantAuditPageSql = """
        SELECT c.tenant_sequence, COALESCE(a.at_ticks, 0), c.tenant, COALESCE(a.actor, ''), COALESCE(a.action, ''), COALESCE(a.subject, ''),
               COALESCE(a.reason, ''), COALESCE(a.details_json, ''), c.previous_hash, c.hash
        FROM audit_tenant_chain c LEFT JOIN audit_log a ON a.sequence = c.sequence
        WHERE c.tenant = $tenant AND c.tenant_sequence > $after
        ORDER BY c.tenant_sequence LIMIT $limit;
        """;

    /// <summary>
    /// Streams the tenant's own chain after position <paramref name="afterSequence"/>, a page per query. A chain row whose
    /// global entry is gone (removed behind the store's back) reads with empty content, so it fails verification there.
    /// </summary>
    public IAsyncEnumerable<AuditEntry> ReadTenantAuditAsync(string tenant, long afterSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        return ReadAuditPagesAsync(TenantAuditPageSql, command => command.Parameters.AddWithValue("$tenant", tenant), afterSequence, cancellationToken);
    }
}

/// <summary>
/// Writes the per-tenant audit chain: the row that places a global entry in its tenant's chain, and (once, when the
/// schema gains the table) the rows for every entry written before.
/// </summary>
internal static class AuditTenantChains
{
    private const string HeadSql = """
        SELECT c.tenant_sequence, COALESCE(a.at_ticks, 0), c.tenant, COALESCE(a.actor, ''), COALESCE(a.action, ''), COALESCE(a.subject, ''),
               COALESCE(a.reason, ''), COALESCE(a.details_json, ''), c.previous_hash, c.hash
        FROM audit_tenant_chain c LEFT JOIN audit_log a ON a.sequence = c.sequence
        WHERE c.tenant = $tenant ORDER BY c.tenant_sequence DESC LIMIT 1;
        """;

    private const string InsertSql = """
        INSERT INTO audit_tenant_chain (sequence, tenant, tenant_sequence, previous_hash, hash)
        VALUES ($sequence, $tenant, $tenant_sequence, $previous_hash, $hash);
        """;

    private const string UnchainedSql = """
        SELECT a.sequence, a.at_ticks, a.tenant, a.actor, a.action, a.subject, a.reason, a.details_json, a.previous_hash, a.hash
        FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_tenant_chain c WHERE c.sequence = a.sequence)
        ORDER BY a.sequence;
        """;

    /// <summary>Places a just-written global entry at the head of its tenant's chain; returns the tenant's view of it.</summary>
    public static AuditEntry Append(SqliteConnection connection, SqliteTransaction transaction, AuditEntry global)
    {
        AuditEntry? head;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = HeadSql;
            read.Parameters.AddWithValue("$tenant", global.Tenant);
            using var reader = read.ExecuteReader();
            head = reader.Read() ? Read(reader) : null;
        }

        var own = AuditChain.ForTenant(global, head);
        Insert(connection, transaction, global.Sequence, own);
        return own;
    }

    /// <summary>Chains every global entry that has no tenant-chain row yet, in global order (migration 0005).</summary>
    public static void Backfill(SqliteConnection connection, SqliteTransaction transaction)
    {
        var unchained = new List<AuditEntry>();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = UnchainedSql;
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                unchained.Add(Read(reader));
            }
        }

        var heads = new Dictionary<string, AuditEntry>(StringComparer.Ordinal);
        foreach (var global in unchained)
        {
            if (!heads.TryGetValue(global.Tenant, out var head))
            {
                using var read = connection.CreateCommand();
                read.Transaction = transaction;
                read.CommandText = HeadSql;
                read.Parameters.AddWithValue("$tenant", global.Tenant);
                using var reader = read.ExecuteReader();
                head = reader.Read() ? Read(reader) : null;
            }

            var own = AuditChain.ForTenant(global, head);
            Insert(connection, transaction, global.Sequence, own);
            heads[global.Tenant] = own;
        }
    }

    private static void Insert(SqliteConnection connection, SqliteTransaction transaction, long globalSequence, AuditEntry own)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = InsertSql;
        insert.Parameters.AddWithValue("$sequence", globalSequence);
        insert.Parameters.AddWithValue("$tenant", own.Tenant);
        insert.Parameters.AddWithValue("$tenant_sequence", own.Sequence);
        insert.Parameters.AddWithValue("$previous_hash", own.PreviousHash);
        insert.Parameters.AddWithValue("$hash", own.Hash);
        insert.ExecuteNonQuery();
    }

    private static AuditEntry Read(SqliteDataReader r) => SqliteLoreStore.ReadAuditEntry(r);
}
