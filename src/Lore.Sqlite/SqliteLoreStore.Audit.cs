using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// The audit log: one hash chain for every tenant (the operator's), appended under the write gate so that it never forks,
// and beside it each tenant's own chain (SqliteLoreStore.TenantAudit.cs), written in the same transaction.
public sealed partial class SqliteLoreStore
{
    private const int AuditPageSize = 512;

    private const string AuditColumns = "sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash";

    private const string AuditHeadSql = $"SELECT {AuditColumns} FROM audit_log ORDER BY sequence DESC LIMIT 1;";

    private const string InsertAuditSql = $"""
        INSERT INTO audit_log ({AuditColumns})
        VALUES ($sequence, $at_ticks, $tenant, $actor, $action, $subject, $reason, $details_json, $previous_hash, $hash);
        """;

    private const string AuditPageSql = $"SELECT {AuditColumns} FROM audit_log WHERE sequence > $after ORDER BY sequence LIMIT $limit;";

    /// <summary>
    /// Reads the chain's head and inserts the entry that follows it in one immediate transaction, so concurrent
    /// appends (from this process or another one on the same file) form a single chain. A draft with an empty
    /// tenant, actor, action or subject, or whose <see cref="AuditDraft.DetailsJson"/> is not a JSON object, is
    /// refused with an <see cref="ArgumentException"/> and nothing is written. A draft without a time is stamped with
    /// the store's clock (<see cref="SqliteStoreOptions.Clock"/>).
    /// </summary>
    /// <remarks>
    /// The log has no update or delete method, and triggers in the file refuse UPDATE and DELETE of its rows from any
    /// SQL client. Whoever can write the file can still drop those triggers; verifying the chain with
    /// <see cref="AuditChain.ComputeHash"/> is what detects edits made that way.
    /// </remarks>
    public Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckAuditDraft(draft);
        return WriteAsync(transaction => AppendAudit(transaction, draft), cancellationToken);
    }

    private AuditEntry AppendAudit(SqliteTransaction transaction, AuditDraft draft)
    {
        {
            AuditEntry? head;
            using (var read = WriteCommand(transaction, AuditHeadSql))
            using (var reader = read.ExecuteReader())
            {
                head = reader.Read() ? ReadAuditEntry(reader) : null;
            }

            var entry = AuditEntry.Chain(head, draft.At == default ? draft with { At = _clock.GetUtcNow() } : draft);
            using var insert = WriteCommand(transaction, InsertAuditSql);
            insert.Parameters.AddWithValue("$sequence", entry.Sequence);
            insert.Parameters.AddWithValue("$at_ticks", entry.At.UtcTicks);
            insert.Parameters.AddWithValue("$tenant", entry.Tenant);
            insert.Parameters.AddWithValue("$actor", entry.Actor);
            insert.Parameters.AddWithValue("$action", entry.Action);
            insert.Parameters.AddWithValue("$subject", entry.Subject);
            insert.Parameters.AddWithValue("$reason", entry.Reason);
            insert.Parameters.AddWithValue("$details_json", entry.DetailsJson);
            insert.Parameters.AddWithValue("$previous_hash", entry.PreviousHash);
            insert.Parameters.AddWithValue("$hash", entry.Hash);
            insert.ExecuteNonQuery();
            AuditTenantChains.Append(_writer, transaction, entry);
            return entry;
        }
    }

    /// <summary>Streams the log after <paramref name="afterSequence"/> in sequence order, a page per query, so a slow reader never holds a read transaction open for long.</summary>
    public IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        return ReadAuditPagesAsync(AuditPageSql, static _ => { }, afterSequence, cancellationToken);
    }

    /// <summary>
    /// Pages through a chain (the global one or a tenant's): <paramref name="sql"/> selects the audit columns of the
    /// entries after <c>$after</c>, at most <c>$limit</c> of them, ordered by their position in that chain.
    /// </summary>
    private async IAsyncEnumerable<AuditEntry> ReadAuditPagesAsync(string sql, Action<SqliteCommand> bind, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = afterSequence;
        while (true)
        {
            var page = new List<AuditEntry>(AuditPageSize);
            await using (var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                using var command = ReadCommand(connection, sql);
                bind(command);
                command.Parameters.AddWithValue("$after", after);
                command.Parameters.AddWithValue("$limit", AuditPageSize);
                using var reader = command.ExecuteReader();
                while (reader.Read())
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

    /// <summary>An entry from the audit columns in <see cref="AuditColumns"/> order (also a tenant chain's view of one).</summary>
    internal static AuditEntry ReadAuditEntry(SqliteDataReader r) => new()
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
