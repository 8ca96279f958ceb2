using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Npgsql;

namespace Lore.PostgreSql.Episodes;

/// <summary>
/// The monthly partitions of <c>episodes</c>, <c>steps</c> and <c>outcomes</c> (see 0001_initial.sql): creates a
/// month's three partitions before rows for it are written, and drops a month's partitions once no episode of it is
/// left. Which months exist is cached; another process dropping one is noticed when a write fails for want of it
/// (<see cref="IsMissingPartition"/>), and the writer then forgets the month, creates it again and retries.
/// </summary>
internal sealed class EpisodePartitions
{
    public static readonly string[] Tables = ["episodes", "steps", "outcomes"];

    private readonly Func<CancellationToken, Task<NpgsqlConnection>> _openConnection;
    private readonly long _lockKey;
    private readonly TimeSpan _lockTimeout;
    private readonly ConcurrentDictionary<DateOnly, bool> _known = new();

    public EpisodePartitions(Func<CancellationToken, Task<NpgsqlConnection>> openConnection, string schema, TimeSpan lockTimeout)
    {
        _openConnection = openConnection;
        _lockKey = AdvisoryLocks.Key(schema, "partitions");
        _lockTimeout = lockTimeout;
    }

    /// <summary>The partition of <paramref name="table"/> holding <paramref name="month"/>: <c>steps_y2026m03</c>.</summary>
    public static string Name(string table, DateOnly month)
        => string.Create(CultureInfo.InvariantCulture, $"{table}_y{month.Year:D4}m{month.Month:D2}");

