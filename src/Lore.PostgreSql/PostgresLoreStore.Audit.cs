using System.Runtime.CompilerServices;
using System.Text.Json;
using Npgsql;

namespace Lore.PostgreSql;

// The audit log: one hash chain for every tenant (the operator's). Appends queue on a table lock, so the chain never
// forks however many hosts append at once; each tenant's own chain (PostgresLoreStore.TenantAudit.cs) is written
// under the same lock, in the same transaction.
public sealed partial class PostgresLoreStore
{
    private const int AuditPageSize = 512;

    private const string AuditColumns = "sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash";

    // SHARE ROW EXCLUSIVE conflicts with itself and with every write, but not with plain reads: appenders (in any
    // process) take turns, and each reads the head only once the previous append has committed.
    private const string LockAuditSql = "LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE;";

    private const string AuditHeadSql = $"SELECT {AuditColumns} FROM audit_log ORDER BY sequence DESC LIMIT 1;";

    private const string InsertAuditSql = $"INSERT INTO audit_log ({AuditColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);";

    private const string AuditPageSql = $"SELECT {AuditColumns} FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT $2;";

    /// <summary>
    /// Reads the chain's head and inserts the entry that follows it in one transaction, holding a lock that makes
    /// concurrent appends (from this process or any other host) take turns, so they form a single chain. A draft with
    /// an empty tenant, actor, action or subject, or whose <see cref="AuditDraft.DetailsJson"/> is not a JSON object,
    /// is refused with an <see cref="ArgumentException"/> and nothing is written. A draft without a time is stamped with
    /// the store's clock.
    /// </summary>
    /// <remarks>
    /// The log has no update or delete method, and triggers refuse UPDATE, DELETE and TRUNCATE of its rows from any
    /// SQL client. A superuser can still disable the triggers; verifying the chain with
    /// <see cref="AuditChain.ComputeHash"/> is what detects edits made that way.
    /// </remarks>
    public async Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckAuditDraft(draft);
        return await WriteAsync((connection, transaction) => AppendAuditAsync(connection, transaction, draft, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends in the caller's transaction, taking the log's lock (held until that transaction ends).</summary>
    private async Task<AuditEntry> AppendAuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditDraft draft, CancellationToken cancellationToken)
    {
        {
            await using (var lockLog = Sql(connection, transaction, LockAuditSql))
            {
                await lockLog.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            AuditEntry? head = null;
            await using (var read = Sql(connection, transaction, AuditHeadSql))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    head = ReadAuditEntry(reader);
                }
            }

            var entry = AuditEntry.Chain(head, draft.At == default ? draft with { At = _clock.GetUtcNow() } : draft);
            await using var insert = Sql(connection, transaction, InsertAuditSql,
                entry.Sequence, entry.At.UtcTicks, entry.Tenant, entry.Actor, entry.Action, entry.Subject, entry.Reason, entry.DetailsJson, entry.PreviousHash, entry.Hash);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await AuditTenantChains.AppendAsync(connection, transaction, entry, cancellationToken).ConfigureAwait(false);
            return entry;
        }
    }

    /// <summary>Streams the log after <paramref name="afterSequence"/> in sequence order, a page per query, so a slow reader never holds a transaction open.</summary>
    public IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        return ReadAuditPagesAsync(AuditPageSql, static after => [after, AuditPageSize], afterSequence, cancellationToken);
    }

    /// <summary>
    /// Pages through a chain (the global one or a tenant's): <paramref name="sql"/> selects the audit columns of the
    /// entries after a position, at most a page of them, ordered by their position in that chain; <paramref name="parameters"/>
    /// gives its parameters for the position to read after.
    /// </summary>
    private async IAsyncEnumerable<AuditEntry> ReadAuditPagesAsync(string sql, Func<long, object?[]> parameters, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = afterSequence;
        while (true)
        {
            var page = new List<AuditEntry>(AuditPageSize);
            await using (var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            await using (var command = Sql(connection, null, sql, parameters(after)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(ReadAuditEntry(reader));
                }
            }

            foreach (var entry in page)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return entry;
            }

            if (page.Count < AuditPageSize)
            {
                yield break;
            }

            after = page[^1].Sequence;
        }
    }

    /// <summary>An entry from the audit columns in their usual order (also a tenant chain's view of one).</summary>
    internal static AuditEntry ReadAuditEntry(NpgsqlDataReader r) => new()
    {
        Sequence = r.GetInt64(0),
        At = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero),
        Tenant = r.GetString(2),
        Actor = r.GetString(3),
        Action = r.GetString(4),
        Subject = r.GetString(5),
        Reason = r.GetString(6),
        DetailsJson = r.GetString(7),
        PreviousHash = r.GetString(8),
        Hash = r.GetString(9),
    };

}
