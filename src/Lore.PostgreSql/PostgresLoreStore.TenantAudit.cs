using Npgsql;

namespace Lore.PostgreSql;

// Each tenant's own audit chain (migration 0002): written beside every global entry, read by tenants.
public sealed partial class PostgresLoreStore
{
    private const string TenantAuditPageSql = """
        SELECT c.tenant_sequence, COALESCE(a.at_ticks, 0), c.tenant, COALESCE(a.actor, ''), COALESCE(a.action, ''), COALESCE(a.subject, ''),
               COALESCE(a.reason, ''), COALESCE(a.details_json, ''), c.previous_hash, c.hash
        FROM audit_tenant_chain c LEFT JOIN audit_log a ON a.sequence = c.sequence
        WHERE c.tenant = $1 AND c.tenant_sequence > $2
        ORDER BY c.tenant_sequence LIMIT $3;
        """;

    /// <summary>
    /// Streams the tenant's own chain after position <paramref name="afterSequence"/>, a page per query. A chain row whose
    /// global entry is gone (removed behind the store's back) reads with empty content, so it fails verification there.
    /// </summary>
    public IAsyncEnumerable<AuditEntry> ReadTenantAuditAsync(string tenant, long afterSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        return ReadAuditPagesAsync(TenantAuditPageSql, after => [tenant, after, AuditPageSize], afterSequence, cancellationToken);
    }
}

/// <summary>
/// Writes the per-tenant audit chain: the row that places a global entry in its tenant's chain (under the audit
/// log's lock), and (once, when the schema gains the table) the rows for every entry written before.
/// </summary>
internal static class AuditTenantChains
{
    private const string HeadSql = """
        SELECT c.tenant_sequence, COALESCE(a.at_ticks, 0), c.tenant, COALESCE(a.actor, ''), COALESCE(a.action, ''), COALESCE(a.subject, ''),
               COALESCE(a.reason, ''), COALESCE(a.details_json, ''), c.previous_hash, c.hash
        FROM audit_tenant_chain c LEFT JOIN audit_log a ON a.sequence = c.sequence
        WHERE c.tenant = $1 ORDER BY c.tenant_sequence DESC LIMIT 1;
        """;

    private const string InsertSql = "INSERT INTO audit_tenant_chain (sequence, tenant, tenant_sequence, previous_hash, hash) VALUES ($1, $2, $3, $4, $5);";

    private const string UnchainedSql = """
        SELECT a.sequence, a.at_ticks, a.tenant, a.actor, a.action, a.subject, a.reason, a.details_json, a.previous_hash, a.hash
        FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_tenant_chain c WHERE c.sequence = a.sequence)
        ORDER BY a.sequence;
        """;

    /// <summary>Places a just-written global entry at the head of its tenant's chain; returns the tenant's view of it.</summary>
    public static async Task<AuditEntry> AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry global, CancellationToken cancellationToken)
    {
        var head = await HeadAsync(connection, transaction, global.Tenant, cancellationToken).ConfigureAwait(false);
        var own = AuditChain.ForTenant(global, head);
        await InsertAsync(connection, transaction, global.Sequence, own, cancellationToken).ConfigureAwait(false);
        return own;
    }

    /// <summary>Chains every global entry that has no tenant-chain row yet, in global order (migration 0002).</summary>
    public static async Task BackfillAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var unchained = new List<AuditEntry>();
        await using (var read = new NpgsqlCommand(UnchainedSql, connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                unchained.Add(Read(reader));
            }
        }

        var heads = new Dictionary<string, AuditEntry?>(StringComparer.Ordinal);
        foreach (var global in unchained)
        {
            if (!heads.TryGetValue(global.Tenant, out var head))
            {
                head = await HeadAsync(connection, transaction, global.Tenant, cancellationToken).ConfigureAwait(false);
            }

            var own = AuditChain.ForTenant(global, head);
            await InsertAsync(connection, transaction, global.Sequence, own, cancellationToken).ConfigureAwait(false);
            heads[global.Tenant] = own;
        }
    }

    private static async Task<AuditEntry?> HeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand(HeadSql, connection, transaction);
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long globalSequence, AuditEntry own, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(InsertSql, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = globalSequence });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = own.Tenant });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = own.Sequence });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = own.PreviousHash });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = own.Hash });
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static AuditEntry Read(NpgsqlDataReader r) => PostgresLoreStore.ReadAuditEntry(r);
}