    /// <summary>
    /// Makes sure each month has its partitions, creating the missing ones in a short transaction of their own on
    /// another connection, committed before this returns. Creating takes only a SHARE UPDATE EXCLUSIVE lock on the
    /// parents (CREATE TABLE, then ATTACH PARTITION), which open imports and readers do not conflict with, so a caller
    /// in the middle of its own transaction can call this without waiting on itself.
    /// </summary>
    public async Task EnsureAsync(IEnumerable<DateOnly> months, CancellationToken cancellationToken)
    {
        var missing = months.Where(m => !_known.ContainsKey(m)).Distinct().Order().ToList();
        if (missing.Count == 0)
        {
            return;
        }

        await using var connection = await _openConnection(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var prepare = new NpgsqlCommand(
            $"SET LOCAL lock_timeout = {(long)_lockTimeout.TotalMilliseconds}; SELECT pg_advisory_xact_lock({_lockKey});", connection, transaction))
        {
            await prepare.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var existing = await ExistingAsync(connection, transaction, missing, cancellationToken).ConfigureAwait(false);
        var ddl = new StringBuilder();
        foreach (var month in missing)
        {
            foreach (var table in Tables)
            {
                var name = Name(table, month);
                if (existing.Contains(name))
                {
                    continue;
                }

                ddl.Append(CultureInfo.InvariantCulture, $"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS);\n");
                ddl.Append(CultureInfo.InvariantCulture, $"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{Day(month)}') TO ('{NextMonth(month)}');\n");
            }
        }

        if (ddl.Length > 0)
        {
            await using var create = new NpgsqlCommand(ddl.ToString(), connection, transaction);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var month in missing)
        {
            _known[month] = true;
        }
    }

    /// <summary>Forgets that these months exist (another process may have dropped them); the next write creates them again.</summary>
    public void Forget(IEnumerable<DateOnly> months)
    {
        foreach (var month in months)
        {
            _known.TryRemove(month, out _);
        }
    }

    /// <summary>
    /// In the caller's deletion transaction, after its registry rows are gone: drops the partitions of every month in
    /// <paramref name="candidates"/> before <paramref name="before"/> that no episode is left in, and returns those
    /// months; their steps and outcomes go with the tables, not row by row. When the parents' locks cannot be had
    /// within the lock timeout (an import is writing), nothing is dropped and the caller deletes rows instead.
    /// </summary>
    public async Task<IReadOnlyList<DateOnly>> DropEmptyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<DateOnly> candidates, DateOnly before, CancellationToken cancellationToken)
    {
        var old = candidates.Where(m => m < before).Distinct().Order().ToArray();
        if (old.Length == 0 || (await EmptyAsync(connection, transaction, old, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            return [];
        }

        await transaction.SaveAsync("drop_partitions", cancellationToken).ConfigureAwait(false);
        try
        {
            // Dropping a partition takes an ACCESS EXCLUSIVE lock on its parent; take all three first, in one order, then
            // look again: an episode of the month may have been committed since.
            await using (var lockParents = new NpgsqlCommand(
                $"SET LOCAL lock_timeout = {(long)_lockTimeout.TotalMilliseconds}; LOCK TABLE episodes, steps, outcomes IN ACCESS EXCLUSIVE MODE;", connection, transaction))
            {
                await lockParents.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var empty = await EmptyAsync(connection, transaction, old, cancellationToken).ConfigureAwait(false);
            var existing = await ExistingAsync(connection, transaction, empty, cancellationToken).ConfigureAwait(false);
            var drop = new StringBuilder();
            foreach (var month in empty)
            {
                foreach (var table in Tables)
                {
                    var name = Name(table, month);
                    if (existing.Contains(name))
                    {
                        drop.Append(CultureInfo.InvariantCulture, $"DROP TABLE {name};\n");
                    }
                }
            }

            if (drop.Length > 0)
            {
                await using var command = new NpgsqlCommand(drop.ToString(), connection, transaction);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var restore = new NpgsqlCommand("SET LOCAL lock_timeout TO DEFAULT;", connection, transaction))
            {
                await restore.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.ReleaseAsync("drop_partitions", cancellationToken).ConfigureAwait(false);
            return empty;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            await transaction.RollbackAsync("drop_partitions", cancellationToken).ConfigureAwait(false);
            return [];
        }
    }

    /// <summary>The months that have partitions now, oldest first (for operators and tests).</summary>
    public static async Task<IReadOnlyList<DateOnly>> ListAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'episodes'::regclass ORDER BY c.relname;
            """, connection);
        var months = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0); // episodes_yYYYYmMM
            months.Add(new DateOnly(
                int.Parse(name.AsSpan(name.Length - 7, 4), CultureInfo.InvariantCulture),
                int.Parse(name.AsSpan(name.Length - 2, 2), CultureInfo.InvariantCulture),
                1));
        }

        return months;
    }

    /// <summary>Whether a write failed because the month of a row has no partition (it was dropped since this process last looked).</summary>
    public static bool IsMissingPartition(Exception e)
        => e is PostgresException { SqlState: PostgresErrorCodes.CheckViolation } p
            && p.MessageText.StartsWith("no partition of relation", StringComparison.Ordinal);

    private static async Task<HashSet<string>> ExistingAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<DateOnly> months, CancellationToken cancellationToken)
    {
        var names = months.SelectMany(m => Tables.Select(t => Name(t, m))).ToArray();
        await using var command = new NpgsqlCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent IN ('episodes'::regclass, 'steps'::regclass, 'outcomes'::regclass) AND c.relname = ANY($1);
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = names });
        var existing = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            existing.Add(reader.GetString(0));
        }

        return existing;
    }

    private static async Task<List<DateOnly>> EmptyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly[] months, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT m FROM unnest($1::date[]) AS m
            WHERE NOT EXISTS (SELECT 1 FROM episode_registry r WHERE r.month = m)
            ORDER BY m;
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]> { TypedValue = months });
        var empty = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            empty.Add(reader.GetFieldValue<DateOnly>(0));
        }

        return empty;
    }

    private static string Day(DateOnly month) => string.Create(CultureInfo.InvariantCulture, $"{month.Year:D4}-{month.Month:D2}-01");

    /// <summary>The first day of the following month, as SQL date text (December 9999 is followed by year 10000, which DateOnly cannot hold).</summary>
    private static string NextMonth(DateOnly month)
        => month.Month == 12
            ? string.Create(CultureInfo.InvariantCulture, $"{month.Year + 1:D4}-01-01")
            : string.Create(CultureInfo.InvariantCulture, $"{month.Year:D4}-{month.Month + 1:D2}-01");
}
